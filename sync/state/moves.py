"""The moves between primary segments (``segment_moves``): one row per contact whose primary
segment a run changed, written with the checkpoint of the write the CRM confirmed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.engine import Connection

from sync.moves import RecordedMove, SegmentMove
from sync.state.clock import aware, utcnow
from sync.state.rows import delete_ids, insert_rows
from sync.state.schema import segment_moves


class SegmentMoves:
    """One sync's rows of ``segment_moves``."""

    def __init__(self, sync_name: str) -> None:
        self.sync_name = sync_name

    def record(self, tx: Connection, run_id: int, moves: Sequence[SegmentMove]) -> None:
        """Keep the moves a batch the CRM confirmed made; a contact moves at most once a run."""
        ids = [move.contact_id for move in moves]
        delete_ids(tx, segment_moves, self.sync_name, ids, segment_moves.c.run_id == run_id)
        moved_at = utcnow()
        insert_rows(
            tx,
            segment_moves,
            (
                {
                    "sync_name": self.sync_name,
                    "run_id": run_id,
                    "contact_id": move.contact_id,
                    "previous": move.previous,
                    "segment": move.segment,
                    "moved_at": moved_at,
                }
                for move in moves
            ),
        )

    def latest_segments(self, connection: Connection) -> dict[str, str | None]:
        """Each contact with a recorded move, and its primary segment after the last one."""
        query = (
            select(segment_moves.c.contact_id, segment_moves.c.segment)
            .where(segment_moves.c.sync_name == self.sync_name)
            .order_by(segment_moves.c.run_id)
        )
        return {row.contact_id: row.segment for row in connection.execute(query)}

    def of_run(self, connection: Connection, run_id: int) -> list[RecordedMove]:
        return self._read(connection, segment_moves.c.run_id == run_id)

    def since(self, connection: Connection, moment: datetime) -> list[RecordedMove]:
        return self._read(connection, segment_moves.c.moved_at >= moment)

    def forget(self, tx: Connection, ids: Sequence[str]) -> int:
        """Forget the contacts ``ids``' moves; how many rows held them."""
        return delete_ids(tx, segment_moves, self.sync_name, ids)

    def _read(self, connection: Connection, where: ColumnElement[bool]) -> list[RecordedMove]:
        query: Select[tuple[int, str, str | None, str | None, datetime]] = (
            select(
                segment_moves.c.run_id,
                segment_moves.c.contact_id,
                segment_moves.c.previous,
                segment_moves.c.segment,
                segment_moves.c.moved_at,
            )
            .where(segment_moves.c.sync_name == self.sync_name, where)
            .order_by(segment_moves.c.run_id, segment_moves.c.contact_id)
        )
        return [
            RecordedMove(row.run_id, aware(row.moved_at), SegmentMove(*row[1:4]))
            for row in connection.execute(query)
        ]
