"""Pages of query results and the cursors that fetch the next one.

A REST page continues with ``query_more`` on the ``nextRecordsUrl``, but that query locator
belongs to the session that opened it and expires after 15 minutes unused
(``INVALID_QUERY_LOCATOR``). So every REST query is ordered by a key, the cursor carries the
key of the last record returned, and a page whose locator is gone (after a re-login, or a
cursor kept across runs) restarts the query after that key instead of failing the pull.

A Bulk API 2.0 cursor is the job id and the ``Sforce-Locator`` of the next page, which any
session of the same user can read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from simple_salesforce import Salesforce, format_soql
from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import SalesforceError

from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.errors import INVALID_QUERY_LOCATOR, error_code
from connectors.salesforce.records import MODIFIED_FIELD, parse_datetime

BULK_POLL_SECONDS = 1.0
"""How often a Bulk API 2.0 query job is polled until it completes."""


@dataclass(frozen=True)
class RestCursor:
    """The locator of the next REST page and the key of the last record returned."""

    next_url: str
    after: str


@dataclass(frozen=True)
class BulkCursor:
    """A Bulk API 2.0 query job and the locator of its next result page."""

    job_id: str
    locator: str


Cursor = RestCursor | BulkCursor


def encode(cursor: Cursor | None) -> str | None:
    """The cursor as the opaque text callers keep; None ends the pull."""
    if cursor is None:
        return None
    kind = "bulk" if isinstance(cursor, BulkCursor) else "rest"
    return json.dumps({"kind": kind, **asdict(cursor)}, separators=(",", ":"))


def decode(text: str | None) -> Cursor | None:
    """The cursor a page handed out; None starts a pull."""
    if text is None:
        return None
    data = json.loads(text)
    kind = data.pop("kind")
    return BulkCursor(**data) if kind == "bulk" else RestCursor(**data)


def where_clause(conditions: Sequence[str]) -> str:
    """`` WHERE a AND b``, or nothing when there are no conditions."""
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


@dataclass(frozen=True)
class KeyedQuery:
    """``SELECT <fields> FROM <sobject> WHERE <where> ORDER BY <key>``, restartable by key.

    ``key`` is ``Id`` (restart strictly after it) or ``SystemModstamp`` (restart at it: records
    sharing that time are read again, which incremental callers de-duplicate).
    ``include_deleted`` runs it with ``queryAll``, which also reads the recycle bin.
    """

    sobject: str
    fields: tuple[str, ...]
    key: str = "Id"
    where: tuple[str, ...] = ()
    include_deleted: bool = False

    def soql(self, after: str | None = None) -> str:
        conditions = list(self.where)
        if after is not None:
            if self.key == MODIFIED_FIELD:
                conditions.append(format_soql(f"{self.key} >= {{}}", parse_datetime(after)))
            else:
                conditions.append(format_soql(f"{self.key} > {{}}", after))
        where = where_clause(conditions)
        return f"SELECT {', '.join(self.fields)} FROM {self.sobject}{where} ORDER BY {self.key} ASC"


def rest_page(
    client: SalesforceClient,
    action: str,
    query: KeyedQuery,
    cursor: Cursor | None,
    fields: Sequence[str] = (),
) -> tuple[list[Mapping[str, Any]], RestCursor | None]:
    """One page of a REST query: the first, the next by locator, or a restart after the key."""
    if isinstance(cursor, BulkCursor):
        raise TypeError("a bulk cursor cannot continue a REST query")

    def restart(sf: Salesforce) -> Any:
        return sf.query(
            query.soql(cursor.after if cursor else None), include_deleted=query.include_deleted
        )

    def more(sf: Salesforce) -> Any:
        assert cursor is not None
        try:
            return sf.query_more(
                cursor.next_url, identifier_is_url=True, include_deleted=query.include_deleted
            )
        except SalesforceError as exc:
            if error_code(exc) != INVALID_QUERY_LOCATOR:
                raise
            return restart(sf)

    result = client.call(action, more if cursor else restart, fields=fields, after_login=restart)
    records = result["records"]
    if result.get("done", True) or not records:
        return records, None
    return records, RestCursor(result["nextRecordsUrl"], str(records[-1][query.key]))


def bulk_page(
    client: SalesforceClient,
    action: str,
    sobject: str,
    soql: str,
    cursor: BulkCursor | None,
    page_size: int,
    fields: Sequence[str] = (),
) -> tuple[list[dict[str, str]], BulkCursor | None]:
    """One page of a Bulk API 2.0 query, starting the job (and waiting for it) on the first.

    simple-salesforce's public ``bulk2.<object>.query`` is a generator that hides the job id
    and locator, so a page could not be fetched again after a failure; its own client
    (``SFBulk2Type._client``, the object that generator drives) exposes both.
    """

    def fetch(sf: Salesforce) -> tuple[str, Mapping[str, Any]]:
        jobs = getattr(sf.bulk2, sobject)._client
        if cursor is None:
            job_id = jobs.create_job(Operation.query, soql)["id"]
            jobs.wait_for_job(job_id, True, BULK_POLL_SECONDS)
        else:
            job_id = cursor.job_id
        return job_id, jobs.get_query_results(job_id, cursor.locator if cursor else "", page_size)

    job_id, result = client.call(action, fetch, fields=fields)
    rows = list(csv.DictReader(io.StringIO(result["records"])))
    locator = result["locator"]
    return rows, BulkCursor(job_id, locator) if locator else None
