"""Every table segsync prints fits an 80-column terminal with all its columns whole.

Each table is rendered into a Rich console 80 columns wide, with long and hostile names (a
segment name of many words, one word longer than the terminal, markup): every column header
must be there in full, every row's last column must read whole, and a wrapped name must come
out whole when its column's lines are read back in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.check import print_checks, run_checks
from sync.config import SyncOptions
from sync.effect import BatchEffect
from sync.history import print_failures, print_runs
from sync.outcome import summary_rows
from sync.pipeline import run_sync
from sync.progress import SilentProgress
from sync.runner import open_connector
from sync.state.failures import RecordFailure
from sync.state.store import StateStore
from sync.status import RunMode, RunStatus
from sync.summary import print_summary
from sync.tables import narrow_table, number_column, print_table, text_column
from tests.conftest import TOKEN, make_settings, write_hubspot_config

WIDTH = 80
LONG_NAME = "Enterprise accounts in the northern region with many open deals [bold]now[/]"
LONG_WORD = "Supercalifragilisticexpialidocious" * 3
"""One word longer than the terminal: its column folds it rather than cutting it."""
SEGMENTS = [
    {"name": LONG_NAME, "priority": 10, "rule": "employees >= 50"},
    {"name": LONG_WORD, "priority": 5, "rule": "employees >= 10"},
]


def rendered(print_to: Callable[..., None], *args: object, **options: object) -> list[str]:
    """What ``print_to(console, *args, **options)`` prints on an 80-column console, line by
    line, without trailing spaces."""
    console = Console(width=WIDTH, record=True, color_system=None)
    print_to(console, *args, **options)
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert all(len(line) <= WIDTH for line in lines)
    return lines


def column(lines: list[str], header_row: int, start: str, end: str | None) -> str:
    """The text of the table column that starts under ``start`` in the header line and ends
    before ``end`` (None: at the line's end), from every row below the header's rule, with no
    white space: what the column reads once its wrapped lines are put back together."""
    header = lines[header_row]
    left = header.index(start)
    right = header.index(end) if end else None
    body = lines[header_row + 2 :]
    return "".join("".join(line[left:right].split()) for line in body)


def squeezed(*values: str) -> str:
    return "".join("".join(values).split())


def test_the_run_summary_shows_every_column_at_80_columns(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    crm.seed_contacts(60, seed=3)
    settings = make_settings(crm, SEGMENTS, tmp_path)
    outcome = run_sync(connector, settings, dry_run=True, progress=SilentProgress())
    lines = rendered(print_summary, outcome, "segsync default")

    (header_row,) = [i for i, line in enumerate(lines) if line.startswith("Segment ")]
    assert lines[header_row].split() == [
        "Segment", "Priority", "Members", "Primary", "Written", "List", "+", "List", "−"
    ]
    rows = summary_rows(outcome)
    for row in rows:
        figures = [row[key] for key in ("priority", "members", "primary", "written")]
        figures += [row["list_adds"], row["list_removes"]]
        pattern = r"\s+".join(f"{figure:,}" for figure in figures) + "$"
        assert sum(bool(re.search(pattern, line)) for line in lines) >= 1, pattern
    names = column(lines, header_row, "Segment", "Priority")
    assert names.startswith(squeezed(*(row["segment"] for row in rows)))


def test_the_runs_table_shows_every_column_at_80_columns(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    crm.seed_contacts(60, seed=3)
    settings = make_settings(crm, SEGMENTS, tmp_path)
    run_sync(connector, settings, dry_run=True, progress=SilentProgress())
    run_sync(connector, settings, dry_run=False, progress=SilentProgress())
    store = StateStore(settings.state_url(), settings.sync.name)
    runs = store.runs()
    lines = rendered(print_runs, store, settings.sync.name, as_json=False)
    store.close()

    (header_row,) = [i for i, line in enumerate(lines) if line.startswith("Run ")]
    above, header = lines[header_row - 1].split(), lines[header_row].split()
    assert above == ["Started", "List", "List", "API"]
    assert header == [
        "Run", "(UTC)", "Took", "Mode", "Status", "Contacts", "Writes", "+", "−", "Refused",
        "calls",
    ]
    statuses = column(lines, header_row, "Status", "Contacts")
    assert statuses == squeezed("done", "planned (dry run)")
    for run in runs:
        (row,) = [line for line in lines if line.startswith(f"{run.id:>3} ")]
        assert row.endswith(f" {run.failures:,} {run.api_calls:>5,}")


def test_the_failures_table_shows_every_column_at_80_columns(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db", "default")
    run_id = store.start_run(RunMode.FULL, dry_run=False)
    message = f"Property values were not valid: {LONG_WORD} is not an option of {LONG_NAME}"
    refusals = [
        RecordFailure(f"{51 + i}", run_id, "INVALID_OPTION", message, False, 0) for i in range(2)
    ]
    effect = BatchEffect("write", "properties", 2, failures=tuple(refusals))
    store.record_batch(run_id, 1, effect, refusals=refusals)
    store.finish_run(run_id, RunStatus.DONE_WITH_FAILURES, failures=2)
    lines = rendered(print_failures, store, SyncOptions(state_dir=tmp_path), as_json=False)
    store.close()

    (header_row,) = [i for i, line in enumerate(lines) if line.startswith("Contact ")]
    assert lines[header_row - 1].split() == ["Last"]
    assert lines[header_row].split() == [
        "Contact", "Code", "Message", "Retryable", "Attempts", "run"
    ]
    rows = [line for line in lines if re.match(r"5[12] ", line)]
    assert [row.split()[-3:] for row in rows] == [["no", "1", str(run_id)]] * 2
    messages = column(lines, header_row, "Message", "Retryable")
    assert messages.startswith(squeezed(message, message))


def test_the_check_table_shows_every_column_at_80_columns(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    folder = tmp_path / ("a-very-long-folder-name-" * 3) / "nested"
    folder.mkdir(parents=True)
    path = write_hubspot_config(folder, crm.base_url, rule=f'jobtitle = "{LONG_WORD}"')
    result = run_checks(path, open_connector)
    assert len(result.checks) == 13
    lines = rendered(print_checks, result, str(path))

    (header_row,) = [i for i, line in enumerate(lines) if line.startswith("Check ")]
    assert lines[header_row].split() == ["Check", "Result", "Detail", "or", "fix"]
    details = column(lines, header_row, "Detail or fix", None)
    assert details.startswith(squeezed(*(check.detail for check in result.checks)))


def test_a_table_too_wide_for_the_terminal_prints_each_row_as_lines() -> None:
    table = narrow_table("Eleven counts")
    text_column(table, "Segment")
    headers = [f"Count {i}" for i in range(10)]
    for header in headers:
        number_column(table, header)
    table.add_row(Text(LONG_NAME), *(f"{1_234_567 + i:,}" for i in range(10)))
    lines = rendered(print_table, table)

    assert lines[0] == "Eleven counts"
    assert lines[1].startswith("Segment  ")
    name_lines = lines[1 : lines.index(f"Count 0  {1_234_567:,}")]
    assert squeezed(*(line.removeprefix("Segment") for line in name_lines)) == squeezed(LONG_NAME)
    for i, header in enumerate(headers):
        assert f"{header}  {1_234_567 + i:,}" in lines
