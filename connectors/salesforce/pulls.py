"""Reading Salesforce contacts (or leads): full pulls by REST query pages ordered by Id, or a
Bulk API 2.0 query job above ``bulk_threshold``; changes and deletions since a time by
``SystemModstamp``, in ascending order, so the sync may save their cursor mid-run.

A Bulk 2.0 result page is downloaded while the one before it is parsed and handed on
(``BulkPrefetch``): a big pull then waits on the latency once, not once a page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from simple_salesforce import format_soql

from connectors.base import ContactPage, DeletionPage, FieldType
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.paging import (
    BulkCursor,
    Cursor,
    KeyedQuery,
    RestCursor,
    bulk_page,
    decode,
    encode,
    rest_page,
    where_clause,
)
from connectors.salesforce.records import MODIFIED_FIELD, contact_from_csv, contact_from_json
from connectors.salesforce.settings import SalesforceSettings

QUERY_BATCH_SIZE = 2_000
"""Records a REST query page holds (Salesforce's default and maximum batch size)."""
BULK_PAGE_SIZE = 10_000
"""Records a page of a Bulk API 2.0 query result holds: the unit of work of big pulls."""
SOQL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""A field of the object itself: relationship paths (``Account.Name``) are not read."""
FRESH_COUNT_SECONDS = 60.0
"""How long a count taken just before a pull still chooses its kind (REST or Bulk)."""
MASTER_RECORD_FIELD = "MasterRecordId"
"""On a Contact or Lead a merge deleted: the record it was merged into."""


def select_list(fields: Sequence[str]) -> tuple[str, ...]:
    """Id and SystemModstamp, then the requested fields once each: SOQL refuses duplicates,
    and since field names go into the query text they must be plain API names."""
    for field in fields:
        if not SOQL_NAME.fullmatch(field):
            raise ValueError(f"not a Salesforce field name: {field!r}")
    unique: dict[str, str] = {}
    for field in ("Id", MODIFIED_FIELD, *fields):
        unique.setdefault(field.lower(), field)
    return tuple(unique.values())


BulkRows = tuple[list[dict[str, str]], BulkCursor | None]


class BulkPrefetch:
    """The next page of a Bulk 2.0 result, downloaded on a thread of its own.

    Each page read starts the download of the page after it, so one call of the sync still
    makes one request and the run's pacing counts it; only the waiting overlaps. A download
    that failed raises when its page is asked for, and the retry of that page downloads it
    again; a page asked for out of order (a new pull) is downloaded as usual.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: tuple[BulkCursor, Future[BulkRows]] | None = None

    def take(
        self, cursor: BulkCursor | None, fetch: Callable[[BulkCursor | None], BulkRows]
    ) -> BulkRows:
        """The page at ``cursor``: the one downloaded ahead if it is that one, else fetched."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            if cursor is not None and ahead[0] == cursor:
                return ahead[1].result()
            wait([ahead[1]])  # left by a pull that stopped: the client is not shared
        return fetch(cursor)

    def start(
        self, cursor: BulkCursor | None, fetch: Callable[[BulkCursor | None], BulkRows]
    ) -> None:
        """Download the page at ``cursor`` (None: the result is read) while the caller works."""
        if cursor is None:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="segsync-bulk")
        self._ahead = (cursor, self._pool.submit(fetch, cursor))

    def close(self) -> None:
        """Wait for a download under way (the client is not shared across threads) and stop."""
        self._ahead = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class ContactPulls:
    """The pulls of one connector. ``live`` are the conditions of the records it syncs (a
    Lead sync leaves converted leads out); ``field_types`` gives the object's field types by
    lower-case name, which reading Bulk CSV (all text) needs."""

    def __init__(
        self,
        client: SalesforceClient,
        settings: SalesforceSettings,
        live: tuple[str, ...],
        field_types: Callable[[], dict[str, FieldType]],
    ) -> None:
        self.client = client
        self.settings = settings
        self.sobject = settings.object
        self.live = live
        self._field_types = field_types
        self._fresh_count: tuple[int, float] | None = None
        self.prefetch = BulkPrefetch()

    def read_page(self, fields: Sequence[str], cursor: str | None) -> ContactPage:
        """A REST query page, or a Bulk API 2.0 page when the pull started above the threshold
        (counted on the first page; the cursor then says which kind the pull is)."""
        select = select_list(fields)
        position = decode(cursor)
        if isinstance(position, RestCursor) or (
            position is None and self._pull_count() <= self.settings.bulk_threshold
        ):
            query = KeyedQuery(self.sobject, select, where=self.live)
            return self._rest_contacts(query, fields, position)
        return self._bulk_contacts(select, fields, position)

    def count(self) -> int:
        """The records a full pull lists, by ``SELECT COUNT()`` with the pull's own filter.

        The sync counts right before a full pull; the pull's first page then takes this count
        to choose REST or Bulk instead of counting again.
        """
        count = self._count()
        self._fresh_count = (count, time.monotonic())
        return count

    def _pull_count(self) -> int:
        """The count that chooses REST or Bulk for a pull starting now: the one just taken by
        ``count`` when it is at most ``FRESH_COUNT_SECONDS`` old, else a new one."""
        fresh, self._fresh_count = self._fresh_count, None
        if fresh is not None and time.monotonic() - fresh[1] <= FRESH_COUNT_SECONDS:
            return fresh[0]
        return self._count()

    def read_deleted_page(self, since: datetime, cursor: str | None) -> DeletionPage:
        """Records in the recycle bin deleted since ``since`` (with the incremental overlap):
        ``queryAll`` with ``IsDeleted = true``, and ``SystemModstamp``, which a delete sets.
        Chosen over ``sobjects/{type}/deleted`` because it pages like every other query and
        takes any start, where that endpoint refuses a window older than the bin's 15 days.

        A merge's losing records are deleted too, with ``MasterRecordId`` set to the record
        they were merged into, which took over their campaign members (``merge()`` in the SOAP
        API reference, which points to ``queryAll`` for the records a merge deleted; Apex
        "Triggers and Merge Statements" for ``MasterRecordId``): the page names those in
        ``merged_into``."""
        query = KeyedQuery(
            self.sobject,
            select_list((MASTER_RECORD_FIELD,)),
            key=MODIFIED_FIELD,
            where=(
                "IsDeleted = true",
                format_soql(f"{MODIFIED_FIELD} >= {{}}", self._since(since)),
            ),
            include_deleted=True,
        )
        records, next_cursor = rest_page(
            self.client, f"read deleted {self.sobject}s", query, decode(cursor)
        )
        return DeletionPage(
            ids=[str(record["Id"]) for record in records],
            next_cursor=encode(next_cursor),
            merged_into={
                str(record["Id"]): str(record[MASTER_RECORD_FIELD])
                for record in records
                if record.get(MASTER_RECORD_FIELD)
            },
        )

    def _since(self, since: datetime) -> datetime:
        """Where a query for changes since ``since`` starts: ``incremental_overlap_seconds``
        earlier, since ``SystemModstamp`` is set at commit and a long transaction lands late."""
        return since - timedelta(seconds=self.settings.incremental_overlap_seconds)

    def read_changed_page(
        self, fields: Sequence[str], since: datetime, cursor: str | None
    ) -> ContactPage:
        query = KeyedQuery(
            self.sobject,
            select_list(fields),
            key=MODIFIED_FIELD,
            where=(format_soql(f"{MODIFIED_FIELD} >= {{}}", self._since(since)), *self.live),
        )
        return self._rest_contacts(query, fields, decode(cursor))

    def _count(self) -> int:
        result = self.client.rest(
            f"count {self.sobject}s",
            "query/",
            params={"q": f"SELECT COUNT() FROM {self.sobject}{where_clause(self.live)}"},
        )
        return int(result["totalSize"])

    def _rest_contacts(
        self, query: KeyedQuery, fields: Sequence[str], cursor: Cursor | None
    ) -> ContactPage:
        records, next_cursor = rest_page(
            self.client, f"read {self.sobject}s", query, cursor, fields
        )
        contacts = [contact_from_json(record, fields) for record in records]
        return ContactPage(contacts=contacts, next_cursor=encode(next_cursor))

    def _bulk_contacts(
        self, select: Sequence[str], fields: Sequence[str], cursor: BulkCursor | None
    ) -> ContactPage:
        soql = f"SELECT {', '.join(select)} FROM {self.sobject}{where_clause(self.live)}"

        def fetch(at: BulkCursor | None) -> BulkRows:
            action = f"bulk-read {self.sobject}s"
            return bulk_page(self.client, action, self.sobject, soql, at, BULK_PAGE_SIZE, fields)

        rows, next_cursor = self.prefetch.take(cursor, fetch)
        types = self._field_types()  # before the next download: the client is not shared
        self.prefetch.start(next_cursor, fetch)
        contacts = [contact_from_csv(row, fields, types) for row in rows]
        return ContactPage(contacts=contacts, next_cursor=encode(next_cursor))
