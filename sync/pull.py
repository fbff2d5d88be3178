"""Reading the CRM's current state: contacts page by page, and list members.

Each page is one retried call, so a dropped connection costs one page, not the pull. A pull
also notes the contacts the CRM merged into others (``Contact.merged_from``): those are gone
from the CRM even if a page read them before the merge, so the pull leaves them out, and a
caller that keeps state about contacts can ask for them (``merges``) to forget them too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

import pandas as pd

from connectors.base import Connector, ContactPage, DeletionPage, IdPage, ListRef
from connectors.capabilities import DeletionReading
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
    pages: Iterator[ContactPage],
    fields: Sequence[str],
    progress: ProgressSink,
    merges: dict[str, str] | None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Pages into a text frame (index = contact id) and the contacts' modification times.

    A contact seen twice (incremental pulls overlap) keeps its last copy. A contact another
    pulled one absorbed is dropped, and ``merges`` (when given) gets old id → surviving id.
    """
    rows: dict[str, dict[str, str | None]] = {}
    modified: dict[str, datetime | None] = {}
    absorbed: dict[str, str] = {}
    progress.start(PULL_STEP, None)
    for page in pages:
        for contact in page.contacts:
            rows.pop(contact.id, None)
            rows[contact.id] = contact.properties
            modified[contact.id] = contact.modified_at
            absorbed.update(dict.fromkeys(contact.merged_from, contact.id))
        progress.advance(PULL_STEP, len(page.contacts))
    progress.finish(PULL_STEP)
    for old in absorbed:
        rows.pop(old, None)
    if merges is not None:
        merges.update(_survivors(absorbed))
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


def _survivors(absorbed: Mapping[str, str]) -> dict[str, str]:
    """Each merged-away id and the record it ended up in."""
    return {old: _survivor(absorbed, old) for old in absorbed}


def _survivor(absorbed: Mapping[str, str], contact_id: str) -> str:
    """Where a merged-away id ended up: a record absorbed again later passes its ids on."""
    seen = {contact_id}
    while (contact_id := absorbed.get(contact_id, contact_id)) not in seen:
        seen.add(contact_id)
    return contact_id


def pull_contacts(
    connector: Connector,
    fields: Sequence[str],
    retrier: Retrier,
    progress: ProgressSink,
    *,
    merges: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Every contact with the requested fields, and when each was last modified.

    ``merges``, when given, is filled with each merged-away id and the pulled contact that
    absorbed it (see ``StateStore.absorb_merged``).
    """

    def fetch(cursor: str | None) -> ContactPage:
        return connector.read_contacts_page(fields, cursor)

    return _collect(iter_pages(fetch, retrier), fields, progress, merges)


def pull_changed_contacts(
    connector: Connector,
    fields: Sequence[str],
    since: datetime,
    retrier: Retrier,
    progress: ProgressSink,
    *,
    merges: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """The contacts modified since ``since``, de-duplicated, and when each was modified.

    ``merges`` as for ``pull_contacts``: a merge's new record carries the merge's time, so an
    incremental pull sees every merge made since ``since``.
    """

    def fetch(cursor: str | None) -> ContactPage:
        return connector.read_changed_contacts_page(fields, since, cursor)

    return _collect(iter_pages(fetch, retrier), fields, progress, merges)


def read_members(connector: Connector, list_ref: ListRef, retrier: Retrier) -> set[str]:
    """Every member id of the list."""

    def fetch(cursor: str | None) -> IdPage:
        return connector.read_list_members_page(list_ref, cursor)

    return {member for page in iter_pages(fetch, retrier) for member in page.ids}


def read_deleted(
    connector: DeletionReading,
    since: datetime,
    retrier: Retrier,
    *,
    merges: dict[str, str] | None = None,
) -> set[str]:
    """The ids of contacts the CRM says were deleted at or after ``since``.

    ``merges``, when given, is filled as by ``pull_contacts`` with those of them a merge
    deleted (``DeletionPage.merged_into``) and the record that absorbed each.
    """

    def fetch(cursor: str | None) -> IdPage:
        return connector.read_deleted_contacts_page(since, cursor)

    deleted: set[str] = set()
    merged_into: dict[str, str] = {}
    for page in iter_pages(fetch, retrier):
        deleted.update(page.ids)
        if isinstance(page, DeletionPage):
            merged_into.update(page.merged_into)
    if merges is not None:
        merges.update(_survivors(merged_into))
    return deleted
