"""The state store: segsync's memory of one sync, and the transactions that keep it true.

Each concern keeps its own tables (``runs``, ``lists``, ``contact_values``, ``failures``,
``moves``, ``cursor``, ``models``); the store opens the database, decides what goes into one
transaction, and is the only way in for the rest of segsync. A checkpoint is one
transaction: the batch and its effect on the synced state are recorded together, or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from sync.effect import BatchEffect
from sync.moves import RecordedMove, SegmentMove
from sync.state.clock import utcnow
from sync.state.contact_values import ContactValues
from sync.state.cursor import Cursor
from sync.state.engine import open_engine
from sync.state.failures import RecordFailure, RefusedRecords
from sync.state.holdouts import HoldoutEntries, HoldoutEntry, HoldoutUpdate
from sync.state.lease import DEFAULT_LEASE_SECONDS, RunLease
from sync.state.lists import PENDING_LIST_ID, OwnedList, SegmentLists
from sync.state.models import StoredModels
from sync.state.moves import SegmentMoves
from sync.state.runs import RunHistory, RunRecord
from sync.state.schema import contacts, create_schema, synced
from sync.status import RunMode, RunStatus


class StateStore:
    """segsync's memory, scoped to one sync name."""

    def __init__(self, location: str | Path, sync_name: str) -> None:
        """Open the store at ``location``: a database URL, or segsync's state folder (a
        ``Path``) for the SQLite store in it, created if missing."""
        self.sync_name = sync_name
        self.engine: Engine = open_engine(location)
        create_schema(self.engine)
        self._runs = RunHistory(sync_name)
        self._lists = SegmentLists(sync_name)
        self._mirror = ContactValues[str | None](contacts, sync_name)
        self._synced = ContactValues[str](synced, sync_name)
        self._refused = RefusedRecords(sync_name)
        self._cursor = Cursor(sync_name)
        self._models = StoredModels(sync_name)
        self._holdouts = HoldoutEntries(sync_name)
        self._moves = SegmentMoves(sync_name)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    # -- lock ------------------------------------------------------------------------------

    def lease(self, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> RunLease:
        """The sync's run lease (see ``sync.state.lease``)."""
        return RunLease(self.engine, self.sync_name, lease_seconds)

    @contextmanager
    def lock(self, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Iterator[None]:
        """Hold the sync's lease for the duration; a lapsed or dead holder's is taken over."""
        with self.lease(lease_seconds).held():
            yield

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, mode: RunMode, dry_run: bool) -> int:
        with self.transaction() as tx:
            return self._runs.start(tx, mode, dry_run)

    def update_run(self, run_id: int, **values: Any) -> None:
        with self.transaction() as tx:
            self._runs.update(tx, run_id, **values)

    def finish_run(self, run_id: int, status: RunStatus, **values: Any) -> None:
        self.update_run(run_id, status=status, finished_at=utcnow(), **values)

    def last_run(self) -> RunRecord | None:
        """The newest run that was meant to write (dry runs are plans, not runs)."""
        with self._reading() as connection:
            return self._runs.last(connection)

    def last_full_run_started(self) -> datetime | None:
        """When the newest full run that wrote its plan through started."""
        with self._reading() as connection:
            return self._runs.last_full_started(connection)

    def runs(self, limit: int = 50) -> list[RunRecord]:
        with self._reading() as connection:
            return self._runs.recent(connection, limit)

    def run(self, run_id: int) -> RunRecord | None:
        with self._reading() as connection:
            return self._runs.get(connection, run_id)

    def batches_done(self, run_id: int) -> int:
        with self._reading() as connection:
            return self._runs.batches_done(connection, run_id)

    def has_written(self) -> bool:
        """Whether any run of this sync ever had a batch acknowledged by the CRM."""
        with self._reading() as connection:
            return self._runs.has_written(connection)

    # -- checkpoints: a batch and its effect on the synced state, in one transaction ------

    def record_batch(
        self,
        run_id: int,
        seq: int,
        effect: BatchEffect,
        *,
        refusals: Sequence[RecordFailure] = (),
        moved: Sequence[str] = (),
    ) -> None:
        """Remember that a batch reached the CRM, and what the CRM now holds because of it.

        ``refusals`` are the effect's failures as kept between runs, with what each depended
        on (see ``sync.refusals``); ``moved`` the contacts whose planned move the confirmed writes
        carried (see ``plan_moves``).
        """
        with self.transaction() as tx:
            self._runs.record_batch(tx, run_id, seq, effect)
            if moved:
                self._moves.confirm(tx, run_id, moved)
            if effect.written:
                self._synced.merge(tx, effect.written)
                self._refused.forget(tx, list(effect.written))
            if effect.added:
                self._lists.add_members(tx, effect.target, effect.added)
            if effect.removed:
                self._lists.remove_members(tx, effect.target, effect.removed)
            for failure in refusals:
                self._refused.record(tx, failure)
            if effect.created is not None:
                self._lists.own(tx, effect.target, effect.created.id, effect.created.name)
            if effect.deleted:
                self._lists.forget_list(tx, effect.target)

    # -- owned lists and their members ---------------------------------------------------

    def owned_lists(self) -> dict[str, OwnedList]:
        """The list segsync owns for each segment, by segment."""
        with self._reading() as connection:
            return self._lists.owned(connection)

    def intend_lists(self, names: Mapping[str, str]) -> None:
        """Before creating lists (segment → list name): a run killed between a create and
        its checkpoint leaves a list that the next run must still know as its own."""
        with self.transaction() as tx:
            for segment, list_name in names.items():
                self._lists.own(tx, segment, PENDING_LIST_ID, list_name)

    def own_list(self, segment: str, list_id: str, list_name: str) -> None:
        """Take a list the config adopts (or an older segsync made) as the segment's own."""
        with self.transaction() as tx:
            self._lists.own(tx, segment, list_id, list_name)

    def forget_list(self, segment: str) -> None:
        """A list gone from the CRM: neither owned nor its members remembered any more."""
        with self.transaction() as tx:
            self._lists.forget_list(tx, segment)

    def members(self) -> dict[str, set[str]]:
        with self._reading() as connection:
            return self._lists.members(connection)

    def replace_members(self, segment: str, ids: Iterable[str]) -> None:
        """After reading a list from the CRM: its members as the CRM holds them."""
        with self.transaction() as tx:
            self._lists.replace_members(tx, segment, list(ids))

    # -- synced state ----------------------------------------------------------------------

    def synced_fields(self) -> dict[str, dict[str, str]]:
        with self._reading() as connection:
            return self._synced.all(connection)

    def replace_synced(self, values: Mapping[str, Mapping[str, str]]) -> None:
        """After a full pull: the CRM's own values become the synced state, and the refusals
        of contacts the pull did not find (deleted, merged away) are forgotten with them."""
        with self.transaction() as tx:
            self._synced.replace_all(tx, values)
            refused = self._refused.refused_ids(tx)
            self._refused.forget(tx, [i for i in refused if i not in values])

    def merge_synced(self, values: Mapping[str, Mapping[str, str]]) -> None:
        """After a pull that missed some contacts: the pulled ones' values as the CRM holds
        them, the others' as last known (their refusals are kept too)."""
        with self.transaction() as tx:
            self._synced.merge(tx, values)

    # -- contact mirror ----------------------------------------------------------------------

    def mirror(self) -> dict[str, dict[str, str | None]]:
        with self._reading() as connection:
            return self._mirror.all(connection)

    def mirror_fields(self) -> set[str] | None:
        """The fields the mirror holds (None when empty): a new rule field needs a full pull."""
        with self._reading() as connection:
            return self._mirror.field_names(connection)

    def save_mirror(self, rows: Mapping[str, Mapping[str, str | None]], *, replace: bool) -> None:
        """Store pulled values: all of them after a full pull, the changed ones otherwise."""
        with self.transaction() as tx:
            if replace:
                self._mirror.replace_all(tx, rows)
            else:
                self._mirror.put(tx, rows)

    # -- contacts gone ---------------------------------------------------------------------

    def forget_contacts(self, ids: Iterable[str]) -> None:
        """Contacts the CRM no longer has (deleted, merged away)."""
        ids = list(ids)
        if not ids:
            return
        with self.transaction() as tx:
            self._forget(tx, ids)

    def forget_person(self, contact_id: str) -> int:
        """Erase one contact from this sync's memory (an erasure request): its mirrored values,
        synced fields, list memberships, refusals, holdout entries, moves, and its lines in the run
        history's summaries. Returns how many rows and summary entries held it."""
        with self.transaction() as tx:
            return self._forget(tx, [contact_id]) + self._runs.forget_person(tx, contact_id)

    def absorb_merged(self, merges: Mapping[str, str]) -> None:
        """Contacts the CRM merged into others (old id → surviving id), as a pull reported them.

        The old ids are forgotten, and each survivor takes over their list memberships, as the
        CRM carries a merged record's static list memberships over to the new one: so a later
        incremental plan removes the survivor from the lists it should not be in. The
        survivor's own values come from the pull that reported the merge.
        """
        if not merges:
            return
        with self.transaction() as tx:
            carried = self._lists.carried_members(tx, merges)
            self._forget(tx, list(merges))
            for segment, survivors in carried.items():
                self._lists.add_members(tx, segment, survivors)

    def _forget(self, tx: Connection, ids: Sequence[str]) -> int:
        """Forget the contacts ``ids`` everywhere but the run history; how many rows held
        them."""
        return (
            self._mirror.forget(tx, ids)
            + self._synced.forget(tx, ids)
            + self._lists.forget(tx, ids)
            + self._refused.forget(tx, ids)
            + self._holdouts.forget(tx, ids)
            + self._moves.forget(tx, ids)
        )

    # -- cursor ------------------------------------------------------------------------------

    def cursor(self) -> tuple[datetime, int] | None:
        with self._reading() as connection:
            return self._cursor.get(connection)

    def save_cursor(
        self, watermark: datetime, contacts_seen: int, *, holdouts: HoldoutUpdate | None = None
    ) -> None:
        """Move the incremental cursor on: the run's picture of the CRM is complete. The
        holdout record advances with it (``holdouts``), in the same transaction: it is only
        written from a complete picture, and a run killed before this records nothing, so
        the next one sees the same contacts enter."""
        with self.transaction() as tx:
            self._cursor.save(tx, watermark, contacts_seen)
            if holdouts is not None:
                self._holdouts.add(tx, holdouts.entries)
                self._holdouts.mark_converted(tx, holdouts.converted, holdouts.at)

    # -- holdout record ------------------------------------------------------------------

    def holdout_entries(self) -> list[HoldoutEntry]:
        """Every contact's entry into each held-out segment (see ``sync.state.holdouts``)."""
        with self._reading() as connection:
            return self._holdouts.all(connection)

    def holdout_recorded(self) -> dict[str, set[str]]:
        """The contacts the holdout record holds, by segment."""
        with self._reading() as connection:
            return self._holdouts.recorded(connection)

    # -- record failures -----------------------------------------------------------------

    def clear_failures(self, contact_ids: Iterable[str] | None = None) -> int:
        """Forget the refusals of these contacts (all when None), so the next run writes them
        again with a fresh count of attempts. How many were cleared."""
        with self.transaction() as tx:
            if contact_ids is None:
                return self._refused.clear_all(tx)
            ids = list(contact_ids)
            known = {f.contact_id for f in self._refused.of(tx, ids)}
            self._refused.forget(tx, ids)
            return len(known)

    def failures(self, run_id: int | None = None) -> list[RecordFailure]:
        """The refused records kept (only those last refused in ``run_id``, when given)."""
        with self._reading() as connection:
            return self._refused.kept(connection, run_id)

    # -- moves between primary segments ---------------------------------------------------

    def plan_moves(
        self, run_id: int, pending: Sequence[SegmentMove], held: Sequence[SegmentMove]
    ) -> None:
        """Before a run writes: its moves, ``pending`` until the CRM confirms each contact's
        write (``record_batch``), ``held`` confirmed at once (the CRM holds them already)."""
        with self.transaction() as tx:
            self._moves.plan(tx, run_id, pending, held)

    def known_segments(self) -> dict[str, str | None]:
        """The primary segment each contact with a move has by its last one (see
        ``sync.state.moves``)."""
        with self._reading() as connection:
            return self._moves.known_segments(connection)

    def run_moves(self, run_id: int) -> list[RecordedMove]:
        """The moves the run ``run_id`` made."""
        with self._reading() as connection:
            return self._moves.of_run(connection, run_id)

    def moves_since(self, moment: datetime) -> list[RecordedMove]:
        """The moves recorded since ``moment``."""
        with self._reading() as connection:
            return self._moves.since(connection, moment)

    # -- models --------------------------------------------------------------------------

    def models(self) -> dict[str, bytes]:
        """Every stored cluster model of this sync, by cluster set name."""
        with self._reading() as connection:
            return self._models.all(connection)

    def save_model(self, name: str, blob: bytes) -> None:
        with self.transaction() as tx:
            self._models.save(tx, name, blob)
