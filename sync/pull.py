"""Reading the CRM's current state: contacts page by page, and list members.

Each page is one retried call, so a dropped connection costs one page, not the pull.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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


def pull_contacts(
    connector: Connector, fields: Sequence[str], retrier: Retrier, progress: ProgressSink
) -> pd.DataFrame:
    """Every contact with the requested fields: index = contact id, values str or None."""
    ids: list[str] = []
    rows: list[dict[str, str | None]] = []
    progress.start(PULL_STEP, None)

    def fetch(cursor: str | None) -> ContactPage:
        return connector.read_contacts_page(fields, cursor)

    for page in iter_pages(fetch, retrier):
        for contact in page.contacts:
            ids.append(contact.id)
            rows.append(contact.properties)
        progress.advance(PULL_STEP, len(page.contacts))
    progress.finish(PULL_STEP)
    frame = pd.DataFrame.from_records(rows, index=pd.Index(ids, dtype=object, name="id"))
    return frame.reindex(columns=list(fields)).astype(object)


def read_members(connector: Connector, list_ref: ListRef, retrier: Retrier) -> set[str]:
    """Every member id of the list."""

    def fetch(cursor: str | None) -> IdPage:
        return connector.read_list_members_page(list_ref, cursor)

    return {member for page in iter_pages(fetch, retrier) for member in page.ids}
