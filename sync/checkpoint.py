"""The executor's checkpoint in a run: each batch the CRM acknowledged, with its effect, is
recorded in the state store in the same transaction, so a killed run resumes from there. The
primary segment moves of the writes the CRM confirmed go into that transaction too."""

from __future__ import annotations

from collections.abc import Set

from sync.effect import BatchEffect
from sync.refusals import RefusalContext
from sync.state.store import StateStore


class StoreCheckpoint:
    """Records every acknowledged batch, and its effect, in the state store."""

    def __init__(
        self,
        store: StateStore,
        run_id: int,
        refusals: RefusalContext,
        moving: Set[str] = frozenset(),
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.refusals = refusals
        self.moving = moving
        """The contacts whose planned move counts once the CRM confirms their write."""
        self.seq = 0

    def batch_done(self, effect: BatchEffect) -> None:
        self.seq += 1
        refusals = [self.refusals.failure(f, self.run_id) for f in effect.failures]
        moved = [cid for cid in effect.written if cid in self.moving]
        self.store.record_batch(self.run_id, self.seq, effect, refusals=refusals, moved=moved)
