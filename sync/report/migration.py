"""The report's migration section: who moved between primary segments, as a matrix of
from → to counts with each "from" row's shares, for the last run and for a chosen period."""

from __future__ import annotations

from datetime import datetime

from sync.moves import MigrationMatrix, MigrationView, Period
from sync.state.store import StateStore


def migration_views(store: StateStore, since: Period | None, now: datetime) -> list[MigrationView]:
    """The last run's moves, then (when asked for) the period's, as the state store has them."""
    views = [_last_run(store)]
    if since is not None:
        views.append(_period(store, since, now))
    return views


def _last_run(store: StateStore) -> MigrationView:
    """The moves of the newest run meant to write (none yet: an empty matrix)."""
    run = store.last_run()
    if run is None:
        nothing = MigrationMatrix.of(())
        return MigrationView("Last run", "No run has written to the CRM yet.", nothing)
    note = (
        f"Started {run.started_at:%Y-%m-%d %H:%M} UTC: each contact whose primary segment it "
        "changed, once the CRM confirmed the write."
    )
    moves = store.run_moves(run.id)
    return MigrationView(f"Run {run.id}", note, MigrationMatrix.of_moves(moves))


def _period(store: StateStore, since: Period, now: datetime) -> MigrationView:
    """The moves of the period that ends ``now``, net: a contact that moved more than once
    counts once, from its first previous segment to its last one (not at all when it is back
    where it started)."""
    start = now - since.length
    note = (
        f"Since {start:%Y-%m-%d %H:%M} UTC, net: a contact that moved more than once counts "
        "once, from its first previous segment to its latest one."
    )
    moves = store.moves_since(start)
    return MigrationView(f"The last {since.words}", note, MigrationMatrix.of_moves(moves))
