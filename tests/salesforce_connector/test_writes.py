"""Salesforce connector writes: batches through sObject Collections and the Bulk API, one
result per record (pinned with ``responses``)."""

from __future__ import annotations

import csv
import io

import pytest
import responses

from connectors.base import PropertyWrite, WriteResult
from connectors.salesforce import SalesforceConnector
from tests.support.salesforce_api import API, body


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
