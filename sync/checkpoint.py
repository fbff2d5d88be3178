"""The executor's checkpoint in a run: each batch the CRM acknowledged, with its effect, is
recorded in the state store in the same transaction, so a killed run resumes from there."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from connectors.base import ListRef, WriteResult
from sync.refusals import RefusalContext
from sync.state import StateStore


class StoreCheckpoint:
    """Records every acknowledged batch, and its effect, in the state store."""

    def __init__(self, store: StateStore, run_id: int, refusals: RefusalContext) -> None:
        self.store = store
        self.run_id = run_id
        self.refusals = refusals
        self.seq = 0

    def batch_done(
        self,
        kind: str,
        target: str,
        size: int,
        *,
        written: Mapping[str, Mapping[str, str]] | None = None,
        added: Iterable[str] = (),
        removed: Iterable[str] = (),
        failures: Sequence[WriteResult] = (),
        created: ListRef | None = None,
        deleted: bool = False,
    ) -> None:
        self.seq += 1
        self.store.record_batch(
            self.run_id,
            self.seq,
            kind,
            target,
            size,
            written=written,
            added=added,
            removed=removed,
            failures=[self.refusals.failure(f, self.run_id) for f in failures],
            created=(created.id, created.name) if created else None,
            deleted=deleted,
        )
