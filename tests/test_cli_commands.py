"""Every command's success and its main error paths, through the command line.

``test_cli`` covers sync, report, audit, demo and connectors succeeding and sync's own errors;
``test_init``, ``test_check`` and ``test_sandbox_serve`` cover their commands. This module
covers the rest: plan, runs, runs show, schedule, the errors of report, audit and demo, and
the global --log-file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config, writes_among

runner = CliRunner()


def write_config(tmp_path: Path, crm: HubSpotSandbox, **options: Any) -> Path:
    return write_hubspot_config(tmp_path, crm.base_url, **options)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``schedule`` sets up logging for its process; a test process must get its own back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


# -- plan ------------------------------------------------------------------------------------


def test_plan_shows_the_changes_and_writes_nothing(
    crm: HubSpotSandbox, tmp_path: Path, token: None
) -> None:
    crm.seed_contacts(60, seed=51)
    result = runner.invoke(app, ["plan", "--config", str(write_config(tmp_path, crm)), "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["dry_run"] and plan["property_writes"] > 0
    assert writes_among(crm.calls) == {}


def test_plan_shows_each_sampled_write_before_and_after_and_its_cost(
    crm: HubSpotSandbox, tmp_path: Path, token: None
) -> None:
    ids = crm.seed_contacts(60, seed=53)
    config = str(write_config(tmp_path, crm))
    first = runner.invoke(app, ["plan", "--config", config])  # the fields do not exist yet
    assert "    segsync_segment: (empty) → Big\n" in first.output and "nan" not in first.output
    assert runner.invoke(app, ["sync", "--config", config]).exit_code == 0
    big = next(i for i in ids if crm.store.contact(i).get("segsync_segment") == "Big")
    crm.store.set_properties(big, {"segsync_segment": "Edited by hand"})
    result = runner.invoke(app, ["plan", "--config", config])
    assert result.exit_code == 0, result.output
    assert f"contact {big}:\n    segsync_segment: Edited by hand → Big\n" in result.output
    assert "Estimated: 1 write call, about 0.1 s at 19 requests/s." in result.output
    assert crm.store.contact(big)["segsync_segment"] == "Edited by hand"


def test_plan_without_a_config_file_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert one_line(result.output).startswith(
        f"Configuration error: {tmp_path / 'nope.toml'}: no such config file"
    )


# -- runs, runs show -----------------------------------------------------------------------


def test_runs_lists_the_syncs_and_show_details_one(
    crm: HubSpotSandbox, tmp_path: Path, token: None
) -> None:
    crm.seed_contacts(40, seed=52)
    config = str(write_config(tmp_path, crm))
    assert runner.invoke(app, ["sync", "--config", config]).exit_code == 0
    listed = runner.invoke(app, ["runs", "--config", config, "--json"])
    assert listed.exit_code == 0, listed.output
    [run] = json.loads(listed.output)
    assert (run["id"], run["status"], run["contacts"]) == (1, "done", 40)
    shown = runner.invoke(app, ["runs", "--config", config, "--json", "show", "1"])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert (detail["id"], detail["writes"]) == (1, run["writes"]) and run["writes"] > 0


def test_runs_show_of_an_unknown_run_is_exit_2(crm: HubSpotSandbox, tmp_path: Path) -> None:
    result = runner.invoke(app, ["runs", "--config", str(write_config(tmp_path, crm)), "show", "9"])
    assert result.exit_code == 2
    assert one_line(result.output) == "Not found: no run 9 in sync 'default'"


def test_runs_of_an_invalid_config_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "segsync.toml"
    path.write_text("[sync\nname = 1\n")
    result = runner.invoke(app, ["runs", "--config", str(path)])
    assert result.exit_code == 2
    assert one_line(result.output).startswith(f"Configuration error: {path}: not valid TOML")


# -- report, audit, demo -------------------------------------------------------------------


def test_report_with_a_wrong_token_is_exit_3_and_writes_no_file(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", "pat-wrong")
    output = tmp_path / "report.html"
    config = str(write_config(tmp_path, crm))
    result = runner.invoke(app, ["report", "--config", config, "--output", str(output)])
    assert result.exit_code == 3
    assert one_line(result.output).startswith("Authentication failed: HubSpot rejected the")
    assert not output.exists()


def test_audit_of_a_config_with_an_unknown_section_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "segsync.toml"
    path.write_text('[hubspot]\nbase_url = "http://127.0.0.1:9"\n\n[hubspott]\ntoken_ttl = 1\n')
    result = runner.invoke(app, ["audit", "--config", str(path)])
    assert result.exit_code == 2
    assert "unknown key 'hubspott'" in one_line(result.output)


def test_demo_with_no_contacts_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--contacts", "0", "--report", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "Invalid value for '--contacts'" in result.output
    assert not (tmp_path / "r.html").exists()


# -- schedule ------------------------------------------------------------------------------


def test_schedule_once_runs_each_sync_and_records_it(
    crm: HubSpotSandbox, tmp_path: Path, token: None, restore_logging: None
) -> None:
    ids = crm.seed_contacts(50, seed=53)
    config = write_config(tmp_path, crm, schedule="0 6 * * 1-5")
    result = runner.invoke(app, ["schedule", "--config", str(config), "--once"])
    assert result.exit_code == 0, result.output
    [run] = json.loads(runner.invoke(app, ["runs", "--config", str(config), "--json"]).output)
    assert (run["status"], run["dry_run"], run["contacts"]) == ("done", False, 50)
    assert any(crm.store.contact(i).get("segsync_segment") == "Big" for i in ids)


def test_schedule_once_goes_on_after_a_failing_sync_and_exits_with_its_code(
    crm: HubSpotSandbox, tmp_path: Path, token: None, restore_logging: None
) -> None:
    crm.seed_contacts(30, seed=54)
    failing = write_config(tmp_path, crm, name="typo", schedule="0 6 * * *", rule="employes > 1")
    working = write_config(tmp_path, crm, name="nightly", schedule="0 6 * * *")
    args = ["schedule", "-c", str(failing), "-c", str(working), "--once"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert 'unknown field "employes"' in result.output
    [run] = json.loads(runner.invoke(app, ["runs", "--config", str(working), "--json"]).output)
    assert run["status"] == "done"


def test_schedule_of_a_config_without_a_schedule_is_exit_2(
    crm: HubSpotSandbox, tmp_path: Path, restore_logging: None
) -> None:
    config = write_config(tmp_path, crm)
    result = runner.invoke(app, ["schedule", "--config", str(config)])
    assert result.exit_code == 2
    assert one_line(result.output) == (
        f"Configuration error: {config}: sync.schedule is not set (a cron expression)"
    )


def test_schedule_with_a_bad_cron_is_exit_2_before_anything_runs(
    crm: HubSpotSandbox, tmp_path: Path, restore_logging: None
) -> None:
    config = write_config(tmp_path, crm, schedule="0 25 * * *")
    result = runner.invoke(app, ["schedule", "--config", str(config), "--once"])
    assert result.exit_code == 2
    assert one_line(result.output).startswith(
        "Configuration error: sync 'default': bad cron expression '0 25 * * *'"
    )
    assert crm.calls == {}


# -- the global options --------------------------------------------------------------------


def test_a_log_file_that_cannot_be_opened_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "segsync.log"
    result = runner.invoke(app, ["--log-file", str(path), "connectors"])
    assert result.exit_code == 2
    assert one_line(result.output) == (
        f"Cannot open the log file: [Errno 2] No such file or directory: '{path}'"
    )
