"""The executor's checkpoint in a run: each batch the CRM acknowledged, with its effect, is
recorded in the state store in the same transaction, so a killed run resumes from there. The
primary segment moves of the writes the CRM confirmed go into that transaction too."""

from __future__ import annotations

from collections.abc import Mapping

from sync.effect import BatchEffect
from sync.moves import SegmentMove
from sync.refusals import RefusalContext
from sync.state.store import StateStore


class StoreCheckpoint:
    """Records every acknowledged batch, and its effect, in the state store."""

    def __init__(
        self,
        store: StateStore,
        run_id: int,
        refusals: RefusalContext,
        moves: Mapping[str, SegmentMove] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.refusals = refusals
        self.moves = moves or {}
        """The plan's moves by contact: recorded once the CRM confirms the contact's write."""
        self.seq = 0

    def batch_done(self, effect: BatchEffect) -> None:
        self.seq += 1
        refusals = [self.refusals.failure(f, self.run_id) for f in effect.failures]
        moves = [self.moves[cid] for cid in effect.written if cid in self.moves]
        self.store.record_batch(self.run_id, self.seq, effect, refusals=refusals, moves=moves)
