"""Reading HubSpot contacts: full pulls by the list endpoint, changed contacts by search
(keyset paging on the id), deleted ones from the archive, and the portal's count."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Contact, ContactPage, IdPage
from connectors.hubspot.calls import HubSpotCalls

MODIFIED_PROPERTY = "lastmodifieddate"
"""Contacts' modification time; other HubSpot objects call it ``hs_lastmodifieddate``."""
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
"""The ids a merge folded into a contact, ``;``-separated. A merge makes a new record (new id,
``lastmodifieddate`` = the merge) and the old ids leave every list and search result, so this
is the only trace of them a pull sees."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SEARCH_PAGE_SIZE = 200
OBJECT_ID_PROPERTY = "hs_object_id"
SEARCH_MIN_INTERVAL_SECONDS = 0.25
"""Search has its own bucket of 5 requests a second per account and no rate-limit headers:
space calls 1/4 s apart, so that even a tenth of a second of scheduling jitter on a busy host
never puts six in one second."""


def _modified_at(properties: Mapping[str, str | None]) -> datetime | None:
    text = properties.get(MODIFIED_PROPERTY)
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _epoch_ms(moment: datetime) -> int:
    """Exact epoch milliseconds (``timestamp() * 1000`` can land a millisecond short)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def contact_record(row: Any) -> Contact:
    properties = dict(row.properties or {})
    merged = (properties.get(MERGED_IDS_PROPERTY) or "").split(";")
    return Contact(
        id=row.id,
        properties=properties,
        modified_at=_modified_at(properties),
        merged_from=tuple(i for i in merged if i and i != row.id),
    )


def _filter(name: str, operator: str, value: int) -> dict[str, str]:
    return {"propertyName": name, "operator": operator, "value": str(value)}


class MinInterval:
    """Spaces calls at least ``seconds`` apart (thread-safe), for limits without headers."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0
        self._lock = threading.Lock()

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
        self._search_pacer = MinInterval(SEARCH_MIN_INTERVAL_SECONDS)

    def read_page(self, fields: Sequence[str], cursor: str | None, limit: int) -> ContactPage:
        data = self._calls.call(
            "read contacts",
            self._contacts.get_page_with_http_info,
            limit=limit,
            after=cursor,
            properties=list(dict.fromkeys([*fields, MERGED_IDS_PROPERTY])),
            archived=False,
        )
        next_page = data.paging.next if data.paging else None
        return ContactPage(
            contacts=[contact_record(row) for row in data.results],
            next_cursor=next_page.after if next_page else None,
        )

    def count(self) -> int:
        """The portal's live contacts, by the ``total`` of an unfiltered one-result search (the
        list endpoint gives no total). The search index trails writes by a few moments, so a
        contact created just now may be missing from it: never the other way round."""
        self._search_pacer.wait()
        body = {"limit": 1, "filterGroups": []}
        data = self._calls.call("count contacts", self._search.do_search_with_http_info, body)
        return int(data.total)

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
        after_id = int(cursor) if cursor else 0
        body = {
            "filterGroups": [{"filters": [
                _filter(MODIFIED_PROPERTY, "GTE", _epoch_ms(since)),
                _filter(OBJECT_ID_PROPERTY, "GT", after_id),
            ]}],
            "sorts": [{"propertyName": OBJECT_ID_PROPERTY, "direction": "ASCENDING"}],
            "properties": sorted({*fields, MODIFIED_PROPERTY, MERGED_IDS_PROPERTY}),
            "limit": SEARCH_PAGE_SIZE,
        }
        self._search_pacer.wait()
        action = "search changed contacts"
        data = self._calls.call(action, self._search.do_search_with_http_info, body)
        contacts = [contact_record(row) for row in data.results]
        has_more = bool(data.paging and data.paging.next) and bool(contacts)
        return ContactPage(contacts=contacts, next_cursor=contacts[-1].id if has_more else None)
