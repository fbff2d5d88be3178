"""The fitted cluster models of a sync, as the blobs ``segment_core`` persists them in."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from sync.state.clock import utcnow
from sync.state.schema import models


class StoredModels:
    """One sync's rows of ``models``."""

    def __init__(self, sync_name: str) -> None:
        self.sync_name = sync_name

    def all(self, connection: Connection) -> dict[str, bytes]:
        """Every stored cluster model of this sync, by cluster set name."""
        query = select(models.c.name, models.c.blob).where(models.c.sync_name == self.sync_name)
        return {row.name: bytes(row.blob) for row in connection.execute(query)}

    def save(self, tx: Connection, name: str, blob: bytes) -> None:
        tx.execute(
            delete(models).where(models.c.sync_name == self.sync_name, models.c.name == name)
        )
        tx.execute(
            insert(models).values(
                sync_name=self.sync_name, name=name, blob=blob, updated_at=utcnow()
            )
        )
