"""The moves between primary segments (``segment_moves``): one row per contact whose primary
segment a run changes, planned before the run writes and confirmed with the checkpoint of the
write the CRM confirmed. Only confirmed moves count; a planned one that a killed run left
unconfirmed still tells the next run where the contact started."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.engine import Connection

from sync.moves import RecordedMove, SegmentMove
from sync.state.clock import aware, utcnow
from sync.state.rows import chunked, delete_ids, insert_rows, of_ids
from sync.state.schema import segment_moves

_CONFIRM = (
    update(segment_moves)
    .where(of_ids(segment_moves), segment_moves.c.run_id == bindparam("run"))
    .values(confirmed=True, moved_at=bindparam("now"))
)
"""Confirm the moves of the contacts ``ids`` that the run ``run`` planned: built once, since a
run confirms moves at each of its write checkpoints."""


class SegmentMoves:
    """One sync's rows of ``segment_moves``."""

    def __init__(self, sync_name: str) -> None:
        self.sync_name = sync_name

    def plan(
        self,
        tx: Connection,
        run_id: int,
        pending: Sequence[SegmentMove],
        held: Sequence[SegmentMove],
    ) -> None:
        """Before a run writes: its moves, ``pending`` until the CRM confirms their writes,
        ``held`` confirmed at once (the CRM holds them already). A move an earlier run left
        unconfirmed is replaced."""
        # Asked for first: a run plans a move for (nearly) every contact on its first sync, and
        # a delete naming each of them cost seconds where there is rarely anything to delete.
        unconfirmed = select(segment_moves.c.contact_id).where(
            segment_moves.c.sync_name == self.sync_name, segment_moves.c.confirmed.is_(False)
        )
        left = set(tx.execute(unconfirmed).scalars())
        ids = [move.contact_id for move in (*pending, *held) if move.contact_id in left]
        delete_ids(tx, segment_moves, self.sync_name, ids, segment_moves.c.confirmed.is_(False))
        now = utcnow()
        insert_rows(
            tx,
            segment_moves,
            (
                self._row(run_id, move, confirmed=moved_at is not None, moved_at=moved_at)
                for moves, moved_at in ((pending, None), (held, now))
                for move in moves
            ),
        )

    def confirm(self, tx: Connection, run_id: int, ids: Sequence[str]) -> None:
        """The CRM confirmed the writes of the contacts ``ids``: their moves count from now."""
        now = utcnow()
        for chunk in chunked(ids):
            values = {"sync": self.sync_name, "ids": list(chunk), "run": run_id, "now": now}
            tx.execute(_CONFIRM, values)

    def known_segments(self, connection: Connection) -> dict[str, str | None]:
        """Each contact with a move, and the primary segment it has by its last one: the new
        segment of a confirmed move, the previous one of a move still unconfirmed."""
        query = (
            select(
                segment_moves.c.contact_id,
                segment_moves.c.previous,
                segment_moves.c.segment,
                segment_moves.c.confirmed,
            )
            .where(segment_moves.c.sync_name == self.sync_name)
            .order_by(segment_moves.c.run_id)
        )
        return {
            row.contact_id: row.segment if row.confirmed else row.previous
            for row in connection.execute(query)
        }

    def of_run(self, connection: Connection, run_id: int) -> list[RecordedMove]:
        return self._confirmed(connection, segment_moves.c.run_id == run_id)

    def since(self, connection: Connection, moment: datetime) -> list[RecordedMove]:
        return self._confirmed(connection, segment_moves.c.moved_at >= moment)

    def forget(self, tx: Connection, ids: Sequence[str]) -> int:
        """Forget the contacts ``ids``' moves; how many rows held them."""
        return delete_ids(tx, segment_moves, self.sync_name, ids)

    def _row(
        self, run_id: int, move: SegmentMove, *, confirmed: bool, moved_at: datetime | None
    ) -> dict[str, Any]:
        return {
            "sync_name": self.sync_name,
            "run_id": run_id,
            "contact_id": move.contact_id,
            "previous": move.previous,
            "segment": move.segment,
            "confirmed": confirmed,
            "moved_at": moved_at,
        }

    def _confirmed(
        self, connection: Connection, where: ColumnElement[bool]
    ) -> list[RecordedMove]:
        query = (
            select(
                segment_moves.c.run_id,
                segment_moves.c.contact_id,
                segment_moves.c.previous,
                segment_moves.c.segment,
                segment_moves.c.moved_at,
            )
            .where(
                segment_moves.c.sync_name == self.sync_name,
                segment_moves.c.confirmed.is_(True),
                where,
            )
            .order_by(segment_moves.c.run_id, segment_moves.c.contact_id)
        )
        return [
            RecordedMove(
                row.run_id,
                aware(row.moved_at),
                SegmentMove(row.contact_id, row.previous, row.segment),
            )
            for row in connection.execute(query)
        ]
