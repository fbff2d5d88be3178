"""The Salesforce sandbox, driven through the real ``simple-salesforce`` over loopback TLS.

Each test asserts exact values (ids, statuses, bodies, end state), so a sandbox that drifts
from Salesforce's behaviour, or from what segsync's connector relies on, fails here first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceLogin, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from zeep.exceptions import Fault

from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce_ids import normalise

SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
COLLECTIONS = "composite/sobjects"
NO_SUCH_COLUMN = (
    "No such column '{name}' on entity 'Contact'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
    "the describe call for the appropriate names."
)


@pytest.fixture
def box() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


def client(box: SalesforceSandbox) -> Salesforce:
    return Salesforce(
        instance_url=box.instance_url,
        session_id=box.session_id,
        session=box.requests_session(),
        version="59.0",
    )


@pytest.fixture
def sf(box: SalesforceSandbox) -> Salesforce:
    return client(box)


def contact(sf: Salesforce, **values: Any) -> str:
    return str(sf.Contact.create(values)["id"])


def update(sf: Salesforce, *records: dict[str, Any], all_or_none: bool = False) -> Any:
    return sf.restful(
        COLLECTIONS,
        method="PATCH",
        json={
            "allOrNone": all_or_none,
            "records": [{"attributes": {"type": "Contact"}, **r} for r in records],
        },
    )


def error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"statusCode": code, "message": message, "fields": fields or []}],
    }


def grant(sf: Salesforce, field: str, edit: bool = True) -> str:
    [assignment] = sf.query(
        "SELECT PermissionSetId FROM PermissionSetAssignment "
        "WHERE PermissionSet.IsOwnedByProfile = false"
    )["records"]
    created = sf.FieldPermissions.create(
        {
            "ParentId": assignment["PermissionSetId"],
            "SobjectType": "Contact",
            "Field": f"Contact.{field}",
            "PermissionsRead": True,
            "PermissionsEdit": edit,
        }
    )
    return str(created["id"])


# -- query ----------------------------------------------------------------------------------


def test_query_all_iter_pages_through_every_record_once(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    ids = box.seed_contacts(2600, seed=7)

    first = sf.query("SELECT Id, Email FROM Contact")
    assert (first["totalSize"], first["done"], len(first["records"])) == (2600, False, 2000)
    assert re.fullmatch(
        r"/services/data/v59\.0/query/01g[0-9A-Za-z]{15}-2000", first["nextRecordsUrl"]
    )
    assert first["records"][0]["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v59.0/sobjects/Contact/{ids[0]}",
    }
    assert list(first["records"][0]) == ["attributes", "Id", "Email"]

    seen = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Contact ORDER BY Id")]
    assert seen == ids and len(set(seen)) == 2600
    assert all(i.startswith("003") and len(i) == 18 and normalise(i[:15]) == i for i in ids)

    small = [
        r["Id"]
        for r in sf.query_all_iter(
            "SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"}
        )
    ]
    assert small == ids
    assert box.calls["GET /services/data/{version}/query/{locator}"] == 1 + 5


def test_soql_filters_orders_and_limits_like_salesforce(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    ada = contact(
        sf,
        LastName="Lovelace",
        FirstName="Ada",
        Email="ada@acme.com",
        Employees__c=250,
        Lifecycle_Stage__c="Customer",
    )
    alan = contact(
        sf,
        LastName="Turing",
        Email="alan@bletchley.org",
        Employees__c=90,
        Lifecycle_Stage__c="Lead",
    )
    grace = contact(
        sf,
        LastName="Hopper",
        FirstName="Grace",
        Email="GRACE@ACME.COM",
        Employees__c=120,
        Lifecycle_Stage__c="Lead",
    )
    box.store.delete("Contact", alan)
    edsger = contact(sf, LastName="Dijkstra", Employees__c=500)

    def names(soql: str) -> list[str]:
        return [r["LastName"] for r in sf.query_all(soql)["records"]]

    assert names(
        "SELECT LastName FROM Contact WHERE Employees__c >= 100 AND "
        "(Lifecycle_Stage__c = 'customer' OR Email LIKE '%@acme.com') "
        "ORDER BY LastName DESC"
    ) == ["Lovelace", "Hopper"]
    assert names(
        "SELECT LastName FROM Contact ORDER BY FirstName NULLS LAST, LastName LIMIT 3"
    ) == ["Lovelace", "Hopper", "Dijkstra"]
    assert names("SELECT LastName FROM Contact WHERE FirstName != 'Ada' ORDER BY LastName") == [
        "Dijkstra",
        "Hopper",
    ]  # != matches nulls, as in SOQL
    assert names(
        format_soql(
            "SELECT LastName FROM Contact WHERE Id IN {ids} ORDER BY Id",
            ids=[edsger, grace[:15], ada],
        )
    ) == ["Lovelace", "Hopper", "Dijkstra"]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert names(
        format_soql(
            "SELECT LastName FROM Contact WHERE SystemModstamp < {t} AND "
            "(NOT Email = null) ORDER BY Email",
            t=later,
        )
    ) == ["Lovelace", "Hopper"]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 3
    deleted = sf.query_all(
        "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true", include_deleted=True
    )["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in deleted] == [(alan, True)]

    [row] = sf.query(
        format_soql(
            "SELECT Name, SystemModstamp, Employees__c, Account.Name FROM Contact WHERE Id = {id}",
            id=ada,
        )
    )["records"]
    assert row["Name"] == "Ada Lovelace" and row["Employees__c"] == 250.0
    assert row["Account"] is None and SF_DATETIME.match(row["SystemModstamp"])


def test_rejected_queries_raise_with_salesforces_bodies(sf: Salesforce) -> None:
    cases = {
        "SELECT Asdf FROM Contact": (
            "INVALID_FIELD",
            "\nSELECT Asdf FROM Contact\n       ^\n"
            "ERROR at Row:1:Column:8\n" + NO_SUCH_COLUMN.format(name="Asdf"),
        ),
        "SELECT Id FROM Contact WHERE": (
            "MALFORMED_QUERY",
            "\nSELECT Id FROM Contact WHERE\n"
            + " " * 28
            + "^\nERROR at Row:1:Column:29\nunexpected token: '<EOF>'",
        ),
        "SELECT Id FROM Contact WHERE Id = 'ZZZ'": (
            "INVALID_QUERY_FILTER_OPERATOR",
            "\nSELECT Id FROM Contact WHERE Id = 'ZZZ'\n"
            + " " * 29
            + "^\nERROR at Row:1:Column:30\ninvalid ID field: ZZZ",
        ),
        "SELECT Id FROM Contact WHERE Email = 'a' AND Title = 'b' OR Title = 'c'": (
            "MALFORMED_QUERY",
            "\nWHERE Email = 'a' AND Title = 'b' OR Title = 'c'\n"
            + " " * 34
            + "^\nERROR at Row:1:Column:58\nunexpected token: 'OR'",
        ),
        "SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01T00:00:00Z'": (
            "INVALID_FIELD",
            "\nSELECT Id FROM Contact WHERE SystemModstamp >\n"
            + " " * 29
            + "^\nERROR at Row:1:Column:30\nvalue of filter criterion for field "
            "'SystemModstamp' must be of type dateTime and should not be enclosed in quotes",
        ),
    }
    for soql, (code, message) in cases.items():
        with pytest.raises(SalesforceMalformedRequest) as raised:
            sf.query(soql)
        assert raised.value.status == 400
        assert raised.value.content == [{"message": message, "errorCode": code}], soql


# -- sObject Collections ---------------------------------------------------------------------


def test_collection_update_reports_each_record_in_order(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    first = contact(sf, LastName="One", Title="Old")
    second = contact(sf, LastName="Two", Title="Old")
    before = box.store.record("Contact", first)["SystemModstamp"]

    results = update(
        sf,
        {"id": first, "Title": "CFO", "Lifecycle_Stage__c": "Customer"},
        {"id": second, "Title": "CTO", "Lifecycle_Stage__c": "Fan"},
        {"id": first, "Email": None},
    )

    assert results == [
        {"id": first, "success": True, "errors": []},
        error(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Lifecycle Stage: bad value for restricted picklist field: Fan",
            ["Lifecycle_Stage__c"],
        ),
        {"id": first, "success": True, "errors": []},
    ]
    stored = box.store.record("Contact", first)
    assert (stored["Title"], stored["Lifecycle_Stage__c"]) == ("CFO", "Customer")
    assert stored["SystemModstamp"] > before and stored["LastModifiedDate"] > before
    assert box.store.record("Contact", second)["Title"] == "Old"

    rolled = update(
        sf, {"id": first, "Title": "CEO"}, {"id": second, "LastName": None}, all_or_none=True
    )
    assert rolled == [
        error(
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "Record rolled back because not all "
            "records were valid and the request was using AllOrNone header",
        ),
        error("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]),
    ]
    assert box.store.record("Contact", first)["Title"] == "CFO"


def test_collection_errors_name_the_record_problem(box: SalesforceSandbox, sf: Salesforce) -> None:
    live = contact(sf, LastName="Live")
    gone = contact(sf, LastName="Gone")
    box.store.delete("Contact", gone)
    lead = sf.Lead.create({"LastName": "Lead", "Company": "Acme"})["id"]
    never = "003" + "5g0000000001" + "A" * 3
    results = update(
        sf,
        {"id": "NotReal", "Title": "x"},
        {"id": lead, "Title": "x"},
        {"id": normalise(never[:15]), "Title": "x"},
        {"id": gone, "Title": "x"},
        {"Title": "x"},
        {"id": live, "Segment__c": "x"},
        {"id": live, "Email": "not-an-email"},
        {"id": live, "SystemModstamp": None},
    )
    assert results == [
        error("MALFORMED_ID", "Contact ID: id value of incorrect type: NotReal", ["Id"]),
        error("MALFORMED_ID", f"Contact ID: id value of incorrect type: {lead}", ["Id"]),
        error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"),
        error("ENTITY_IS_DELETED", "entity is deleted"),
        error("MISSING_ARGUMENT", "Id not specified in an update call"),
        error("INVALID_FIELD", "No such column 'Segment__c' on sobject of type Contact"),
        error("INVALID_EMAIL_ADDRESS", "Email: invalid email address: not-an-email", ["Email"]),
        error(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create/update fields: "
            "SystemModstamp. Please check the security settings of this field and verify "
            "that it is read/write for your profile or permission set.",
            ["SystemModstamp"],
        ),
    ]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        update(sf, {"id": live, "Employees__c": "many"})
    assert raised.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"
    with pytest.raises(SalesforceMalformedRequest) as raised:
        update(sf, *[{"id": live, "Title": str(i)} for i in range(201)])
    assert raised.value.content == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
            "fields": [],
        }
    ]


def test_injected_lock_errors_fail_single_records(box: SalesforceSandbox, sf: Salesforce) -> None:
    ids = [contact(sf, LastName=f"P{i}") for i in range(3)]
    box.inject_record_errors("UNABLE_TO_LOCK_ROW", count=2)
    results = update(sf, *[{"id": i, "Title": "VP"} for i in ids])
    assert results == [
        error(
            "UNABLE_TO_LOCK_ROW",
            f"unable to obtain exclusive access to this record or 1 records: {ids[0]}",
        ),
        error(
            "UNABLE_TO_LOCK_ROW",
            f"unable to obtain exclusive access to this record or 1 records: {ids[1]}",
        ),
        {"id": ids[2], "success": True, "errors": []},
    ]
    assert [box.store.record("Contact", i)["Title"] for i in ids] == [None, None, "VP"]
    assert update(sf, *[{"id": i, "Title": "VP"} for i in ids[:2]]) == [
        {"id": i, "success": True, "errors": []} for i in ids[:2]
    ]
    with pytest.raises(ValueError, match="unsupported record error"):
        box.inject_record_errors("OOPS")


# -- custom fields and field-level security -------------------------------------------------


def test_tooling_field_is_hidden_until_field_permissions_grant_it(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    person = contact(sf, LastName="Field")
    created = sf.restful(
        "tooling/sobjects/CustomField/",
        method="POST",
        json={
            "FullName": "Contact.Segment__c",
            "Metadata": {
                "label": "Segment",
                "type": "Picklist",
                "valueSet": {
                    "restricted": True,
                    "valueSetDefinition": {
                        "sorted": False,
                        "value": [
                            {"valueName": "high_value", "default": False, "label": "High value"}
                        ],
                    },
                },
            },
        },
    )
    assert created["id"].startswith("00N") and created["success"] is True

    assert not box.store.field_visible("Contact", "Segment__c")
    assert "Segment__c" not in [f["name"] for f in sf.Contact.describe()["fields"]]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Segment__c FROM Contact")
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert update(sf, {"id": person, "Segment__c": "high_value"}) == [
        error("INVALID_FIELD", "No such column 'Segment__c' on sobject of type Contact")
    ]

    permission = grant(sf, "Segment__c", edit=False)
    assert (
        update(sf, {"id": person, "Segment__c": "high_value"})[0]["errors"][0]["statusCode"]
        == "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    sf.FieldPermissions.update(permission, {"PermissionsEdit": True})
    [described] = [f for f in sf.Contact.describe()["fields"] if f["name"] == "Segment__c"]
    assert (described["type"], described["restrictedPicklist"], described["custom"]) == (
        "picklist",
        True,
        True,
    )
    assert [v["value"] for v in described["picklistValues"]] == ["high_value"]
    assert update(sf, {"id": person, "Segment__c": "high_value"}) == [
        {"id": person, "success": True, "errors": []}
    ]
    assert update(sf, {"id": person, "Segment__c": "churn_risk"}) == [
        error(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Segment: bad value for restricted picklist field: churn_risk",
            ["Segment__c"],
        )
    ]

    listed = sf.toolingexecute(
        "query/?q=SELECT+Id,DeveloperName+FROM+CustomField+WHERE+DeveloperName='Segment'"
    )
    assert [r["Id"] for r in listed["records"]] == [created["id"]]
    field = sf.restful(f"tooling/sobjects/CustomField/{created['id']}")
    metadata = field["Metadata"]
    metadata["valueSet"]["valueSetDefinition"]["value"].append(
        {"valueName": "churn_risk", "default": False, "label": "Churn risk"}
    )
    sf.restful(
        f"tooling/sobjects/CustomField/{created['id']}", method="PATCH", json={"Metadata": metadata}
    )
    assert update(sf, {"id": person, "Segment__c": "churn_risk"})[0]["success"] is True
    assert box.store.record("Contact", person)["Segment__c"] == "churn_risk"

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.restful(
            "tooling/sobjects/CustomField/",
            method="POST",
            json={
                "FullName": "Contact.Segment__c",
                "Metadata": {"label": "S", "type": "Text", "length": 10},
            },
        )
    assert raised.value.content == [
        {
            "message": "There is already a field named Segment on Contact.",
            "errorCode": "DUPLICATE_DEVELOPER_NAME",
            "fields": [],
        }
    ]
    box.store.revoke_field_permission("Contact", "Segment__c")
    assert not box.store.field_visible("Contact", "Segment__c")


def test_metadata_api_creates_reads_and_updates_fields(
    box: SalesforceSandbox, sf: Salesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_path)  # zeep ignores sf.session (#686)
    md = sf.mdapi
    segments = md.CustomField(
        fullName="Contact.Segments__c",
        label="Segments",
        visibleLines=4,
        type=md.FieldType("MultiselectPicklist"),
        valueSet=md.ValueSet(
            restricted=True,
            valueSetDefinition=md.ValueSetValuesDefinition(
                sorted=False, value=[md.CustomValue(fullName="a", default=False, label="A")]
            ),
        ),
    )
    reason = md.CustomField(
        fullName="Contact.Segment_Reason__c",
        label="Segment Reason",
        type=md.FieldType("LongTextArea"),
        length=32768,
        visibleLines=3,
    )
    md.CustomField.create([segments, reason])
    with pytest.raises(
        Exception,
        match=r"Contact.Segments__c: \(DUPLICATE_DEVELOPER_NAME, "
        r"There is already a field named Segments on Contact.",
    ):
        md.CustomField.create([segments])

    read = md.CustomField.read(["Contact.Segments__c"])
    assert (read.label, read.type, read.visibleLines) == ("Segments", "MultiselectPicklist", 4)
    read.valueSet.valueSetDefinition.value.append(
        md.CustomValue(fullName="b", default=False, label="B")
    )
    md.CustomField.update([read])
    grant(sf, "Segments__c")
    grant(sf, "Segment_Reason__c")
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert [v["value"] for v in fields["Segments__c"]["picklistValues"]] == ["a", "b"]
    assert (fields["Segment_Reason__c"]["type"], fields["Segment_Reason__c"]["length"]) == (
        "textarea",
        32768,
    )
    person = contact(sf, LastName="Multi", Segments__c="a;b", Segment_Reason__c="why")
    assert [
        r["Id"]
        for r in sf.query("SELECT Id FROM Contact WHERE Segments__c INCLUDES ('b')")["records"]
    ] == [person]

    box.expire_session()
    with pytest.raises(Fault, match="INVALID_SESSION_ID"):
        md.CustomField.read(["Contact.Segments__c"])


# -- campaigns ------------------------------------------------------------------------------


def test_campaign_members_add_duplicate_and_remove(box: SalesforceSandbox, sf: Salesforce) -> None:
    people = [contact(sf, LastName=f"M{i}") for i in range(3)]
    campaign = sf.Campaign.create({"Name": "segsync: High value", "IsActive": True})
    assert list(campaign) == ["id", "success", "errors"] and campaign["id"].startswith("701")
    added = sf.restful(
        COLLECTIONS,
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "CampaignMember"},
                    "CampaignId": campaign["id"],
                    "ContactId": person,
                }
                for person in [people[0], people[1], people[0]]
            ],
        },
    )
    assert [r["success"] for r in added] == [True, True, False]
    assert added[2] == error("DUPLICATE_VALUE", "Already a campaign member.")
    assert box.store.campaign_members(campaign["id"]) == {people[0], people[1]}
    assert box.store.campaign_by_name("segsync: High value")["NumberOfContacts"] == 2

    members = sf.query(
        format_soql(
            "SELECT Id, ContactId, Status FROM CampaignMember WHERE CampaignId = {c} "
            "ORDER BY ContactId",
            c=campaign["id"],
        )
    )["records"]
    assert [(m["ContactId"], m["Status"]) for m in members] == [
        (people[0], "Sent"),
        (people[1], "Sent"),
    ]
    removed = sf.restful(
        COLLECTIONS,
        method="DELETE",
        params={"ids": f"{members[0]['Id']},{members[0]['Id']}", "allOrNone": "false"},
    )
    assert removed == [
        {"id": members[0]["Id"], "success": True, "errors": []},
        {"id": members[0]["Id"], **error("ENTITY_IS_DELETED", "entity is deleted")},
    ]
    box.store.delete("Contact", people[1])  # deleting a contact deletes its memberships
    assert box.store.campaign_members(campaign["id"]) == set()
    statuses = sf.query(
        format_soql(
            "SELECT Label, IsDefault FROM CampaignMemberStatus WHERE "
            "CampaignId = {c} ORDER BY Label",
            c=campaign["id"],
        )
    )["records"]
    assert [(s["Label"], s["IsDefault"]) for s in statuses] == [
        ("Responded", False),
        ("Sent", True),
    ]


# -- Bulk API 2.0 ---------------------------------------------------------------------------


def test_bulk2_query_pages_csv_by_locator(box: SalesforceSandbox, sf: Salesforce) -> None:
    ids = box.seed_contacts(2500, seed=11)
    pages = list(
        sf.bulk2.Contact.query(
            "SELECT Id, Name, HasOptedOutOfEmail, Account.Name FROM Contact ORDER BY Id",
            max_records=1000,
            wait=0.01,
        )
    )
    assert [p.count("\n") for p in pages] == [1001, 1001, 501]
    lines = [line for page in pages for line in page.splitlines()[1:]]
    assert pages[0].splitlines()[0] == '"Id","Name","HasOptedOutOfEmail","Account.Name"'
    assert [line.split(",")[0].strip('"') for line in lines] == ids
    first = box.store.record("Contact", ids[0])
    assert lines[0].startswith(f'"{ids[0]}","{first["Name"]}","false","')
    assert box.calls["GET /services/data/{version}/jobs/query/{jobId}"] == 2  # InProgress, done
    assert box.calls["GET /services/data/{version}/jobs/query/{jobId}/results"] == 3


def test_bulk2_ingest_reports_failed_rows_and_keeps_empty_cells(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    a = contact(sf, LastName="A", Title="Keep", Email="a@x.com")
    b = contact(sf, LastName="B", Title="Old")
    c = contact(sf, LastName="C", Title="Clear me")
    [result] = sf.bulk2.Contact.update(
        records=[
            {"Id": a, "Title": "", "Lifecycle_Stage__c": "Customer"},
            {"Id": b, "Title": "New", "Lifecycle_Stage__c": "Fan"},
            {"Id": c, "Title": "#N/A", "Lifecycle_Stage__c": ""},
        ],
        wait=0.01,
    )
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (3, 1)
    failed = sf.bulk2.Contact.get_failed_records(result["job_id"]).splitlines()
    header = failed[0].split(",", 2)
    assert header[:2] == ['"sf__Id"', '"sf__Error"']
    assert sorted(header[2].split(",")) == ["Id", "Lifecycle_Stage__c", "Title"]
    assert len(failed) == 2 and failed[1].startswith(
        f'"{b}","INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Lifecycle Stage: bad value for '
        'restricted picklist field: Fan:Lifecycle_Stage__c --",'
    )
    successes = sf.bulk2.Contact.get_successful_records(result["job_id"]).splitlines()
    assert [line.split(",")[:2] for line in successes[1:]] == [
        [f'"{a}"', '"false"'],
        [f'"{c}"', '"false"'],
    ]
    stored = {i: box.store.record("Contact", i) for i in (a, b, c)}
    assert (stored[a]["Title"], stored[a]["Lifecycle_Stage__c"]) == ("Keep", "Customer")
    assert (stored[b]["Title"], stored[c]["Title"]) == ("Old", None)

    with pytest.raises(
        SalesforceOperationError, match="InvalidBatch : Field name not found : Segment__c"
    ):
        sf.bulk2.Contact.update(records=[{"Id": a, "Segment__c": "x"}], wait=0.01)
    job = requests.get(
        f"{sf.bulk2_url}ingest/{result['job_id']}", headers=sf.headers, verify=box.ca_path
    ).json()
    assert (job["state"], job["jobType"], job["object"], job["operation"]) == (
        "JobComplete",
        "V2Ingest",
        "Contact",
        "update",
    )


# -- limits, sessions, faults ---------------------------------------------------------------


def test_limit_info_and_the_daily_limit() -> None:
    with SalesforceSandbox(daily_limit=5) as box:
        sf = client(box)
        sf.query("SELECT COUNT() FROM Contact")
        assert sf.api_usage["api-usage"] == (1, 5)
        assert sf.limits()["DailyApiRequests"] == {"Max": 5, "Remaining": 3}
        sf.query("SELECT COUNT() FROM Contact")
        sf.query("SELECT COUNT() FROM Contact")
        assert sf.api_usage["api-usage"] == (4, 5)
        sf.query("SELECT COUNT() FROM Contact")
        with pytest.raises(SalesforceRefusedRequest) as raised:
            sf.query("SELECT COUNT() FROM Contact")
        assert raised.value.status == 403
        assert raised.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]


def test_expired_sessions_and_soap_login(box: SalesforceSandbox) -> None:
    box.seed_contacts(2100, seed=5)
    direct = client(box)
    password = Salesforce(
        username=box.username,
        password=box.password,
        security_token=box.security_token,
        session=box.requests_session(),
    )
    assert password.sf_instance == box.instance and password.session_id != box.session_id
    first = password.query("SELECT Id FROM Contact")

    box.expire_session()
    with pytest.raises(SalesforceExpiredSession) as raised:
        direct.query("SELECT Id FROM Contact LIMIT 1")
    assert raised.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert password.query("SELECT COUNT() FROM Contact")["totalSize"] == 2100  # re-logged in
    assert box.calls["POST /services/Soap/u/{soapVersion}"] == 2
    with pytest.raises(SalesforceMalformedRequest) as raised:
        password.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert raised.value.content == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        Salesforce(
            username=box.username,
            password="wrong",
            security_token="",
            session=box.requests_session(),
        )
    assert failed.value.code == "INVALID_LOGIN"


def test_injected_faults_answer_like_salesforces_edge(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    person = contact(sf, LastName="Fault")
    box.inject_faults(503, route="PATCH /services/data/{version}/composite/sobjects")
    with pytest.raises(SalesforceGeneralError) as raised:
        update(sf, {"id": person, "Title": "A"})
    assert raised.value.status == 503
    assert raised.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert box.store.record("Contact", person)["Title"] is None

    box.inject_faults("disconnect", after_commit=True)
    with pytest.raises(requests.ConnectionError):
        update(sf, {"id": person, "Title": "B"})
    assert box.store.record("Contact", person)["Title"] == "B"  # applied, answer lost
    assert [c.status for c in box.call_log[-2:]] == [503, 0]
    with pytest.raises(ValueError, match="unsupported fault status 429"):
        box.inject_faults(429)


# -- records and schema ---------------------------------------------------------------------


def test_seeded_people_and_the_recycle_bin(box: SalesforceSandbox, sf: Salesforce) -> None:
    leads = box.seed_contacts(40, seed=3, sobject="Lead")
    contacts = box.seed_contacts(40, seed=3)
    lead = box.store.record("Lead", leads[0])
    person = box.store.record("Contact", contacts[0])
    assert leads[0].startswith("00Q") and contacts[0].startswith("003")
    assert lead["Email"] == person["Email"] and lead["Company"]
    assert (
        SF_DATETIME.match(lead["CreatedDate"])
        and lead["LastModifiedDate"] >= lead["CreatedDate"]
        and lead["CreatedDate"] < "2025-07-01"
    )
    [row] = sf.query(format_soql("SELECT Account.Name FROM Contact WHERE Id = {i}", i=contacts[0]))[
        "records"
    ]
    assert row["Account"]["Name"] == lead["Company"]

    start = datetime.now(UTC) - timedelta(minutes=1)
    sf.Contact.delete(contacts[1])
    box.store.delete("Contact", contacts[2])
    deleted = sf.Contact.deleted(start, datetime.now(UTC) + timedelta(minutes=1))
    assert [d["id"] for d in deleted["deletedRecords"]] == contacts[1:3]
    with pytest.raises(SalesforceResourceNotFound) as raised:
        sf.Contact.get(contacts[1])
    assert raised.value.content == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}
    ]
    box.store.set_fields("Contact", contacts[0], {"Title": "Chief Person"})
    assert sf.Contact.get(contacts[0])["Title"] == "Chief Person"


def test_describe_reports_salesforce_types(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    types = {
        name: fields[name]["type"]
        for name in (
            "Id",
            "AccountId",
            "Email",
            "HasOptedOutOfEmail",
            "Employees__c",
            "Total_Revenue__c",
            "Last_Activity__c",
            "Last_Purchase_Date__c",
            "Lifecycle_Stage__c",
            "Phone",
        )
    }
    assert types == {
        "Id": "id",
        "AccountId": "reference",
        "Email": "email",
        "HasOptedOutOfEmail": "boolean",
        "Employees__c": "double",
        "Total_Revenue__c": "currency",
        "Last_Activity__c": "datetime",
        "Last_Purchase_Date__c": "date",
        "Lifecycle_Stage__c": "picklist",
        "Phone": "phone",
    }
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["LeadSource"]["restrictedPicklist"] is False
    assert sf.Lead.describe()["keyPrefix"] == "00Q"


def test_proxy_tunnels_login_hosts_for_clients_with_their_own_session(
    box: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", box.proxy_url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_path)  # overrides session.verify anyway
    session_id, instance = SalesforceLogin(
        username=box.username,
        password=box.password,
        security_token=box.security_token,
        domain="test",
        session=requests.Session(),
    )
    assert instance == box.instance
    sf = Salesforce(session_id=session_id, instance=instance, session=requests.Session())
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", timeout=5)
