"""Who moved, as people read it: the report's migration matrix (the last run's, and with
``--since`` a period's, net of contacts that moved twice) and ``runs show``'s largest moves,
after a planted week of changes in the sandbox portal."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from tests.conftest import TOKEN
from tests.expectations import SEGMENTS, segments_toml
from tests.support.migration import THE_WEEK, plant_a_week, seed_segments

runner = CliRunner()

NET_OF_BOTH_RUNS = Counter({("(none)", "Engaged"): 6, ("(none)", "Big"): 4, ("(none)", "Buyers"): 3})
"""Runs 1 and 2 seen as one period: each contact from its first previous segment (none) to its
last one; the Big contact that lost its segment in the week is back where it started."""


@pytest.fixture
def config(crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A portal synced once, then again after the planted week (run 2)."""
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    path = tmp_path / "segsync.toml"
    path.write_text(
        f'[sync]\nstate_dir = "{tmp_path}"\n\n[hubspot]\nbase_url = "{crm.base_url}"\n\n'
        + segments_toml(SEGMENTS)
    )
    ids = seed_segments(crm)
    assert runner.invoke(app, ["sync", "--config", str(path)]).exit_code == 0
    plant_a_week(crm, ids)
    week = runner.invoke(app, ["sync", "--config", str(path), "--force"])
    assert week.exit_code == 0, week.output
    return str(path)


def matrix(html: str, view: str) -> Counter[tuple[str, str]]:
    """The non-empty cells of one migration matrix in the report: (from, to) → contacts."""
    section = html.split(f'<div class="migration" data-view="{view}">', 1)[1].split("</div>")[0]
    cells: Counter[tuple[str, str]] = Counter()
    for source, row in re.findall(r'<tr data-from="([^"]*)">(.*?)</tr>', section, re.S):
        for target, count in re.findall(r'data-to="([^"]*)" data-count="(\d+)"', row):
            if int(count):
                cells[(source, target)] = int(count)
    return cells


def labelled(pairs: Counter[tuple[str | None, str | None]]) -> Counter[tuple[str, str]]:
    return Counter({(a or "(none)", b or "(none)"): n for (a, b), n in pairs.items()})


def test_the_report_shows_the_last_runs_matrix_and_the_periods_net_one(
    config: str, tmp_path: Path
) -> None:
    output = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", "--config", config, "--since", "90d", "--output", str(output)]
    )

    assert result.exit_code == 0, result.output
    html = output.read_text()
    assert matrix(html, "Run 2") == labelled(THE_WEEK)
    assert matrix(html, "The last 90 days") == NET_OF_BOTH_RUNS
    big_row = html.split('<div class="migration" data-view="Run 2">', 1)[1]
    big_row = big_row.split('<tr data-from="Big">', 1)[1].split("</tr>")[0]
    assert "2 <span class=\"muted\">(66.7%)</span>" in big_row
    assert "1 <span class=\"muted\">(33.3%)</span>" in big_row


@pytest.mark.parametrize("since", ["3x", "90", "0d", "-7d", "7 days"])
def test_a_bad_since_is_one_line_and_exit_2_before_anything_runs(
    crm: HubSpotSandbox, tmp_path: Path, since: str
) -> None:
    output = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", "--config", str(tmp_path / "none.toml"), "--since", since, "-o", str(output)]
    )

    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Invalid --since: {since!r} is not a period: write a number of days or weeks, "
        "e.g. 7d, 90d or 12w"
    )
    assert not output.exists()


def test_runs_show_lists_the_largest_moves(config: str) -> None:
    shown = runner.invoke(app, ["runs", "--config", config, "--json", "show", "2"])

    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert detail["moved"] == sum(THE_WEEK.values())
    assert detail["largest_moves"] == [
        {"from": "Big", "to": "Engaged", "contacts": 2},
        {"from": None, "to": "Engaged", "contacts": 1},
        {"from": "Big", "to": None, "contacts": 1},
        {"from": "Buyers", "to": "Big", "contacts": 1},
        {"from": "Engaged", "to": "Buyers", "contacts": 1},
    ]
    table = runner.invoke(app, ["runs", "--config", config, "show", "2"]).output
    assert "moved between primary segments: 6" in table
    assert re.search(r"Big\s+Engaged\s+2", table) and re.search(r"\(none\)\s+Engaged\s+1", table)
