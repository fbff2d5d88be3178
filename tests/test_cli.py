"""The command line: exit codes and one clear line for every error a person can fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from tests.conftest import TOKEN, DemoRun, write_hubspot_config, writes_among
from tests.support.webhook import Webhook

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, crm: HubSpotSandbox) -> Path:
    return write_hubspot_config(tmp_path, crm.base_url)


def test_sync_then_resync_plans_nothing(
    crm: HubSpotSandbox, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = crm.seed_contacts(150, seed=21)
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    first = runner.invoke(app, ["sync", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert "Big" in first.output
    second = runner.invoke(app, ["sync", "--config", str(config), "--json"])
    assert second.exit_code == 0, second.output
    assert '"property_writes": 0' in second.output
    big = [i for i in ids if crm.store.contact(i).get("segsync_segment") == "Big"]
    assert len(big) > 0


def test_wrong_token_is_one_clear_line_and_exit_3(
    crm: HubSpotSandbox, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", "pat-wrong")
    result = runner.invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 3
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Authentication failed: HubSpot rejected the access token (401)")
    assert "Traceback" not in result.output
    assert "pat-wrong" not in result.output


def test_missing_token_is_one_clear_line_and_exit_3(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEGSYNC_HUBSPOT__TOKEN", raising=False)
    result = runner.invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.strip() == (
        "Authentication failed: No HubSpot token: set SEGSYNC_HUBSPOT__TOKEN to a Service Key "
        "(HubSpot Settings → Integrations → Service Keys → Create; scopes: "
        "crm.objects.contacts.read, crm.objects.contacts.write, crm.schemas.contacts.read, "
        "crm.schemas.contacts.write, crm.lists.read, crm.lists.write) or a private-app access "
        "token."
    )


def test_a_bad_rule_is_a_configuration_error_with_exit_2(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.seed_contacts(20, seed=22)
    path = write_hubspot_config(tmp_path, crm.base_url, rule="employes >= 50")
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    result = runner.invoke(app, ["sync", "--config", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f'Configuration error: {path}: segment "Big": unknown field "employes" '
        '(did you mean "employees"?)'
    )
    assert writes_among(crm.calls) == {}


def test_connectors_lists_the_builtin_hubspot_connector() -> None:
    result = runner.invoke(app, ["connectors"])
    assert result.exit_code == 0
    assert result.output.split() == [
        "hubspot",
        "connectors.hubspot:HubSpotConnector",
        "salesforce",
        "connectors.salesforce:SalesforceConnector",
    ]


def test_demo_runs_end_to_end_and_ends_in_sync(demo_run: DemoRun) -> None:
    assert demo_run.exit_code == 0, demo_run.output
    text = demo_run.text
    assert "Run 1: first sync (done)" in text
    assert "Run 2: only the difference (done)" in text
    assert "0 property writes and 0 list changes planned: the CRM is in sync" in text
    html = demo_run.report
    for section in ("overview", "sizes", "overlap", "segments", "completeness", "history"):
        assert f'<section id="{section}"' in html
    assert 'data-segment="Key customers"' in html


def test_report_writes_the_segment_report_of_the_crm(
    crm: HubSpotSandbox, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.seed_contacts(120, seed=23)
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    output = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--config", str(config), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"Report written to {output}" in " ".join(result.output.split())
    assert 'data-segment="Big"' in output.read_text()
    assert writes_among(crm.calls) == {}


def test_a_failed_sync_posts_one_alert_without_the_token(
    crm: HubSpotSandbox, config: Path, monkeypatch: pytest.MonkeyPatch, webhook: Webhook
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", "pat-wrong-secret")
    monkeypatch.setenv("SEGSYNC_ALERTS__WEBHOOK_URL", webhook.url)
    result = runner.invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 3
    assert len(webhook.bodies) == 1
    text = webhook.bodies[0]["text"]
    assert text.startswith(":x: Sync *default* failed: HubSpot rejected the access token (401)")
    assert "pat-wrong-secret" not in json.dumps(webhook.bodies)


def test_audit_reports_the_completeness_of_the_rule_fields(
    crm: HubSpotSandbox, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = crm.seed_contacts(200, seed=24)
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    result = runner.invoke(app, ["audit", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    missing = sum(1 for i in ids if not (crm.store.contact(i).get("employees") or "").strip())
    employees = next(f for f in report["completeness"] if f["field"] == "employees")
    assert (report["contacts"], employees["missing"]) == (200, missing)
    assert employees["used_by"] == ["Big"]
    assert writes_among(crm.calls) == {}
