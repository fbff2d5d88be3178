"""Writing segsync's fields on Salesforce records: sObject Collections (200 a call, one result
per record), or Bulk API 2.0 ingest jobs for write-backs far above ``bulk_threshold``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from simple_salesforce import Salesforce

from connectors.base import AuthFailed, PropertyWrite, Transient, WriteResult
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.errors import bulk_record_result, named_field, record_result
from connectors.salesforce.paging import BULK_POLL_SECONDS
from connectors.salesforce.records import bulk_row, sobject_row

COLLECTION_SIZE = 200
"""Records one sObject Collections call takes."""


def write_records(
    client: SalesforceClient, sobject: str, writes: Sequence[PropertyWrite]
) -> list[WriteResult]:
    """One sObject Collections update with ``allOrNone`` off: each record stands alone."""
    if not writes:
        return []
    names = sorted({name for write in writes for name in write.values})
    body = {
        "allOrNone": False,
        "records": [sobject_row(sobject, write) for write in writes],
    }
    results = client.rest(
        f"update {sobject}s", "composite/sobjects", method="PATCH", body=body, fields=names
    )
    require_one_result_each(f"update {sobject}s", writes, results)
    hidden = named_field((error for r in results for error in r.get("errors") or ()), names)
    if hidden is not None:  # every record would fail alike: a permission, not bad data
        raise AuthFailed(client.grant.message(hidden))
    return [record_result(w.contact_id, r) for w, r in zip(writes, results, strict=True)]


def write_records_bulk(
    client: SalesforceClient, sobject: str, writes: Sequence[PropertyWrite]
) -> list[WriteResult]:
    """Write any number of records with Bulk API 2.0 ingest jobs; one result per record.

    For write-backs far above ``bulk_threshold``: the job does not fail on bad records, so
    the failed ones are read back per job. Each job counts toward the org's daily limit of
    ingest jobs, and the call waits for every job to finish.
    """
    if not writes:
        return []
    rows = [bulk_row(write) for write in writes]
    names = sorted({name for write in writes for name in write.values})

    def run(sf: Salesforce) -> list[dict[str, str]]:
        jobs = getattr(sf.bulk2, sobject)
        outcomes = jobs.update(records=rows, wait=BULK_POLL_SECONDS)
        return [
            failed
            for outcome in outcomes
            if outcome["numberRecordsFailed"]
            for failed in csv.DictReader(io.StringIO(jobs.get_failed_records(outcome["job_id"])))
        ]

    failed_rows = client.call(f"bulk-update {sobject}s", run, fields=names)
    failed = {row["Id"]: bulk_record_result(row["Id"], row["sf__Error"]) for row in failed_rows}
    return [failed.get(w.contact_id) or WriteResult(w.contact_id, ok=True) for w in writes]


def require_one_result_each(action: str, sent: Sequence[object], results: Any) -> None:
    """A Collections answer confirms a record only by its place in an array as long as the
    request's records: anything else confirms nothing, and the call is retried."""
    if not isinstance(results, list) or len(results) != len(sent):
        raise Transient(
            f"Salesforce {action}: the answer does not have one result for each of the "
            f"{len(sent)} records; nothing confirmed"
        )
