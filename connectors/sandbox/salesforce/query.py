"""SOQL over REST: ``query``/``queryAll`` result pages, query locators, and record JSON.

Results come in batches of 2,000 by default (``Sforce-Query-Options: batchSize=N``, 200 to
2,000); a larger result opens a server-side cursor and the page carries ``nextRecordsUrl``
(``/services/data/vXX.X/query/01g...-2000``). Like Salesforce, the cursor is a snapshot taken
when the query ran, belongs to the session that ran it, and at most 10 stay open per user:
opening an eleventh drops the oldest. Using a dropped cursor, or one from another session, is
400 ``INVALID_QUERY_LOCATOR`` "invalid query locator" (captured from a real org).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.limits import ListingCut
from connectors.sandbox.salesforce import soql
from connectors.sandbox.salesforce.errors import RestError
from connectors.sandbox.salesforce.values import to_json
from connectors.sandbox.server import Request

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_BATCH = 2000
MAX_OPEN_CURSORS = 10
LOCATOR_PREFIX = "01g"
PEOPLE = frozenset({"Contact", "Lead"})
"""The objects a contact listing reads (what ``ListingCut`` cuts short)."""


def batch_size(request: Request) -> int:
    """``Sforce-Query-Options: batchSize=N`` clamped to 200..2,000 (Salesforce treats the value
    as a request, not a promise), else 2,000."""
    for option in (request.headers.get("Sforce-Query-Options") or "").split(","):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(value)))
    return DEFAULT_BATCH


def cut_short(listing_cut: ListingCut, bound: soql.BoundQuery, rows: list[Any],
              include_deleted: bool) -> list[Any]:
    """A live listing of people (REST or Bulk), ended early when a test cut it: the result holds
    only its first records. ``COUNT()`` and ``queryAll`` still see them all."""
    after = listing_cut.after
    if after is None or include_deleted or bound.count or bound.sobject not in PEOPLE:
        return rows
    return rows[:after]


def soql_error(error: soql.SoqlError, query: str) -> RestError:
    """A rejected query as Salesforce's 400 body."""
    return RestError(400, error.error_code, error.render(query))


def bind(query: str, source: soql.Source) -> soql.BoundQuery:
    """Parse and check ``query`` against ``source``; RestError with Salesforce's body."""
    try:
        bound = soql.bind(soql.parse(query), source)
    except soql.SoqlError as error:
        raise soql_error(error, query) from error
    seen: set[tuple[str, ...]] = set()
    for column in bound.columns:
        if column.path in seen:
            raise RestError(400, "MALFORMED_QUERY",
                            f"duplicate field selected: {'.'.join(column.path)}")
        seen.add(column.path)
    return bound


def render(bound: soql.BoundQuery, record: Any, version: str, api: str = "") -> dict[str, Any]:
    """One record as query results show it: ``attributes`` first, then the selected fields in
    SELECT order, a parent's fields nested under its relationship name (null without one).
    ``api`` is ``"tooling/"`` for Tooling API records (their URLs differ)."""
    source = bound.source
    rendered: dict[str, Any] = {"attributes": _attributes(record, version, api)}
    for column in bound.columns:
        if column.relationship is None:
            rendered[column.definition.name] = to_json(column.definition,
                                                       column.read(source, record))
            continue
        name = column.path[0]
        parent_id = source.value(record, column.relationship.name)
        parent = source.get(parent_id) if parent_id else None
        if parent is None:
            rendered[name] = None
            continue
        nested = rendered.get(name) or {"attributes": _attributes(parent, version, api)}
        nested[column.definition.name] = to_json(column.definition,
                                                 source.value(parent, column.definition.name))
        rendered[name] = nested
    return rendered


def _attributes(record: Any, version: str, api: str) -> dict[str, str]:
    return {"type": record.sobject,
            "url": f"/services/data/{version}/{api}sobjects/{record.sobject}/{record.id}"}


@dataclass
class _Cursor:
    session_id: str
    records: list[dict[str, Any]]
    batch: int
    endpoint: str


class QueryCursors:
    """Open query locators of the org's one API user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()

    def first_page(self, records: list[dict[str, Any]], *, session_id: str, batch: int,
                   endpoint: str, version: str, locator: str) -> dict[str, Any]:
        """The response to a query: everything, or the first batch and a new cursor."""
        if len(records) <= batch:
            return {"totalSize": len(records), "done": True, "records": records}
        with self._lock:
            self._cursors[locator] = _Cursor(session_id, records, batch, endpoint)
            while len(self._cursors) > MAX_OPEN_CURSORS:
                self._cursors.popitem(last=False)
        return self._page(locator, self._cursors[locator], 0, version)

    def next_page(self, locator_and_offset: str, *, session_id: str, endpoint: str,
                  version: str) -> dict[str, Any]:
        """The response to ``GET .../query/{locator}-{offset}``."""
        locator, _, offset = locator_and_offset.rpartition("-")
        with self._lock:
            cursor = self._cursors.get(locator)
        if (cursor is None or cursor.session_id != session_id or cursor.endpoint != endpoint
                or not offset.isdigit() or int(offset) > len(cursor.records)):
            raise RestError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator, cursor, int(offset), version)

    def _page(self, locator: str, cursor: _Cursor, offset: int,
              version: str) -> dict[str, Any]:
        end = offset + cursor.batch
        page: dict[str, Any] = {"totalSize": len(cursor.records),
                                "done": end >= len(cursor.records)}
        if not page["done"]:
            page["nextRecordsUrl"] = f"/services/data/{version}/{cursor.endpoint}/{locator}-{end}"
        page["records"] = cursor.records[offset:end]
        return page
