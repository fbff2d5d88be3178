"""Reading HubSpot contacts: full pulls by the list endpoint (or by search over disjoint id
ranges, several at once), changed contacts by search (keyset paging on the id), deleted ones
from the archive, and the portal's count."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from connectors.base import Contact, ContactPage, IdPage, RateLimited, Transient
from connectors.hubspot.calls import HubSpotCalls
from connectors.hubspot.ranges import LISTING, IdRanges

MODIFIED_PROPERTY = "lastmodifieddate"
"""Contacts' modification time; other HubSpot objects call it ``hs_lastmodifieddate``."""
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
"""The ids a merge folded into a contact, ``;``-separated. A merge makes a new record (new id,
``lastmodifieddate`` = the merge) and the old ids leave every list and search result, so this
is the only trace of them a pull sees."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SEARCH_PAGE_SIZE = 200
OBJECT_ID_PROPERTY = "hs_object_id"
PARTITION_MIN_PAGES = 10
"""Search pages a part of a partitioned pull holds at least: fewer, and the ranges' last short
pages and the two searches that find the id bounds cost more than the parts save."""
RANGES_MIN_ROUND_TRIP_SECONDS = 0.04
"""A full pull adds searches over id ranges to the list endpoint's cursor only when a call's
round trip is at least this long: then one cursor, a page of 100 a round trip plus ~0.012 s to
read it, falls behind HubSpot's 19 calls a second, and the search bucket sits idle beside it.
Below it the cursor alone runs at the rate limit."""
SEARCH_MIN_INTERVAL_SECONDS = 0.22
"""Search has its own bucket of 5 requests a second per account and no rate-limit headers:
space calls 0.22 s apart, so six span 1.1 s and up to a tenth of a second of jitter between
sending and HubSpot's counting never puts six in one second, at 91% of the bucket (a
partitioned full pull is paced by it)."""
SEARCH_MAX_INTERVAL_SECONDS = 0.3
"""Where a search refused for rate (worse jitter than that) widens the spacing to, a quarter
at a time: 0.3 s leaves half a second of jitter."""


def _modified_at(properties: Mapping[str, str | None]) -> datetime | None:
    text = properties.get(MODIFIED_PROPERTY)
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _epoch_ms(moment: datetime) -> int:
    """Exact epoch milliseconds (``timestamp() * 1000`` can land a millisecond short)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def contact_record(contact_id: str, properties: dict[str, str | None]) -> Contact:
    merged = (properties.get(MERGED_IDS_PROPERTY) or "").split(";")
    return Contact(
        id=contact_id,
        properties=properties,
        modified_at=_modified_at(properties),
        merged_from=tuple(i for i in merged if i and i != contact_id),
    )


def _page_answer(action: str, answer: Any) -> dict[str, Any]:
    """A page's JSON, checked to be HubSpot's: an object whose ``results`` are records, each
    with a text id and an object of properties. A ``{}``, an HTML page or truncated JSON came
    from something between client and CRM: retried, never read as "no more contacts"."""
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or not all(_is_record(row) for row in results):
        raise Transient(f"HubSpot {action}: the answer was not HubSpot's JSON")
    return cast(dict[str, Any], answer)


def _is_record(row: Any) -> bool:
    return (
        isinstance(row, dict)
        and isinstance(row.get("id"), str)
        and isinstance(row.get("properties") or {}, dict)
    )


def _records(answer: dict[str, Any]) -> list[Contact]:
    """A checked page's contacts; every value as text, as the SDK's models hold them."""
    return [
        contact_record(
            row["id"],
            {
                name: None if value is None else str(value)
                for name, value in (row.get("properties") or {}).items()
            },
        )
        for row in answer["results"]
    ]


def _next_after(answer: dict[str, Any]) -> str | None:
    """The cursor of the page after this one, None on the last."""
    paging = answer.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    after = following.get("after") if isinstance(following, dict) else None
    return str(after) if after else None


def _filter(name: str, operator: str, value: int) -> dict[str, str]:
    return {"propertyName": name, "operator": operator, "value": str(value)}


