"""Salesforce connector pulls: full and incremental, paged by query locator or by a Bulk API
query job (pinned with ``responses``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from connectors.salesforce import SalesforceConnector
from tests.support.salesforce_api import (
    API,
    INSTANCE,
    LOGIN,
    body,
    error,
    login_xml,
    query_params,
    record,
    settings,
    soql,
)


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
