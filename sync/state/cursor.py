"""The incremental cursor: where the next incremental pull starts, and how many contacts the
sync had when it was set."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from sync.state.clock import aware
from sync.state.schema import cursors


class Cursor:
    """One sync's row of ``cursors``."""

    def __init__(self, sync_name: str) -> None:
        self.sync_name = sync_name

    def get(self, connection: Connection) -> tuple[datetime, int] | None:
        """The watermark and the contacts seen, or None before the first complete run."""
        query = select(cursors).where(cursors.c.sync_name == self.sync_name)
        row = connection.execute(query).first()
        return (aware(row.watermark), row.contacts_seen) if row else None

    def save(self, tx: Connection, watermark: datetime, contacts_seen: int) -> None:
        tx.execute(delete(cursors).where(cursors.c.sync_name == self.sync_name))
        tx.execute(
            insert(cursors).values(
                sync_name=self.sync_name, watermark=watermark, contacts_seen=contacts_seen
            )
        )
