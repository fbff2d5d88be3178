"""The Salesforce sandbox's Bulk API 2.0: query results as CSV pages, ingest jobs' failed rows."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError

from connectors.sandbox import SalesforceSandbox
from tests.support.salesforce_rest import contact


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