class MinInterval:
    """Spaces calls at least ``seconds`` apart (thread-safe), for limits without headers."""

    def __init__(self, seconds: float, widest: float | None = None) -> None:
        self.narrowest = self.seconds = seconds
        self.widest = widest if widest is not None else seconds
        self._next = 0.0
        self._lock = threading.Lock()

    def widen(self) -> None:
        """Space calls a quarter further apart, up to ``widest``: the CRM refused one."""
        with self._lock:
            self.seconds = min(self.seconds * 1.25, self.widest)

    def narrow(self) -> None:
        """Space calls 2% closer, down to the spacing first set: the CRM took one. A refusal
        then costs about a dozen calls' worth of slower pace, not the rest of the pulls'."""
        with self._lock:
            self.seconds = max(self.seconds * 0.98, self.narrowest)

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.seconds
        if delay > 0:
            time.sleep(delay)


class ContactPulls:
    """The pulls of one connector, through its basic and search contact APIs."""

    def __init__(self, calls: HubSpotCalls, contacts_api: Any, search_api: Any) -> None:
        self._calls = calls
        self._contacts = contacts_api
        self._search = search_api
        self._search_pacer = MinInterval(SEARCH_MIN_INTERVAL_SECONDS, SEARCH_MAX_INTERVAL_SECONDS)
        self._ranges: IdRanges | None = None
        """The id ranges of the partitioned pull under way (one pull at a time)."""

    def read_page(self, fields: Sequence[str], cursor: str | None, limit: int) -> ContactPage:
        action = "read contacts"
        answer = self._calls.call_for_answer(
            action,
            self._contacts.get_page_with_http_info,
            limit=limit,
            after=cursor,
            properties=list(dict.fromkeys([*fields, MERGED_IDS_PROPERTY])),
            archived=False,
        )
        page = _page_answer(action, answer)
        return ContactPage(contacts=_records(page), next_cursor=_next_after(page))

    def count(self) -> int:
        """The portal's live contacts, by the ``total`` of an unfiltered one-result search (the
        list endpoint gives no total). The search index trails writes by a few moments, so a
        contact created just now may be missing from it: never the other way round."""
        return _total(self._searched("count contacts", {"limit": 1, "filterGroups": []}))

    def read_deleted_page(self, since: datetime, cursor: str | None, limit: int) -> IdPage:
        """Archived (deleted) contacts, from ``GET /crm/v3/objects/contacts?archived=true``,
        kept if ``archivedAt`` is at or after ``since``. HubSpot cannot filter that listing, so
        each page of the archive (kept 90 days) is read; one without an ``archivedAt`` counts."""
        data = self._calls.call(
            "read deleted contacts",
            self._contacts.get_page_with_http_info,
            limit=limit,
            after=cursor,
            properties=["hs_object_id"],
            archived=True,
        )
        next_page = data.paging.next if data.paging else None
        ids = [row.id for row in data.results if not (row.archived_at and row.archived_at < since)]
        return IdPage(ids=ids, next_cursor=next_page.after if next_page else None)

    def partitions(self, parts: int, round_trip: float | None) -> list[str] | None:
        """The parts of a full pull read at once: the list endpoint's cursor (``LISTING``),
        then up to ``parts`` disjoint ``hs_object_id`` ranges as ``"low:high"`` keys (low
        included, high excluded, either side open when empty), read by search from the top
        down until they meet the cursor (``connectors.hubspot.ranges``).

        Bounds come from the CRM: the lowest and highest ids, each by one search sorted on the
        id (``total`` says how many contacts lie between), cut into equal widths, which ids
        handed out in ascending order fill evenly enough. The first range starts below every
        id and the last has no upper end, so contacts created during the pull fall in one as
        they would on the list endpoint. None when a call's ``round_trip`` is short enough for
        one cursor to keep up with the rate limit, or too few contacts to be worth cutting.
        """
        self._ranges = None
        if round_trip is None or round_trip < RANGES_MIN_ROUND_TRIP_SECONDS:
            return None
        total, lowest = self._edge_id("ASCENDING")
        count = min(parts, -(-total // SEARCH_PAGE_SIZE) // PARTITION_MIN_PAGES)
        if count < 2 or lowest is None:
            return None
        _, highest = self._edge_id("DESCENDING")
        if highest is None or highest - lowest + 1 < count:
            return None
        width = (highest - lowest + 1) / count
        lows = [None] + [lowest + round(width * part) for part in range(1, count)]
        self._ranges = IdRanges(lows)
        bounds = ["" if low is None else str(low) for low in lows] + [""]
        return [LISTING] + [f"{low}:{high}" for low, high in zip(bounds, bounds[1:], strict=False)]

    def partition_wanted(self, partition: str) -> bool:
        """Whether a part is still to be read now that its turn has come: a range the cursor
        has reached is read by the cursor."""
        if partition == LISTING or self._ranges is None:
            return True
        low = partition.partition(":")[0]
        return self._ranges.claim(self._ranges.lows.index(int(low) if low else None))

    def read_partition_page(
        self, fields: Sequence[str], partition: str, cursor: str | None, page_size: int
    ) -> ContactPage:
        """One page of a part of ``partitions``.

        The cursor's page is a page of the list endpoint less the contacts of ranges being
        searched; it ends early once every contact above it is being searched. A range's page
        is a search sorted on the id, each page a fresh query for ids above the last one read,
        so a range of any size pages on past search's 10,000 results a query. The search index
        trails writes by a few moments: a contact written just before may read as it was (the
        next run reads it again)."""
        if partition == LISTING:
            return self._listing_page(fields, cursor, page_size)
        low, _, high = partition.partition(":")
        filters = [_filter(OBJECT_ID_PROPERTY, "LT", int(high))] if high else []
        after_id = int(cursor) if cursor else int(low or 1) - 1
        return self._keyset_page("search contacts", fields, filters, after_id)

    def _listing_page(self, fields: Sequence[str], cursor: str | None, limit: int) -> ContactPage:
        page = self.read_page(fields, cursor, limit)
        if self._ranges is None:
            return page
        kept, done = self._ranges.keep([int(contact.id) for contact in page.contacts])
        contacts = [contact for contact, keep in zip(page.contacts, kept, strict=True) if keep]
        return ContactPage(contacts=contacts, next_cursor=None if done else page.next_cursor)

    def read_changed_page(
        self, fields: Sequence[str], since: datetime, cursor: str | None
    ) -> ContactPage:
        """Contacts modified since ``since``, by ascending id, each page a fresh query for ids
        above the last one read (keyset paging; the cursor is that id).

        Not an offset into one long result sorted by modification time: a contact edited
        mid-pull moves to the end of that order, and every offset past it then skips one
        contact. Ids never move, a fresh query never meets search's 10,000-result window, and
        no page re-reads another's contacts. A contact edited during the pull after its id
        was passed is read by the next run: the watermark reaches back past the pull's start.
        """
        since_filter = _filter(MODIFIED_PROPERTY, "GTE", _epoch_ms(since))
        after_id = int(cursor) if cursor else 0
        return self._keyset_page("search changed contacts", fields, [since_filter], after_id)

    def _keyset_page(
        self, action: str, fields: Sequence[str], filters: list[dict[str, str]], after_id: int
    ) -> ContactPage:
        """The first search page of the contacts matching ``filters`` with ids above
        ``after_id``, by ascending id; the cursor of the next is the page's last id."""
        body = {
            "filterGroups": [{"filters": [*filters, _filter(OBJECT_ID_PROPERTY, "GT", after_id)]}],
            "sorts": [{"propertyName": OBJECT_ID_PROPERTY, "direction": "ASCENDING"}],
            "properties": sorted({*fields, MODIFIED_PROPERTY, MERGED_IDS_PROPERTY}),
            "limit": SEARCH_PAGE_SIZE,
        }
        answer = self._searched(action, body)
        contacts = _records(answer)
        has_more = _next_after(answer) is not None and bool(contacts)
        return ContactPage(contacts=contacts, next_cursor=contacts[-1].id if has_more else None)

    def _edge_id(self, direction: str) -> tuple[int, int | None]:
        """The live contacts' count and their lowest (``ASCENDING``) or highest id."""
        body = {
            "limit": 1,
            "filterGroups": [],
            "sorts": [{"propertyName": OBJECT_ID_PROPERTY, "direction": direction}],
            "properties": [OBJECT_ID_PROPERTY],
        }
        answer = self._searched("find contact ids", body)
        results = answer["results"]
        return _total(answer), int(results[0]["id"]) if results else None

    def _searched(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """One search's checked JSON, spaced within the search bucket; a refusal for rate
        widens the spacing (the retry is the sync's), each answer narrows it back."""
        self._search_pacer.wait()
        try:
            answer = self._calls.call_for_answer(
                action, self._search.do_search_with_http_info, body
            )
        except RateLimited:
            self._search_pacer.widen()
            raise
        self._search_pacer.narrow()
        return _page_answer(action, answer)


def _total(answer: dict[str, Any]) -> int:
    """A search's count of the records matching it; a search answer without one is not
    HubSpot's."""
    total = answer.get("total")
    if not isinstance(total, int) or isinstance(total, bool):
        raise Transient("HubSpot search: the answer had no total")
    return total
