"""Reading the CRM's current state: contacts page by page, and list members.

Each page is one retried call, so a dropped connection costs one page, not the pull.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

import pandas as pd

from connectors.base import Connector, ContactPage, IdPage, ListRef
from sync.progress import ProgressSink
from sync.retry import Retrier

PULL_STEP = "Pulling contacts"


class _Page(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


P = TypeVar("P", bound=_Page)


def iter_pages(fetch: Callable[[str | None], P], retrier: Retrier) -> Iterator[P]:
    """Follow cursors from the first page to the last, retrying each page on its own."""
    cursor: str | None = None
    while True:
        page = retrier.call(fetch, cursor)
        yield page
        cursor = page.next_cursor
        if cursor is None:
            return


def _collect(
    pages: Iterator[ContactPage], fields: Sequence[str], progress: ProgressSink
) -> tuple[pd.DataFrame, pd.Series]:
    """Pages into a text frame (index = contact id) and the contacts' modification times.

    A contact seen twice (incremental pulls overlap) keeps its last copy.
    """
    rows: dict[str, dict[str, str | None]] = {}
    modified: dict[str, datetime | None] = {}
    progress.start(PULL_STEP, None)
    for page in pages:
        for contact in page.contacts:
            rows.pop(contact.id, None)
            rows[contact.id] = contact.properties
            modified[contact.id] = contact.modified_at
        progress.advance(PULL_STEP, len(page.contacts))
    progress.finish(PULL_STEP)
    frame = (
        pd.DataFrame.from_records(
            list(rows.values()), index=pd.Index(list(rows), dtype=object, name="id")
        )
        if rows
        else pd.DataFrame(index=pd.Index([], dtype=object, name="id"))
    )
    frame = frame.reindex(columns=list(fields)).astype(object)
    times = pd.Series([modified[i] for i in rows], index=frame.index, dtype="datetime64[ns, UTC]")
    return frame.where(frame.notna(), None), times


def pull_contacts(
    connector: Connector, fields: Sequence[str], retrier: Retrier, progress: ProgressSink
) -> tuple[pd.DataFrame, pd.Series]:
    """Every contact with the requested fields, and when each was last modified."""

    def fetch(cursor: str | None) -> ContactPage:
        return connector.read_contacts_page(fields, cursor)

    return _collect(iter_pages(fetch, retrier), fields, progress)


def pull_changed_contacts(
    connector: Connector,
    fields: Sequence[str],
    since: datetime,
    retrier: Retrier,
    progress: ProgressSink,
) -> tuple[pd.DataFrame, pd.Series]:
    """The contacts modified since ``since``, de-duplicated, and when each was modified."""

    def fetch(cursor: str | None) -> ContactPage:
        return connector.read_changed_contacts_page(fields, since, cursor)

    return _collect(iter_pages(fetch, retrier), fields, progress)


def read_members(connector: Connector, list_ref: ListRef, retrier: Retrier) -> set[str]:
    """Every member id of the list."""

    def fetch(cursor: str | None) -> IdPage:
        return connector.read_list_members_page(list_ref, cursor)

    return {member for page in iter_pages(fetch, retrier) for member in page.ids}
