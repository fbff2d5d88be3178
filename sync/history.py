"""``segsync runs`` and ``segsync failures``: the run history (with each run's largest moves
between primary segments) and the records the CRM refused, as a RevOps admin reads them, as a
table or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from sync.config import SyncOptions
from sync.moves import MigrationMatrix, segment_label
from sync.state.failures import RecordFailure
from sync.state.runs import RunRecord
from sync.state.store import StateStore
from sync.tables import narrow_table, number_column, print_table, text_column
from sync.terminal import escaped, text

LARGEST_MOVES = 10
"""The from → to pairs ``runs show`` lists."""


def _record(run: RunRecord) -> dict[str, Any]:
    data = asdict(run)
    data["started_at"] = run.started_at.isoformat()
    data["finished_at"] = run.finished_at.isoformat() if run.finished_at else None
    data["duration_seconds"] = run.duration_seconds
    data["summary"] = json.loads(run.summary or "{}")
    return data


def print_runs(
    console: Console, store: StateStore, sync_name: str, *, as_json: bool, limit: int = 50
) -> None:
    """``segsync runs``: the sync's latest runs, newest first."""
    history = store.runs(limit)
    if as_json:
        rows = [{k: v for k, v in _record(r).items() if k != "summary"} for r in history]
        console.print_json(json.dumps(rows))
        return
    table = narrow_table(text(f"Runs of sync {sync_name!r}"))
    number_column(table, "Run")
    for column in ("Started\n(UTC)", "Took", "Mode", "Status"):
        text_column(table, column)
    for column in ("Contacts", "Writes", "List\n+", "List\n−", "Refused", "API\ncalls"):
        number_column(table, column)
    for run in history:
        took = f"{run.duration_seconds:.1f}s" if run.duration_seconds is not None else "—"
        status = run.status.replace("_", " ") + (" (dry run)" if run.dry_run else "")
        table.add_row(
            str(run.id),
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            took,
            text(run.mode),
            text(status),
            f"{run.contacts:,}",
            f"{run.writes:,}",
            f"{run.list_adds:,}",
            f"{run.list_removes:,}",
            f"{run.failures:,}",
            f"{run.api_calls:,}",
        )
    print_table(console, table)


def print_run(
    console: Console, store: StateStore, sync_name: str, run_id: int, *, as_json: bool
) -> bool:
    """Print one run with its refused records; False when the sync has no such run."""
    run = store.run(run_id)
    failures = store.failures(run_id) if run else []
    batches = store.batches_done(run_id) if run else 0
    if run is None or run.sync_name != sync_name:
        return False
    moves = MigrationMatrix.of_moves(store.run_moves(run_id))
    largest = moves.largest(LARGEST_MOVES)
    data = _record(run) | {
        "batches_done": batches,
        "refused_records": [asdict(f) for f in failures],
        "moved": moves.total,
        "largest_moves": [
            {"from": source, "to": target, "contacts": count} for source, target, count in largest
        ],
    }
    if as_json:
        console.print_json(json.dumps(data))
        return True
    console.print(
        f"[bold]Run {run.id}[/] of sync {escaped(repr(run.sync_name))}: "
        f"{escaped(run.status)} ({escaped(run.mode)})"
    )
    for key in ("started_at", "finished_at", "duration_seconds", "contacts", "writes"):
        console.print(f"  {key.replace('_', ' ')}: {data[key]}", highlight=False)
    for key in ("list_adds", "list_removes", "failures", "api_calls", "retries"):
        console.print(f"  {key.replace('_', ' ')}: {data[key]}", highlight=False)
    console.print(f"  batches: {batches} of {run.batches_planned} planned", highlight=False)
    if run.message:
        console.print(text(f"  message: {run.message}"))
    console.print(f"  moved between primary segments: {moves.total}", highlight=False)
    if largest:
        print_table(console, _moves_table(moves))
    if failures:
        print_table(console, _failures_table("Records the CRM refused", failures))
    return True


def print_last_moves(console: Console, store: StateStore) -> None:
    """The largest moves of the newest run meant to write, for a terminal (the report has the
    whole matrix)."""
    run = store.last_run()
    moves = MigrationMatrix.of_moves(store.run_moves(run.id) if run else ())
    if run is None or not moves.total:
        console.print("No contact changed its primary segment.", highlight=False)
        return
    title = f"Who moved: {moves.total:,} contacts (run {run.id} in the run history)"
    print_table(console, _moves_table(moves, title))


def _moves_table(moves: MigrationMatrix, title: str = "Largest moves") -> Table:
    """The largest from → to pairs, each with its share of the contacts that left "from"."""
    table = narrow_table(text(title))
    for column in ("From", "To"):
        text_column(table, column)
    for column in ("Contacts", "Of those who left"):
        number_column(table, column)
    for source, target, count in moves.largest(LARGEST_MOVES):
        table.add_row(
            text(segment_label(source)),
            text(segment_label(target)),
            f"{count:,}",
            f"{moves.share(source, target):.0%}",
        )
    return table


def print_failures(
    console: Console, store: StateStore, options: SyncOptions, *, as_json: bool
) -> None:
    """``segsync failures``: every record the CRM refused that is still remembered."""
    failures = store.failures()
    if as_json:
        console.print_json(json.dumps([_failure_record(f) for f in failures]))
        return
    if not failures:
        console.print(f"No refused records in sync {options.name!r}.", highlight=False)
        return
    title = f"Records the CRM refused, sync {options.name!r}"
    print_table(console, _failures_table(title, failures))
    console.print(
        f"Retried up to {options.max_record_attempts} runs (at once given up when not "
        "retryable), and again when the contact or the field changes or on --full; "
        "`segsync failures retry` retries them on the next run.",
        highlight=False,
    )


def _failure_record(failure: RecordFailure) -> dict[str, Any]:
    return {
        "contact_id": failure.contact_id,
        "code": failure.code,
        "message": failure.message,
        "retryable": failure.retryable,
        "attempts": failure.attempts,
        "last_run": failure.run_id,
    }


def _failures_table(title: str, failures: list[RecordFailure]) -> Table:
    table = narrow_table(text(title))
    for column in ("Contact", "Code", "Message"):
        text_column(table, column)
    for column in ("Retryable", "Attempts", "Last\nrun"):
        number_column(table, column)
    for failure in failures:
        table.add_row(
            text(failure.contact_id),
            text(failure.code),
            text(failure.message),
            "yes" if failure.retryable else "no",
            str(failure.attempts),
            str(failure.run_id),
        )
    return table
