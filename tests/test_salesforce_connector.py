"""Salesforce connector behaviour, beyond the shared contract.

The first part pins, with ``responses``, what the connector does with each answer Salesforce
documents (error bodies, paging, per-record results, logins); the second runs the connector
end to end against the sandbox org, asserting the org's own state.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
from pydantic import SecretStr

from connectors.base import (
    AuthFailed,
    FieldInfo,
    ListRef,
    NotFound,
    PropertyWrite,
    RateLimited,
    RecordRejected,
    RequestRejected,
    SegmentField,
    Transient,
    WriteResult,
)
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.salesforce.records import to_text
from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce_ids import make_id
from tests.test_contract_salesforce import salesforce_settings

INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v59.0/"
LOGIN = "https://login.salesforce.com/services/Soap/u/59.0"
STAMP = "2024-05-01T10:00:00.000+0000"
PERMISSION_MESSAGE = (
    "Salesforce field Contact.Segment__c is not visible to the integration user: grant Read and "
    "Edit on Contact.Segment__c to permission set Segsync_Integration (Setup → Permission Sets "
    "→ Segsync_Integration → Object Settings → Contacts → Edit → Field Permissions)."
)


def login_xml(session_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        f"<serverUrl>{INSTANCE}/services/Soap/u/59.0/00D000000000001</serverUrl>"
        f"<sessionId>{session_id}</sessionId></result></loginResponse></soapenv:Body>"
        "</soapenv:Envelope>"
    )


def error(code: str, message: str, status: int, fields: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return {"json": [body], "status": status}


def record(contact_id: str, **values: Any) -> dict[str, Any]:
    return {
        "attributes": {
            "type": "Contact",
            "url": f"/services/data/v59.0/sobjects/Contact/{contact_id}",
        },
        "Id": contact_id,
        "SystemModstamp": STAMP,
        **values,
    }


def query_params(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(str(call.request.url)).query)


def soql(call: Any) -> str:
    return query_params(call)["q"][0]


def body(call: Any) -> Any:
    return json.loads(call.request.body)


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


def settings(**overrides: Any) -> SalesforceSettings:
    values: dict[str, Any] = {
        "instance_url": INSTANCE,
        "session_id": SecretStr("00Dsession"),
        "permission_set": "Segsync_Integration",
        "timeout_seconds": 7,
    }
    return SalesforceSettings(**(values | overrides))


@pytest.fixture
def connector() -> Iterator[SalesforceConnector]:
    salesforce = SalesforceConnector(settings())
    yield salesforce
    salesforce.close()


@pytest.fixture
def password_connector() -> Iterator[SalesforceConnector]:
    salesforce = SalesforceConnector(
        settings(
            session_id=None,
            instance_url=None,
            username="sync@acme.com",
            password=SecretStr("pw"),
            security_token=SecretStr("tok"),
        )
    )
    yield salesforce
    salesforce.close()


# -- logins and sessions -------------------------------------------------------------------


def test_an_expired_session_logs_in_again_once_and_resumes(
    mock: responses.RequestsMock, password_connector: SalesforceConnector
) -> None:
    mock.add("POST", LOGIN, body=login_xml("session-1"))
    mock.add("POST", LOGIN, body=login_xml("session-2"))
    describe = f"{API}sobjects/Contact/describe"
    mock.add("GET", describe, **error("INVALID_SESSION_ID", "Session expired or invalid", 401))
    mock.add("GET", describe, json={"fields": []})
    assert password_connector.describe_fields() == []
    calls = [(c.request.method, c.request.url) for c in mock.calls]
    assert calls == [("POST", LOGIN), ("GET", describe), ("POST", LOGIN), ("GET", describe)]
    assert [c.request.headers["Authorization"] for c in mock.calls[1::2]] == [
        "Bearer session-1",
        "Bearer session-2",
    ]


def test_a_session_rejected_after_the_new_login_is_auth_failed(
    mock: responses.RequestsMock, password_connector: SalesforceConnector
) -> None:
    mock.add("POST", LOGIN, body=login_xml("session-1"))
    describe = f"{API}sobjects/Contact/describe"
    mock.add("GET", describe, **error("INVALID_SESSION_ID", "Session expired or invalid", 401))
    with pytest.raises(
        AuthFailed, match="^Salesforce describe Contact: HTTP 401 INVALID_SESSION_ID"
    ):
        password_connector.describe_fields()
    assert [c.request.method for c in mock.calls] == ["POST", "GET", "POST", "GET"]


def test_a_given_session_is_never_renewed(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}sobjects/Contact/describe",
        **error("INVALID_SESSION_ID", "Session expired or invalid", 401),
    )
    with pytest.raises(AuthFailed, match="a session_id cannot be renewed"):
        connector.describe_fields()
    assert len(mock.calls) == 1


def test_a_refused_login_is_auth_failed(
    mock: responses.RequestsMock, password_connector: SalesforceConnector
) -> None:
    fault = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        "<faultcode>INVALID_LOGIN</faultcode><detail><sf:LoginFault>"
        "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid "
        "username, password, security token; or user locked out.</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    mock.add("POST", LOGIN, body=fault, status=500)
    with pytest.raises(AuthFailed) as caught:
        password_connector.describe_fields()
    assert str(caught.value).startswith(
        "Salesforce login failed (INVALID_LOGIN): Invalid username, password, security token; "
        "or user locked out."
    )


def test_missing_credentials_fail_before_any_call() -> None:
    with pytest.raises(AuthFailed, match="^No Salesforce credentials"):
        SalesforceConnector(settings(session_id=None))


def test_every_request_carries_the_timeout_and_the_ca_bundle(
    mock: responses.RequestsMock, tmp_path: Any
) -> None:
    bundle = tmp_path / "ca.pem"
    salesforce = SalesforceConnector(settings(ca_bundle=bundle))
    mock.add("GET", f"{API}sobjects/Contact/describe", json={"fields": []})
    salesforce.describe_fields()
    kwargs = mock.calls[0].request.req_kwargs  # type: ignore[attr-defined]
    assert (kwargs["timeout"], kwargs["verify"]) == (7, str(bundle))


# -- error payloads ------------------------------------------------------------------------


def test_the_daily_request_limit_is_rate_limited_for_the_day(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        **error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 403),
    )
    with pytest.raises(RateLimited) as caught:
        connector.find_list("segsync: Champions")
    assert (caught.value.scope, caught.value.retry_after) == ("daily", math.inf)
    assert str(caught.value) == (
        "Salesforce find campaign 'segsync: Champions': HTTP 403 REQUEST_LIMIT_EXCEEDED: "
        "TotalRequests Limit exceeded."
    )


def test_too_many_concurrent_long_requests_is_transient(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        **error("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", 403),
    )
    with pytest.raises(Transient) as caught:
        connector.find_list("segsync: Champions")
    assert caught.value.retry_after == 20.0


def test_an_invisible_segsync_field_in_a_query_names_the_permission_to_grant(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    message = (
        "\nSELECT Id, SystemModstamp, Segment__c FROM Contact\n                           ^\n"
        "ERROR at Row:1:Column:28\nNo such column 'Segment__c' on entity 'Contact'. If you are "
        "attempting to use a custom field, be sure to append the '__c' after the custom field "
        "name. Please reference your WSDL or the describe call for the appropriate names."
    )
    mock.add("GET", f"{API}query/", json={"totalSize": 3, "done": True, "records": []})
    mock.add("GET", f"{API}query/", **error("INVALID_FIELD", message, 400))
    with pytest.raises(AuthFailed) as caught:
        connector.read_contacts_page(["Segment__c"], None)
    assert str(caught.value) == PERMISSION_MESSAGE


def test_an_invisible_segsync_field_in_a_write_names_the_permission_to_grant(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    invalid = {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_FIELD",
                "message": "No such column 'Segment__c' on sobject of type Contact",
                "fields": [],
            }
        ],
    }
    mock.add("PATCH", f"{API}composite/sobjects", json=[invalid, invalid])
    with pytest.raises(AuthFailed) as caught:
        connector.write_properties(
            [
                PropertyWrite("003A", {"Segment__c": "Champions"}),
                PropertyWrite("003B", {"Segment__c": ""}),
            ]
        )
    assert str(caught.value) == PERMISSION_MESSAGE


def test_a_malformed_query_is_rejected_with_salesforce_words(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    message = "unexpected token: 'FROM'"
    mock.add("GET", f"{API}query/", **error("MALFORMED_QUERY", message, 400))
    with pytest.raises(RequestRejected) as caught:
        connector.find_list("segsync: Champions")
    assert caught.value.status == 400
    assert str(caught.value) == (
        "Salesforce find campaign 'segsync: Champions': HTTP 400 MALFORMED_QUERY: "
        "unexpected token: 'FROM'"
    )


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId"),
        (503, "SERVER_UNAVAILABLE", "Server is unavailable. Please try again later."),
    ],
)
def test_server_errors_are_transient(
    mock: responses.RequestsMock,
    connector: SalesforceConnector,
    status: int,
    code: str,
    message: str,
) -> None:
    mock.add("GET", f"{API}sobjects/Contact/describe", **error(code, message, status))
    with pytest.raises(Transient) as caught:
        connector.describe_fields()
    assert str(caught.value) == f"Salesforce describe Contact: HTTP {status} {code}: {message}"


def test_dropped_connections_and_timeouts_are_transient(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    describe = f"{API}sobjects/Contact/describe"
    mock.add("GET", describe, body=requests.ConnectionError("reset by peer"))
    mock.add("GET", describe, body=requests.ReadTimeout("read timed out"))
    for name in ("ConnectionError", "ReadTimeout"):
        with pytest.raises(Transient) as caught:
            connector.describe_fields()
        assert str(caught.value) == f"Salesforce describe Contact: connection failed ({name})"


def test_a_missing_record_is_not_found(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}sobjects/Contact/describe",
        **error("NOT_FOUND", "The requested resource does not exist", 404),
    )
    with pytest.raises(NotFound, match="HTTP 404 NOT_FOUND: The requested resource"):
        connector.describe_fields()


# -- describe and values -------------------------------------------------------------------


def test_describe_types_map_to_segsync_types(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    def field(name: str, type_: str, **extra: Any) -> dict[str, Any]:
        custom = name.endswith("__c")
        described = {"name": name, "label": name.title(), "type": type_, "custom": custom}
        return described | {"picklistValues": [], "inlineHelpText": None, **extra}

    picklist = [
        {"value": "Web", "label": "Web", "active": True},
        {"value": "Fax", "label": "Fax", "active": False},
        {"value": "Phone", "label": "Phone", "active": True},
    ]
    described = [
        field("Id", "id"),
        field("LeadSource", "picklist", picklistValues=picklist),
        field(
            "Segments__c",
            "multipicklist",
            picklistValues=picklist[:1],
            inlineHelpText="Written by segsync: every segment the contact matches.",
        ),
        field("Score__c", "double"),
        field("Seats__c", "int"),
        field("Revenue__c", "currency"),
        field("Share__c", "percent"),
        field("Birthdate", "date"),
        field("Seen__c", "datetime"),
        field("HasOptedOutOfEmail", "boolean"),
        field("Email", "email"),
        field("Description", "textarea"),
    ]
    mock.add("GET", f"{API}sobjects/Contact/describe", json={"fields": described})
    assert connector.describe_fields() == [
        FieldInfo("Id", "Id", "string", defined_by="crm"),
        FieldInfo("LeadSource", "Leadsource", "enumeration", ("Web", "Phone"), "crm"),
        FieldInfo("Segments__c", "Segments__C", "multi_enumeration", ("Web",), "segsync"),
        FieldInfo("Score__c", "Score__C", "number", defined_by="other"),
        FieldInfo("Seats__c", "Seats__C", "number", defined_by="other"),
        FieldInfo("Revenue__c", "Revenue__C", "number", defined_by="other"),
        FieldInfo("Share__c", "Share__C", "number", defined_by="other"),
        FieldInfo("Birthdate", "Birthdate", "date", defined_by="crm"),
        FieldInfo("Seen__c", "Seen__C", "datetime", defined_by="other"),
        FieldInfo("HasOptedOutOfEmail", "Hasoptedoutofemail", "bool", defined_by="crm"),
        FieldInfo("Email", "Email", "string", defined_by="crm"),
        FieldInfo("Description", "Description", "string", defined_by="crm"),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("CEO", "CEO"),
        (True, "true"),
        (False, "false"),
        (12, "12"),
        (12.0, "12"),
        (1250000.0, "1250000"),
        (0.25, "0.25"),
        (-3.5, "-3.5"),
        ("2024-05-01", "2024-05-01"),
        ("2024-05-01T10:00:00.000+0000", "2024-05-01T10:00:00.000+0000"),
        ({"city": "Oslo", "country": "NO"}, '{"city": "Oslo", "country": "NO"}'),
    ],
)
def test_values_become_text(value: Any, text: str | None) -> None:
    assert to_text(value) == text


# -- reading and paging --------------------------------------------------------------------


def test_a_full_pull_pages_by_locator_and_converts_values(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    more = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
    mock.add("GET", f"{API}query/", json={"totalSize": 3, "done": True, "records": []})
    mock.add(
        "GET",
        f"{API}query/",
        json={
            "totalSize": 3,
            "done": False,
            "nextRecordsUrl": more,
            "records": [
                record("003A", Title="CEO", Employees__c=250.0, HasOptedOutOfEmail=False),
                record("003B", Title=None, Employees__c=12.5, HasOptedOutOfEmail=True),
            ],
        },
        headers={"Sforce-Limit-Info": "api-usage=1200/100000"},
    )
    mock.add(
        "GET",
        f"{INSTANCE}{more}",
        json={
            "totalSize": 3,
            "done": True,
            "records": [record("003C", Title="VP", Employees__c=None, HasOptedOutOfEmail=False)],
        },
    )
    fields = ["title", "Employees__c", "HasOptedOutOfEmail"]
    first = connector.read_contacts_page(fields, None)
    assert [(c.id, c.properties) for c in first.contacts] == [
        ("003A", {"title": "CEO", "Employees__c": "250", "HasOptedOutOfEmail": "false"}),
        ("003B", {"title": None, "Employees__c": "12.5", "HasOptedOutOfEmail": "true"}),
    ]
    assert first.contacts[0].modified_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert first.next_cursor is not None
    last = connector.read_contacts_page(fields, first.next_cursor)
    assert [c.id for c in last.contacts] == ["003C"]
    assert last.next_cursor is None
    assert [soql(c) for c in mock.calls[:2]] == [
        "SELECT COUNT() FROM Contact",
        (
            "SELECT Id, SystemModstamp, title, Employees__c, HasOptedOutOfEmail FROM Contact "
            "ORDER BY Id ASC"
        ),
    ]
    status = connector.rate_limit_status()
    assert (status.daily_max, status.daily_remaining) == (100000, 98800)


def test_an_expired_query_locator_restarts_after_the_last_id(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    more = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
    mock.add("GET", f"{API}query/", json={"totalSize": 2, "done": True, "records": []})
    mock.add(
        "GET",
        f"{API}query/",
        json={"totalSize": 2, "done": False, "nextRecordsUrl": more, "records": [record("003A")]},
    )
    mock.add(
        "GET", f"{INSTANCE}{more}", **error("INVALID_QUERY_LOCATOR", "invalid query locator", 400)
    )
    mock.add(
        "GET", f"{API}query/", json={"totalSize": 1, "done": True, "records": [record("003B")]}
    )
    first = connector.read_contacts_page(["Title"], None)
    last = connector.read_contacts_page(["Title"], first.next_cursor)
    assert [c.id for c in last.contacts] == ["003B"]
    assert last.next_cursor is None
    assert soql(mock.calls[3]) == (
        "SELECT Id, SystemModstamp, Title FROM Contact WHERE Id > '003A' ORDER BY Id ASC"
    )


def test_a_new_login_restarts_the_query_instead_of_reusing_the_old_locator(
    mock: responses.RequestsMock, password_connector: SalesforceConnector
) -> None:
    more = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
    mock.add("POST", LOGIN, body=login_xml("session-1"))
    mock.add("POST", LOGIN, body=login_xml("session-2"))
    mock.add("GET", f"{API}query/", json={"totalSize": 2, "done": True, "records": []})
    mock.add(
        "GET",
        f"{API}query/",
        json={"totalSize": 2, "done": False, "nextRecordsUrl": more, "records": [record("003A")]},
    )
    mock.add(
        "GET", f"{INSTANCE}{more}", **error("INVALID_SESSION_ID", "Session expired or invalid", 401)
    )
    mock.add(
        "GET", f"{API}query/", json={"totalSize": 1, "done": True, "records": [record("003B")]}
    )
    first = password_connector.read_contacts_page(["Title"], None)
    last = password_connector.read_contacts_page(["Title"], first.next_cursor)
    assert [c.id for c in last.contacts] == ["003B"]
    assert mock.calls[5].request.headers["Authorization"] == "Bearer session-2"
    assert soql(mock.calls[5]) == (
        "SELECT Id, SystemModstamp, Title FROM Contact WHERE Id > '003A' ORDER BY Id ASC"
    )


def test_an_incremental_pull_reads_from_since_minus_the_overlap_in_modstamp_order(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    more = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
    mock.add(
        "GET",
        f"{API}query/",
        json={"totalSize": 2, "done": False, "nextRecordsUrl": more, "records": [record("003A")]},
    )
    mock.add(
        "GET", f"{INSTANCE}{more}", **error("INVALID_QUERY_LOCATOR", "invalid query locator", 400)
    )
    mock.add(
        "GET", f"{API}query/", json={"totalSize": 1, "done": True, "records": [record("003B")]}
    )
    since = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)
    first = connector.read_changed_contacts_page(["Title"], since, None)
    last = connector.read_changed_contacts_page(["Title"], since, first.next_cursor)
    assert [c.id for c in last.contacts] == ["003B"]
    assert soql(mock.calls[0]) == (
        "SELECT Id, SystemModstamp, Title FROM Contact "
        "WHERE SystemModstamp >= 2024-05-01T11:55:30+00:00 ORDER BY SystemModstamp ASC"
    )
    assert soql(mock.calls[2]) == (
        "SELECT Id, SystemModstamp, Title FROM Contact "
        "WHERE SystemModstamp >= 2024-05-01T11:55:30+00:00 "
        "AND SystemModstamp >= 2024-05-01T10:00:00+00:00 ORDER BY SystemModstamp ASC"
    )


def test_a_full_pull_above_the_bulk_threshold_pages_a_bulk_query_job(
    mock: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("simple_salesforce.bulk2.sleep", lambda _seconds: None)
    salesforce = SalesforceConnector(settings(bulk_threshold=1))
    jobs = f"{API}jobs/query"
    mock.add("GET", f"{API}query/", json={"totalSize": 3, "done": True, "records": []})
    mock.add("POST", jobs, json={"id": "750J", "state": "UploadComplete"})
    mock.add("GET", f"{jobs}/750J", json={"id": "750J", "state": "JobComplete"})
    header = '"Id","SystemModstamp","Title","Employees__c","Seen__c"\n'
    mock.add(
        "GET",
        f"{jobs}/750J/results",
        body=header + '"003A","2024-05-01T10:00:00.000Z","CEO","250.0","2024-05-01T09:30:00.000Z"\n'
        '"003B","2024-05-01T10:00:00.000Z","","12.5",""\n',
        headers={"Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "2"},
    )
    described = [
        {"name": "Title", "label": "Title", "type": "string"},
        {"name": "Employees__c", "label": "Employees", "type": "double"},
        {"name": "Seen__c", "label": "Seen", "type": "datetime"},
    ]
    mock.add("GET", f"{API}sobjects/Contact/describe", json={"fields": described})
    mock.add(
        "GET",
        f"{jobs}/750J/results",
        body=header + '"003C","2024-05-01T10:00:00.000Z","VP","3.0",""\n',
        headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"},
    )
    fields = ["Title", "Employees__c", "Seen__c"]
    first = salesforce.read_contacts_page(fields, None)
    assert [(c.id, c.properties) for c in first.contacts] == [
        (
            "003A",
            {"Title": "CEO", "Employees__c": "250", "Seen__c": "2024-05-01T09:30:00.000+0000"},
        ),
        ("003B", {"Title": None, "Employees__c": "12.5", "Seen__c": None}),
    ]
    assert first.contacts[0].modified_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    last = salesforce.read_contacts_page(fields, first.next_cursor)
    assert [(c.id, c.properties["Employees__c"]) for c in last.contacts] == [("003C", "3")]
    assert last.next_cursor is None
    assert body(mock.calls[1])["query"] == (
        "SELECT Id, SystemModstamp, Title, Employees__c, Seen__c FROM Contact"
    )
    assert query_params(mock.calls[5])["locator"] == ["MTAwMDA"]


def test_field_names_cannot_inject_soql(connector: SalesforceConnector) -> None:
    with pytest.raises(ValueError, match="not a Salesforce field name"):
        connector.read_contacts_page(["Title FROM User --"], None)


# -- writing -------------------------------------------------------------------------------


def test_a_batch_write_reports_each_record_locks_retryable_and_deleted_ones_missing(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "PATCH",
        f"{API}composite/sobjects",
        json=[
            {"id": "003A", "success": True, "errors": []},
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "UNABLE_TO_LOCK_ROW",
                        "message": "unable to obtain exclusive access to this record",
                        "fields": [],
                    }
                ],
            },
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        "message": "Segment: bad value for restricted picklist field: Nope",
                        "fields": ["Segment__c"],
                    }
                ],
            },
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "ENTITY_IS_DELETED",
                        "message": "entity is deleted",
                        "fields": [],
                    }
                ],
            },
        ],
    )
    results = connector.write_properties(
        [
            PropertyWrite("003A", {"Segment__c": "Champions", "Segments__c": "Champions;Loyal"}),
            PropertyWrite("003B", {"Segment__c": "", "Segments__c": ""}),
            PropertyWrite("003C", {"Segment__c": "Nope"}),
            PropertyWrite("003D", {"Segment__c": "Champions"}),
        ]
    )
    assert results == [
        WriteResult("003A", ok=True),
        WriteResult(
            "003B",
            ok=False,
            code="UNABLE_TO_LOCK_ROW",
            message="unable to obtain exclusive access to this record",
            retryable=True,
        ),
        WriteResult(
            "003C",
            ok=False,
            code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            message="Segment: bad value for restricted picklist field: Nope",
        ),
        WriteResult(
            "003D", ok=False, code="ENTITY_IS_DELETED", message="entity is deleted", missing=True
        ),
    ]
    assert body(mock.calls[0])["allOrNone"] is False
    assert body(mock.calls[0])["records"][:3] == [
        {
            "attributes": {"type": "Contact"},
            "id": "003A",
            "Segment__c": "Champions",
            "Segments__c": "Champions;Loyal",
        },
        {"attributes": {"type": "Contact"}, "id": "003B", "Segment__c": None, "Segments__c": None},
        {"attributes": {"type": "Contact"}, "id": "003C", "Segment__c": "Nope"},
    ]


def test_a_lock_wrapped_by_a_flow_is_retryable(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    wrapped = (
        "We can't save this record because the “Contact Sync” process failed. Error ID: "
        "1234. UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record"
    )
    mock.add(
        "PATCH",
        f"{API}composite/sobjects",
        json=[
            {
                "success": False,
                "errors": [
                    {"statusCode": "CANNOT_EXECUTE_FLOW_TRIGGER", "message": wrapped, "fields": []}
                ],
            }
        ],
    )
    [result] = connector.write_properties([PropertyWrite("003A", {"Segment__c": "Champions"})])
    assert (result.code, result.retryable) == ("CANNOT_EXECUTE_FLOW_TRIGGER", True)


def test_more_than_200_writes_are_refused(connector: SalesforceConnector) -> None:
    writes = [PropertyWrite(f"003{i:015d}", {"Segment__c": "A"}) for i in range(201)]
    with pytest.raises(ValueError, match="at most 200 records per call"):
        connector.write_properties(writes)


def test_a_bulk_write_clears_with_na_and_reads_back_failed_records(
    mock: responses.RequestsMock, connector: SalesforceConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("simple_salesforce.bulk2.sleep", lambda _seconds: None)
    ingest = f"{API}jobs/ingest"
    mock.add("POST", ingest, json={"id": "750I", "state": "Open"})
    mock.add("PUT", f"{ingest}/750I/batches", status=201)
    mock.add("PATCH", f"{ingest}/750I", json={"id": "750I", "state": "UploadComplete"})
    job = {
        "id": "750I",
        "state": "JobComplete",
        "numberRecordsFailed": 1,
        "numberRecordsProcessed": 3,
    }
    mock.add("GET", f"{ingest}/750I", json=job)
    mock.add(
        "GET",
        f"{ingest}/750I/failedResults",
        body='"sf__Id","sf__Error","Id","Segment__c"\n'
        '"","INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--","003X","Champions"\n',
    )
    results = connector.write_properties_bulk(
        [
            PropertyWrite("003A", {"Segment__c": "Champions", "Segments__c": "Champions;Loyal"}),
            PropertyWrite("003X", {"Segment__c": "Champions"}),
            PropertyWrite("003B", {"Segment__c": ""}),
        ]
    )
    assert results == [
        WriteResult("003A", ok=True),
        WriteResult(
            "003X",
            ok=False,
            code="INVALID_CROSS_REFERENCE_KEY",
            message="invalid cross reference id:--",
            missing=True,
        ),
        WriteResult("003B", ok=True),
    ]
    uploaded = next(c for c in mock.calls if c.request.method == "PUT").request.body
    assert isinstance(uploaded, bytes)
    rows = list(csv.DictReader(io.StringIO(uploaded.decode())))
    assert [dict(row) for row in rows] == [
        {"Id": "003A", "Segment__c": "Champions", "Segments__c": "Champions;Loyal"},
        {"Id": "003X", "Segment__c": "Champions", "Segments__c": ""},
        {"Id": "003B", "Segment__c": "#N/A", "Segments__c": ""},
    ]


# -- segment fields ------------------------------------------------------------------------

SEGMENT = SegmentField(
    "Segment__c", "Segment (segsync)", "Primary segment.", "single_select", ("A", "B")
)


def add_grant_and_describe(mock: responses.RequestsMock, *, visible: bool = True) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        json={
            "totalSize": 1,
            "done": True,
            "records": [{"Id": "0PS1", "Name": "Segsync_Integration"}],
        },
    )
    mock.add("GET", f"{API}query/", json={"totalSize": 0, "done": True, "records": []})
    mock.add(
        "POST",
        f"{API}sobjects/FieldPermissions/",
        json={"id": "01k1", "success": True, "errors": []},
    )
    fields = [{"name": "Segment__c", "label": "Segment", "type": "picklist", "updateable": True}]
    mock.add("GET", f"{API}sobjects/Contact/describe", json={"fields": fields if visible else []})


def test_a_missing_segment_field_is_created_granted_and_checked(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET", f"{API}tooling/query/", json={"size": 0, "totalSize": 0, "done": True, "records": []}
    )
    mock.add(
        "POST",
        f"{API}tooling/sobjects/CustomField/",
        json={"id": "00N1", "success": True, "errors": []},
    )
    add_grant_and_describe(mock)
    connector.ensure_segment_field(SEGMENT)
    assert soql(mock.calls[0]) == (
        "SELECT Id FROM CustomField WHERE TableEnumOrId = 'Contact' AND DeveloperName = 'Segment'"
    )
    assert body(mock.calls[1]) == {
        "FullName": "Contact.Segment__c",
        "Metadata": {
            "label": "Segment (segsync)",
            "description": "Primary segment.",
            "inlineHelpText": "Written by segsync: Primary segment.",
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [
                        {"valueName": "A", "label": "A", "default": False},
                        {"valueName": "B", "label": "B", "default": False},
                    ],
                },
            },
        },
    }
    assert soql(mock.calls[3]) == (
        "SELECT Id, PermissionsRead, PermissionsEdit FROM FieldPermissions "
        "WHERE ParentId = '0PS1' AND SobjectType = 'Contact' AND Field = 'Contact.Segment__c'"
    )
    assert body(mock.calls[4]) == {
        "ParentId": "0PS1",
        "SobjectType": "Contact",
        "Field": "Contact.Segment__c",
        "PermissionsRead": True,
        "PermissionsEdit": True,
    }


def test_an_existing_segment_field_gets_only_its_missing_options(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    existing = {
        "fullName": "Contact.Segment__c",
        "label": "Segment (segsync)",
        "type": "Picklist",
        "valueSet": {
            "restricted": True,
            "valueSetDefinition": {
                "sorted": False,
                "value": [{"fullName": "A", "label": "A", "default": False}],
            },
        },
    }
    mock.add(
        "GET",
        f"{API}tooling/query/",
        json={"totalSize": 1, "done": True, "records": [{"Id": "00N1"}]},
    )
    mock.add(
        "GET", f"{API}tooling/sobjects/CustomField/00N1", json={"Id": "00N1", "Metadata": existing}
    )
    mock.add("PATCH", f"{API}tooling/sobjects/CustomField/00N1", status=204)
    add_grant_and_describe(mock)
    connector.ensure_segment_field(SEGMENT)
    values = body(mock.calls[2])["Metadata"]["valueSet"]["valueSetDefinition"]["value"]
    assert values == [
        {"valueName": "A", "label": "A", "default": False},
        {"valueName": "B", "label": "B", "default": False},
    ]


def test_a_field_that_stays_invisible_is_auth_failed_with_the_permission(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    text = SegmentField("Segment__c", "Reason", "Why.", "text")
    mock.add(
        "GET",
        f"{API}tooling/query/",
        json={"totalSize": 1, "done": True, "records": [{"Id": "00N1"}]},
    )
    add_grant_and_describe(mock, visible=False)
    with pytest.raises(AuthFailed) as caught:
        connector.ensure_segment_field(text)
    assert str(caught.value) == PERMISSION_MESSAGE


def test_a_field_name_without_the_custom_suffix_is_refused(connector: SalesforceConnector) -> None:
    with pytest.raises(RequestRejected, match="custom field names end in __c"):
        connector.ensure_segment_field(
            SegmentField("segsync_segment", "Segment", "", "single_select", ("A",))
        )


# -- campaigns -----------------------------------------------------------------------------

CAMPAIGN = ListRef("701C", "segsync: Champions")


def test_find_list_reads_the_oldest_campaign_of_that_name(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        json={
            "totalSize": 1,
            "done": True,
            "records": [{"Id": "701C", "Name": "segsync: Champions"}],
        },
    )
    mock.add("GET", f"{API}query/", json={"totalSize": 7, "done": True, "records": []})
    mock.add("GET", f"{API}query/", json={"totalSize": 0, "done": True, "records": []})
    found = connector.find_list("segsync: Champions")
    assert (found, found and found.size) == (CAMPAIGN, 7)
    assert connector.find_list("it's missing") is None
    assert soql(mock.calls[1]) == (
        "SELECT COUNT() FROM CampaignMember WHERE CampaignId = '701C' AND ContactId != null"
    )
    assert soql(mock.calls[2]) == (
        "SELECT Id, Name FROM Campaign WHERE Name = 'it\\'s missing' "
        "ORDER BY CreatedDate ASC LIMIT 1"
    )


def test_create_list_adds_the_member_status_when_the_campaign_lacks_it(
    mock: responses.RequestsMock,
) -> None:
    salesforce = SalesforceConnector(settings(campaign_status="Synced"))
    mock.add("POST", f"{API}sobjects/Campaign/", json={"id": "701C", "success": True, "errors": []})
    statuses = [{"Label": "Sent", "SortOrder": 1}, {"Label": "Responded", "SortOrder": 2}]
    mock.add("GET", f"{API}query/", json={"totalSize": 2, "done": True, "records": statuses})
    mock.add(
        "POST",
        f"{API}sobjects/CampaignMemberStatus/",
        json={"id": "01Y1", "success": True, "errors": []},
    )
    assert salesforce.create_list("segsync: Champions") == CAMPAIGN
    assert body(mock.calls[0]) == {"Name": "segsync: Champions", "IsActive": True}
    assert body(mock.calls[2]) == {
        "CampaignId": "701C",
        "Label": "Synced",
        "SortOrder": 3,
        "HasResponded": False,
    }


def test_adding_members_skips_existing_pairs_and_tolerates_duplicates_and_deleted_contacts(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        json={"totalSize": 1, "done": True, "records": [{"Id": "00v1", "ContactId": "003A"}]},
    )
    duplicate = {
        "success": False,
        "errors": [
            {"statusCode": "DUPLICATE_VALUE", "message": "Already a campaign member.", "fields": []}
        ],
    }
    deleted = {
        "success": False,
        "errors": [
            {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
        ],
    }
    mock.add(
        "POST",
        f"{API}composite/sobjects",
        json=[{"id": "00v2", "success": True, "errors": []}, duplicate, deleted],
    )
    connector.add_list_members(CAMPAIGN, ["003A", "003B", "003C", "003D"])
    assert soql(mock.calls[0]) == (
        "SELECT Id, ContactId FROM CampaignMember "
        "WHERE CampaignId = '701C' AND ContactId IN ('003A','003B','003C','003D')"
    )
    assert body(mock.calls[1]) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "CampaignMember"},
                "CampaignId": "701C",
                "ContactId": cid,
                "Status": "Sent",
            }
            for cid in ("003B", "003C", "003D")
        ],
    }


def test_adding_only_existing_members_sends_nothing(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        json={"totalSize": 1, "done": True, "records": [{"Id": "00v1", "ContactId": "003A"}]},
    )
    connector.add_list_members(CAMPAIGN, ["003A"])
    assert len(mock.calls) == 1


def test_member_failures_raise_locks_as_transient_and_others_as_rejected(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    def failure(code: str, message: str) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": code, "message": message, "fields": []}],
        }

    for _ in range(2):
        mock.add("GET", f"{API}query/", json={"totalSize": 0, "done": True, "records": []})
    mock.add(
        "POST",
        f"{API}composite/sobjects",
        json=[failure("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")],
    )
    mock.add(
        "POST",
        f"{API}composite/sobjects",
        json=[
            failure(
                "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "insufficient access rights on cross-reference id",
            )
        ],
    )
    with pytest.raises(Transient, match="unable to obtain exclusive access"):
        connector.add_list_members(CAMPAIGN, ["003A"])
    with pytest.raises(RecordRejected) as caught:
        connector.add_list_members(CAMPAIGN, ["003A"])
    assert str(caught.value) == (
        "record 003A rejected (INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY): insufficient "
        "access rights on cross-reference id"
    )


def test_removing_members_deletes_their_campaign_member_ids(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    members = [{"Id": "00v1", "ContactId": "003A"}, {"Id": "00v2", "ContactId": "003B"}]
    mock.add("GET", f"{API}query/", json={"totalSize": 2, "done": True, "records": members})
    gone = {
        "success": False,
        "errors": [
            {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
        ],
    }
    mock.add(
        "DELETE",
        f"{API}composite/sobjects",
        json=[{"id": "00v1", "success": True, "errors": []}, gone],
    )
    connector.remove_list_members(CAMPAIGN, ["003A", "003B", "003Z"])
    assert query_params(mock.calls[1]) == {
        "ids": ["00v1,00v2"],
        "allOrNone": ["false"],
    }


def test_list_members_page_by_locator(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    more = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
    mock.add(
        "GET",
        f"{API}query/",
        json={
            "totalSize": 2,
            "done": False,
            "nextRecordsUrl": more,
            "records": [{"Id": "00v1", "ContactId": "003A"}],
        },
    )
    mock.add(
        "GET",
        f"{INSTANCE}{more}",
        json={"totalSize": 2, "done": True, "records": [{"Id": "00v2", "ContactId": "003B"}]},
    )
    first = connector.read_list_members_page(CAMPAIGN, None)
    last = connector.read_list_members_page(CAMPAIGN, first.next_cursor)
    assert (first.ids, last.ids, last.next_cursor) == (["003A"], ["003B"], None)
    assert soql(mock.calls[0]) == (
        "SELECT Id, ContactId FROM CampaignMember WHERE CampaignId = '701C' "
        "AND ContactId != null ORDER BY Id ASC"
    )


def test_limits_match_salesforce(connector: SalesforceConnector) -> None:
    limits = connector.limits
    assert (
        limits.read_page_size,
        limits.write_batch_size,
        limits.list_read_page_size,
        limits.list_change_batch_size,
    ) == (2000, 200, 2000, 200)
    assert (limits.budget.per_window, limits.budget.window_seconds, limits.budget.daily) == (
        None,
        None,
        100_000,
    )


# -- end to end, against the sandbox org ---------------------------------------------------

SEGMENT_FIELDS = (
    SegmentField("Segment__c", "Segment (segsync)", "Primary.", "single_select", ("A", "B")),
    SegmentField("Segments__c", "All segments (segsync)", "All.", "multi_select", ("A", "B")),
    SegmentField("Segment_Reason__c", "Segment reason (segsync)", "Why.", "text"),
)
SOAP_LOGIN = "POST /services/Soap/u/{soapVersion}"
OAUTH_TOKEN = "POST /services/oauth2/token"
COMPOSITE = "/services/data/{version}/composite/sobjects"


@pytest.fixture
def sf_box() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as box:
        yield box


@pytest.fixture
def org(sf_box: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    salesforce = SalesforceConnector(salesforce_settings(sf_box))
    yield salesforce
    salesforce.close()


def pull(connector: SalesforceConnector, fields: list[str]) -> dict[str, Any]:
    """Every contact of a full pull by id: (properties, modified_at)."""
    pulled: dict[str, Any] = {}
    cursor = None
    while True:
        page = connector.read_contacts_page(fields, cursor)
        for contact in page.contacts:
            assert contact.id not in pulled
            pulled[contact.id] = (contact.properties, contact.modified_at)
        cursor = page.next_cursor
        if cursor is None:
            return pulled


def test_sandbox_full_pulls_read_the_same_text_over_rest_and_bulk(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    ids = sf_box.seed_contacts(40, seed=51)
    fields = [
        "Title",
        "Employees__c",
        "Annual_Revenue__c",
        "HasOptedOutOfEmail",
        "Last_Activity__c",
        "Last_Purchase_Date__c",
        "Lifecycle_Stage__c",
    ]
    over_rest = pull(org, fields)
    bulk = SalesforceConnector(salesforce_settings(sf_box, bulk_threshold=39))
    over_bulk = pull(bulk, fields)
    assert set(over_rest) == set(ids)
    assert over_bulk == over_rest
    assert sf_box.calls["POST /services/data/{version}/jobs/query"] == 1
    stored = sf_box.store.record("Contact", ids[0])
    properties, modified_at = over_rest[ids[0]]
    assert properties["Title"] == stored["Title"]
    assert properties["HasOptedOutOfEmail"] == ("true" if stored["HasOptedOutOfEmail"] else "false")
    assert modified_at is not None


def test_sandbox_incremental_pull_returns_the_edits_in_modstamp_order(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    ids = sf_box.seed_contacts(50, seed=52)
    since = datetime.now(UTC)
    edited = [ids[9], ids[3], ids[27]]
    for contact_id in edited:
        sf_box.store.set_fields("Contact", contact_id, {"Title": f"Edited {contact_id}"})
    page = org.read_changed_contacts_page(["Title"], since, None)
    assert page.next_cursor is None
    assert sorted((c.id, c.properties["Title"]) for c in page.contacts) == sorted(
        (contact_id, f"Edited {contact_id}") for contact_id in edited
    )
    stamps = [c.modified_at for c in page.contacts if c.modified_at is not None]
    assert len(stamps) == len(edited)
    assert stamps == sorted(stamps)


def test_sandbox_segment_fields_are_created_once_granted_and_extended(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    for spec in SEGMENT_FIELDS + SEGMENT_FIELDS:
        org.ensure_segment_field(spec)
    wider = replace(SEGMENT_FIELDS[1], options=("A", "B", "C"))
    org.ensure_segment_field(wider)
    fields = {info.name: info for info in org.describe_fields()}
    assert fields["Segment__c"] == FieldInfo(
        "Segment__c", "Segment (segsync)", "enumeration", ("A", "B"), "segsync"
    )
    assert fields["Segments__c"].type == "multi_enumeration"
    assert fields["Segments__c"].options == ("A", "B", "C")
    assert fields["Segment_Reason__c"].type == "string"
    assert sf_box.calls["POST /services/data/{version}/tooling/sobjects/CustomField"] == 3
    assert sf_box.calls["PATCH /services/data/{version}/tooling/sobjects/CustomField/{id}"] == 1
    grants = [
        row.values["Field"]
        for row in sf_box.store.rows("FieldPermissions")
        if row.values["Field"].startswith("Contact.Segment")
    ]
    assert sorted(grants) == [
        "Contact.Segment_Reason__c",
        "Contact.Segment__c",
        "Contact.Segments__c",
    ]
    assert all(sf_box.store.field_editable("Contact", spec.name) for spec in SEGMENT_FIELDS)


def test_sandbox_a_revoked_field_is_granted_again_or_names_the_permission(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    org.ensure_segment_field(SEGMENT_FIELDS[0])
    sf_box.store.revoke_field_permission("Contact", "Segment__c")
    org.ensure_segment_field(SEGMENT_FIELDS[0])
    assert sf_box.store.field_editable("Contact", "Segment__c")

    sf_box.store.revoke_field_permission("Contact", "Segment__c")
    with pytest.raises(AuthFailed) as caught:
        org.write_properties(
            [PropertyWrite(sf_box.seed_contacts(1, seed=53)[0], {"Segment__c": "A"})]
        )
    assert str(caught.value) == PERMISSION_MESSAGE
    misconfigured = SalesforceConnector(salesforce_settings(sf_box, permission_set="Nope"))
    with pytest.raises(AuthFailed) as caught:
        misconfigured.ensure_segment_field(SEGMENT_FIELDS[0])
    assert str(caught.value) == PERMISSION_MESSAGE.replace("Segsync_Integration", "Nope") + (
        " (segsync could not grant it: permission set Nope does not exist)"
    )


def test_sandbox_a_batch_write_applies_all_but_the_bad_records(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    for spec in SEGMENT_FIELDS:
        org.ensure_segment_field(spec)
    ids = sf_box.seed_contacts(3, seed=54)
    sf_box.store.set_fields("Contact", ids[2], {"Segment__c": "B", "Segments__c": "A;B"})
    missing = make_id("003", 1)
    sf_box.inject_record_errors("UNABLE_TO_LOCK_ROW", count=1)
    results = org.write_properties(
        [
            PropertyWrite(ids[0], {"Segment__c": "A", "Segments__c": "A"}),
            PropertyWrite(missing, {"Segment__c": "A"}),
            PropertyWrite(
                ids[1], {"Segment__c": "B", "Segments__c": "A;B", "Segment_Reason__c": "why"}
            ),
            PropertyWrite(ids[2], {"Segment__c": "", "Segments__c": ""}),
        ]
    )
    assert [(r.contact_id, r.ok, r.code, r.retryable, r.missing) for r in results] == [
        (ids[0], False, "UNABLE_TO_LOCK_ROW", True, False),
        (missing, False, "INVALID_CROSS_REFERENCE_KEY", False, True),
        (ids[1], True, "", False, False),
        (ids[2], True, "", False, False),
    ]
    stored = [sf_box.store.record("Contact", i) for i in ids]
    assert [(r["Segment__c"], r["Segments__c"], r["Segment_Reason__c"]) for r in stored] == [
        (None, None, None),
        ("B", "A;B", "why"),
        (None, None, None),
    ]


def test_sandbox_a_bulk_write_clears_values_and_reports_the_bad_record(
    sf_box: SalesforceSandbox, org: SalesforceConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.salesforce.writes.BULK_POLL_SECONDS", 0.05)
    for spec in SEGMENT_FIELDS[:2]:
        org.ensure_segment_field(spec)
    ids = sf_box.seed_contacts(2, seed=55)
    sf_box.store.set_fields("Contact", ids[1], {"Segment__c": "B", "Segments__c": "B"})
    missing = make_id("003", 1)
    results = org.write_properties_bulk(
        [
            PropertyWrite(ids[0], {"Segment__c": "A", "Segments__c": "A;B"}),
            PropertyWrite(missing, {"Segment__c": "A"}),
            PropertyWrite(ids[1], {"Segment__c": ""}),
        ]
    )
    assert [(r.contact_id, r.ok, r.code, r.missing) for r in results] == [
        (ids[0], True, "", False),
        (missing, False, "INVALID_CROSS_REFERENCE_KEY", True),
        (ids[1], True, "", False),
    ]
    stored = [sf_box.store.record("Contact", i) for i in ids]
    assert [(r["Segment__c"], r["Segments__c"]) for r in stored] == [("A", "A;B"), (None, "B")]


def test_sandbox_campaign_members_change_exactly_without_duplicate_values(
    sf_box: SalesforceSandbox, org: SalesforceConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = sf_box.seed_contacts(10, seed=56)
    sent: list[list[str]] = []
    answers: list[Any] = []
    rest = org.client.rest

    def spy(action: str, path: str, **kwargs: Any) -> Any:
        answer = rest(action, path, **kwargs)
        if path == "composite/sobjects" and kwargs.get("method") == "POST":
            sent.append([r["ContactId"] for r in kwargs["body"]["records"]])
            answers.append(answer)
        return answer

    monkeypatch.setattr(org.client, "rest", spy)
    assert org.find_list("segsync: Champions") is None
    created = org.create_list("segsync: Champions")
    assert org.find_list("segsync: Champions") == created
    org.add_list_members(created, ids[:6])
    org.add_list_members(created, ids[4:9])
    org.add_list_members(created, ids[4:9])
    org.remove_list_members(created, [*ids[:2], ids[9]])
    assert sf_box.store.campaign_members(created.id) == set(ids[2:9])
    assert sent == [ids[:6], ids[6:9]]
    assert all(result["success"] for answer in answers for result in answer)
    members = [
        row.values["Status"]
        for row in sf_box.store.rows("CampaignMember")
        if row.values["CampaignId"] == created.id
    ]
    assert members == ["Sent"] * 7
    read: list[str] = []
    cursor = None
    while True:
        page = org.read_list_members_page(created, cursor)
        read += page.ids
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(read) == sorted(ids[2:9])


def test_sandbox_a_campaign_gets_the_configured_member_status(sf_box: SalesforceSandbox) -> None:
    salesforce = SalesforceConnector(salesforce_settings(sf_box, campaign_status="Synced"))
    ids = sf_box.seed_contacts(2, seed=57)
    created = salesforce.create_list("segsync: Loyal")
    salesforce.add_list_members(created, ids)
    statuses = {
        row.values["Label"]
        for row in sf_box.store.rows("CampaignMemberStatus")
        if row.values["CampaignId"] == created.id
    }
    assert statuses == {"Sent", "Responded", "Synced"}
    assert {
        row.values["Status"]
        for row in sf_box.store.rows("CampaignMember")
        if row.values["CampaignId"] == created.id
    } == {"Synced"}


def test_sandbox_an_expired_session_logs_in_again_and_the_pull_resumes(
    sf_box: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", sf_box.proxy_url)  # logins go to *.salesforce.com
    ids = sf_box.seed_contacts(2_100, seed=58)
    salesforce = SalesforceConnector(
        salesforce_settings(
            sf_box,
            session_id=None,
            instance_url=None,
            consumer_key=sf_box.app.consumer_key,
            consumer_secret=SecretStr(sf_box.app.consumer_secret),
            domain=sf_box.my_domain,
        )
    )
    first = salesforce.read_contacts_page(["Title"], None)
    sf_box.expire_session()
    last = salesforce.read_contacts_page(["Title"], first.next_cursor)
    assert last.next_cursor is None
    pulled = [c.id for c in first.contacts + last.contacts]
    assert sorted(pulled) == sorted(ids)
    assert sf_box.calls[OAUTH_TOKEN] == 2


def test_sandbox_an_expired_given_session_is_auth_failed(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    sf_box.expire_session()
    with pytest.raises(AuthFailed, match="HTTP 401 INVALID_SESSION_ID: Session expired or invalid"):
        org.describe_fields()


def test_sandbox_faults_and_dropped_connections_are_transient(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    route = "GET /services/data/{version}/sobjects/{sobject}/describe"
    sf_box.inject_faults(503, route=route)
    with pytest.raises(Transient, match="HTTP 503 SERVER_UNAVAILABLE"):
        org.describe_fields()
    sf_box.inject_faults("disconnect", route=route)
    with pytest.raises(Transient, match="connection failed"):
        org.describe_fields()
    assert org.describe_fields()


def test_sandbox_limit_info_becomes_the_rate_limit_status(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    org.describe_fields()
    org.describe_fields()
    status = org.rate_limit_status()
    assert (status.daily_max, status.daily_remaining) == (100_000, 100_000 - 2)
