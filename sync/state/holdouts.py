"""The holdout record (``holdout_entries``): when each contact entered each segment that keeps
a holdout, in which group (its list, or held out), whether it had converted by then, and when
it was first seen converted after that. The report's holdout lift is computed from it.

A contact is recorded once per segment, on the first run that saw it match: leaving the segment
and coming back does not move its start (the comparison counts every contact from the moment
its group was assigned, whatever happened after).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from sync.state.clock import aware
from sync.state.rows import chunked, delete_ids, ids_by_segment, insert_rows
from sync.state.schema import holdout_entries


@dataclass(frozen=True)
class HoldoutEntry:
    """One contact's entry into one held-out segment. ``converted_at`` is None while it has
    not been seen converting since; a contact converted on entry never gets one."""

    segment: str
    contact_id: str
    run_id: int
    entered_at: datetime
    held_out: bool
    converted_on_entry: bool
    converted_at: datetime | None = None


class HoldoutEntries:
    """One sync's rows of ``holdout_entries``."""

    def __init__(self, sync_name: str) -> None:
        self.sync_name = sync_name

    def all(self, connection: Connection) -> list[HoldoutEntry]:
        table = holdout_entries
        query = (
            select(table)
            .where(table.c.sync_name == self.sync_name)
            .order_by(table.c.segment, table.c.entered_at, table.c.contact_id)
        )
        return [
            HoldoutEntry(
                segment=row.segment,
                contact_id=row.contact_id,
                run_id=row.run_id,
                entered_at=aware(row.entered_at),
                held_out=row.held_out,
                converted_on_entry=row.converted_on_entry,
                converted_at=aware(row.converted_at) if row.converted_at else None,
            )
            for row in connection.execute(query)
        ]

    def recorded(self, connection: Connection) -> dict[str, set[str]]:
        """The contacts already recorded, by segment."""
        return ids_by_segment(connection, holdout_entries, self.sync_name)

    def add(self, tx: Connection, entries: Sequence[HoldoutEntry]) -> None:
        insert_rows(
            tx,
            holdout_entries,
            (
                {
                    "sync_name": self.sync_name,
                    "segment": entry.segment,
                    "contact_id": entry.contact_id,
                    "run_id": entry.run_id,
                    "entered_at": entry.entered_at,
                    "held_out": entry.held_out,
                    "converted_on_entry": entry.converted_on_entry,
                    "converted_at": entry.converted_at,
                }
                for entry in entries
            ),
        )

    def mark_converted(self, tx: Connection, ids: Collection[str], at: datetime) -> None:
        """The contacts ``ids`` are converted now: every entry of theirs that was neither
        converted on entry nor seen converting before converted ``at``."""
        table = holdout_entries
        for chunk in chunked(sorted(ids)):
            tx.execute(
                update(table)
                .where(
                    table.c.sync_name == self.sync_name,
                    table.c.contact_id.in_(chunk),
                    table.c.converted_at.is_(None),
                    table.c.converted_on_entry.is_(False),
                )
                .values(converted_at=at)
            )

    def forget(self, tx: Connection, ids: Sequence[str]) -> int:
        """Forget the contacts ``ids``; how many rows held them."""
        return delete_ids(tx, holdout_entries, self.sync_name, ids)


@dataclass(frozen=True)
class HoldoutUpdate:
    """What one run adds to the holdout record: the contacts that entered a held-out segment,
    and the contacts converted at ``at`` (their open entries convert then)."""

    entries: tuple[HoldoutEntry, ...]
    converted: frozenset[str]
    at: datetime
