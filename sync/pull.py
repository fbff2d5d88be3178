"""Reading the CRM's current state: contacts page by page, and list members.

Each page is one retried call, so a dropped connection costs one page, not the pull. A pull
also notes the contacts the CRM merged into others (``Contact.merged_from``): those are gone
from the CRM even if a page read them before the merge, so the pull leaves them out, and a
caller that keeps state about contacts can ask for them (``merges``) to forget them too.

Over the internet a page takes a round trip, so one cursor followed page after page reads at
the latency's pace: a connector that cuts a full pull into disjoint parts
(``connectors.capabilities.PartitionedReading``) has them read on ``limits.max_concurrency``
threads, every page still paced and retried by the run's one gateway, and the pull is the same
as one in sequence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Protocol, TypeVar

import pandas as pd

from connectors.base import Connector, ContactPage, DeletionPage, IdPage, ListRef
from connectors.capabilities import DeletionReading, PartitionedReading
from sync.progress import ProgressSink
from sync.retry import Retrier
from sync.segmentation import text_frame

PULL_STEP = "Pulling contacts"
PARTS_PER_WORKER = 4
"""Parts a partitioned pull asks for per call in flight: parts of unequal size then still keep
every thread busy until the end."""


class _Page(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


P = TypeVar("P", bound=_Page)
T = TypeVar("T")
R = TypeVar("R")


def in_parallel(call: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``call`` of each item, on up to ``workers`` threads, the results in the items' order.

    For reads that each wait a round trip: the run's gateway paces them together, so calls
    in flight reach the CRM's rate where one at a time would wait on the latency.
    """
    workers = min(workers, len(items))
    if workers <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="segsync-read") as pool:
        return list(pool.map(call, items))


def iter_pages(fetch: Callable[[str | None], P], retrier: Retrier) -> Iterator[P]:
    """Follow cursors from the first page to the last, retrying each page on its own."""
    cursor: str | None = None
    while True:
        page = retrier.call(fetch, cursor)
        yield page
        cursor = page.next_cursor
        if cursor is None:
            return


Rows = dict[str, dict[str, str | None]]
"""Contacts' values as pulled, by contact id: each CRM field sent, a string or None."""


def _collect(
    pages: Iterator[ContactPage], progress: ProgressSink, merges: dict[str, str] | None
) -> tuple[Rows, pd.Series]:
    """Pages into the contacts' values (by contact id, in the order read) and their
    modification times (a series with the same ids, in the same order).

    A contact seen twice (incremental pulls overlap) keeps its last copy. A contact another
    pulled one absorbed is dropped, and ``merges`` (when given) gets old id → surviving id.
    """
    rows: Rows = {}
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
    times = pd.Series(
        [modified[i] for i in rows],
        index=pd.Index(list(rows), dtype=object, name="id"),
        dtype="datetime64[ns, UTC]",
    )
    return rows, times


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
    """Every contact with the requested fields, as a text frame (index = contact id), and when
    each was last modified. ``merges`` as for ``pull_contact_rows``."""
    rows, times = pull_contact_rows(connector, fields, retrier, progress, merges=merges)
    frame = text_frame(rows, fields)
    frame.index.name = "id"
    return frame, times


def pull_contact_rows(
    connector: Connector,
    fields: Sequence[str],
    retrier: Retrier,
    progress: ProgressSink,
    *,
    merges: dict[str, str] | None = None,
) -> tuple[Rows, pd.Series]:
    """Every contact's values as pulled, and when each was last modified: a caller that keeps
    the values by contact (the state store) takes them as they are, with no frame between.

    ``merges``, when given, is filled with each merged-away id and the pulled contact that
    absorbed it (see ``StateStore.absorb_merged``).
    """

    def fetch(cursor: str | None) -> ContactPage:
        return connector.read_contacts_page(fields, cursor)

    workers = connector.limits.max_concurrency
    if isinstance(connector, PartitionedReading) and workers > 1:
        parts = workers * PARTS_PER_WORKER
        # Retried, but holding no place with the pacer: most runs' answer takes no request
        # (see ``PartitionedReading``), and a place held for nothing counts against the run's
        # share of the daily budget.
        partitions = retrier.call(connector.contact_partitions, parts, requests=0)
        if partitions:
            pages = _partitioned_pages(connector, fields, partitions, retrier, workers)
            return _collect(pages, progress, merges)
    return _collect(iter_pages(fetch, retrier), progress, merges)


def _partitioned_pages(
    connector: PartitionedReading,
    fields: Sequence[str],
    partitions: Sequence[str],
    retrier: Retrier,
    workers: int,
) -> Iterator[ContactPage]:
    """Every page of every part, the parts read on up to ``workers`` threads and handed on in
    the connector's order, so the pull comes out as one read in sequence would. The first part
    starts first and the others from the last (see ``PartitionedReading.contact_partitions``).

    A part that fails for good (retries spent) fails the pull: the parts not started are
    dropped and those under way stop at their next page.
    """
    stop = threading.Event()

    def read_part(partition: str) -> list[ContactPage]:
        def fetch(cursor: str | None) -> ContactPage:
            return connector.read_partition_page(fields, partition, cursor)

        if not connector.partition_wanted(partition):
            return []
        pages = []
        for page in iter_pages(fetch, retrier):
            pages.append(page)
            if stop.is_set():
                break
        return pages

    first, *others = partitions
    with ThreadPoolExecutor(workers, thread_name_prefix="segsync-pull") as pool:
        started = {part: pool.submit(read_part, part) for part in [first, *reversed(others)]}
        futures = [started[part] for part in partitions]
        try:
            for future in futures:
                yield from future.result()
        finally:
            stop.set()
            for future in futures:
                future.cancel()


def pull_changed_contacts(
    connector: Connector,
    fields: Sequence[str],
    since: datetime,
    retrier: Retrier,
    progress: ProgressSink,
    *,
    merges: dict[str, str] | None = None,
) -> tuple[Rows, pd.Series]:
    """The values of the contacts modified since ``since``, de-duplicated, and when each was
    modified.

    ``merges`` as for ``pull_contact_rows``: a merge's new record carries the merge's time, so
    an incremental pull sees every merge made since ``since``.
    """

    def fetch(cursor: str | None) -> ContactPage:
        return connector.read_changed_contacts_page(fields, since, cursor)

    return _collect(iter_pages(fetch, retrier), progress, merges)


def read_members(connector: Connector, list_ref: ListRef, retrier: Retrier) -> set[str]:
    """Every member id of the list."""

    def fetch(cursor: str | None) -> IdPage:
        return connector.read_list_members_page(list_ref, cursor)

    return {member for page in iter_pages(fetch, retrier) for member in page.ids}


def read_members_of(
    connector: Connector, list_refs: Sequence[ListRef], retrier: Retrier
) -> list[set[str]]:
    """Every member id of each list, in the lists' order, several lists read at once (one
    list's pages follow its own cursor, which only the page before it gives)."""

    def members(list_ref: ListRef) -> set[str]:
        return read_members(connector, list_ref, retrier)

    return in_parallel(members, list_refs, connector.limits.max_concurrency)


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
