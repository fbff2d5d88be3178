"""The Salesforce sandbox's sObject Collections: per-record results and errors, in order."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce.ids import normalise
from tests.support.salesforce_rest import contact, error, update


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
