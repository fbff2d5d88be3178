"""The CRM lists segsync owns, one per segment, and their members as last seen or written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from connectors.base import ListRef
from sync.state.clock import aware, utcnow
from sync.state.rows import chunked, delete_ids, ids_by_segment, insert_rows
from sync.state.schema import members, owned_lists

PENDING_LIST_ID = ""
"""The list id of an owned list segsync set out to create and has not seen created yet."""


@dataclass(frozen=True)
class OwnedList:
    """A CRM list segsync owns: the one it created (or adopted) for ``segment``."""

    segment: str
    list_id: str
    list_name: str
    created_at: datetime

    def matches(self, found: ListRef) -> bool:
        """Whether ``found`` is this list: its id, or (while its creation was under way) its
        name."""
        if self.list_id == PENDING_LIST_ID:
            return self.list_name.casefold() == found.name.casefold()
        return self.list_id == found.id


class SegmentLists:
    """One sync's rows of ``owned_lists`` and ``members``."""

    def __init__(self, sync_name: str) -> None:
        self.sync_name = sync_name

    def owned(self, connection: Connection) -> dict[str, OwnedList]:
        """The list segsync owns for each segment, by segment."""
        query = select(owned_lists).where(owned_lists.c.sync_name == self.sync_name)
        return {row.segment: _owned(row) for row in connection.execute(query)}

    def own(self, tx: Connection, segment: str, list_id: str, list_name: str) -> None:
        """One list per segment: a new one (the old deleted by hand) replaces the old."""
        where = (owned_lists.c.sync_name == self.sync_name) & (owned_lists.c.segment == segment)
        tx.execute(delete(owned_lists).where(where))
        tx.execute(
            insert(owned_lists).values(
                sync_name=self.sync_name,
                segment=segment,
                list_id=list_id,
                list_name=list_name,
                created_at=utcnow(),
            )
        )

    def forget_list(self, tx: Connection, segment: str) -> None:
        """The segment owns no list any more, and remembers no members."""
        for table in (owned_lists, members):
            tx.execute(
                delete(table).where(
                    table.c.sync_name == self.sync_name, table.c.segment == segment
                )
            )

    def members(self, connection: Connection) -> dict[str, set[str]]:
        """The members of each segment's list, by segment."""
        return ids_by_segment(connection, members, self.sync_name)

    def replace_members(self, tx: Connection, segment: str, ids: Sequence[str]) -> None:
        tx.execute(
            delete(members).where(
                members.c.sync_name == self.sync_name, members.c.segment == segment
            )
        )
        self.add_members(tx, segment, ids)

    def add_members(self, tx: Connection, segment: str, ids: Sequence[str]) -> None:
        self.remove_members(tx, segment, ids)
        insert_rows(
            tx,
            members,
            ({"sync_name": self.sync_name, "segment": segment, "contact_id": i} for i in ids),
        )

    def remove_members(self, tx: Connection, segment: str, ids: Sequence[str]) -> None:
        delete_ids(tx, members, self.sync_name, ids, members.c.segment == segment)

    def carried_members(self, tx: Connection, merges: Mapping[str, str]) -> dict[str, list[str]]:
        """The surviving contacts (``merges``: old id → survivor) that take over the list
        memberships of the contacts merged into them, by segment."""
        carried: dict[str, list[str]] = {}
        for chunk in chunked(list(merges)):
            for row in tx.execute(
                select(members.c.segment, members.c.contact_id).where(
                    members.c.sync_name == self.sync_name, members.c.contact_id.in_(chunk)
                )
            ):
                carried.setdefault(row.segment, []).append(merges[row.contact_id])
        return {segment: list(dict.fromkeys(survivors)) for segment, survivors in carried.items()}

    def forget(self, tx: Connection, ids: Sequence[str]) -> int:
        """Forget the contacts ``ids`` in every list; how many memberships they had."""
        return delete_ids(tx, members, self.sync_name, ids)


def _owned(row: Any) -> OwnedList:
    return OwnedList(row.segment, row.list_id, row.list_name, aware(row.created_at))
