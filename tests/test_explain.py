"""``segsync explain CONTACT`` through the CLI, checked against the hand-computed segments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from tests.conftest import TOKEN
from tests.expectations import expected_segments, number

runner = CliRunner()

CONFIG = """
[hubspot]
base_url = "{base_url}"

[sync]
state_dir = "{state_dir}"
fallback_segment = "Everyone else"

[[segments]]
name = "Big"
priority = 100
rule = {{ field = "employees", op = ">=", value = 200 }}

[[segments]]
name = "Engaged"
priority = 50
rule = "hs_email_open >= 5"

[[segments]]
name = "Buyers"
priority = 50
rule = "num_purchases > 0 and employees < 200"
"""


@pytest.fixture
def config(tmp_path: Path, crm: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "segsync.toml"
    path.write_text(CONFIG.format(base_url=crm.base_url, state_dir=tmp_path))
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    return path


def explain(contact_id: str, config: Path) -> dict:
    result = runner.invoke(app, ["explain", contact_id, "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def synced(crm: HubSpotSandbox, config: Path) -> list[str]:
    ids = crm.seed_contacts(300, seed=91)
    assert runner.invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    return ids


def first(crm: HubSpotSandbox, ids: list[str], matched: list[str]) -> str:
    return next(i for i in ids if expected_segments(crm.store.contact(i)) == matched)


def test_explain_names_the_matched_segments_their_conditions_and_the_primary(
    crm: HubSpotSandbox, config: Path
) -> None:
    ids = synced(crm, config)
    contact = first(crm, ids, ["Big", "Engaged"])
    values = crm.store.contact(contact)
    answer = explain(contact, config)

    assert answer["primary"] == "Big"
    assert answer["segments"] == ["Big", "Engaged"]
    assert answer["why_primary"] == "'Big' has the highest priority of the 2 it matched (100 > 50)"
    checks = {check["name"]: check for check in answer["checks"]}
    assert {name: check["matched"] for name, check in checks.items()} == {
        "Big": True,
        "Engaged": True,
        "Buyers": False,
    }
    buyers = checks["Buyers"]["conditions"]
    assert [(c["condition"], c["held"]) for c in buyers] == [
        ("num_purchases > 0", (number(values, "num_purchases") or 0) > 0),
        ("employees < 200", False),
    ]
    assert buyers[1]["values"] == {"employees": number(values, "employees")}
    assert answer["in_crm"]["segsync_segment"] == "Big"


def test_a_tie_in_priority_is_settled_by_config_order_and_said_so(
    crm: HubSpotSandbox, config: Path
) -> None:
    ids = synced(crm, config)
    answer = explain(first(crm, ids, ["Engaged", "Buyers"]), config)
    assert answer["primary"] == "Engaged"
    assert answer["why_primary"] == (
        "'Engaged' and 'Buyers' share the highest priority (50); "
        "'Engaged' comes first in the config, which settles ties"
    )


def test_a_contact_in_no_segment_is_explained_by_the_fallback(
    crm: HubSpotSandbox, config: Path
) -> None:
    ids = synced(crm, config)
    contact = first(crm, ids, [])
    answer = explain(contact, config)
    assert answer["primary"] == "Everyone else" and answer["segments"] == []
    assert answer["why_primary"] == (
        "no segment matched, so the fallback segment 'Everyone else' is primary"
    )
    human = runner.invoke(app, ["explain", contact, "--config", str(config)])
    assert human.exit_code == 0
    assert f"Contact {contact}: primary segment Everyone else" in " ".join(human.output.split())


def test_an_unknown_contact_or_a_sync_never_run_is_a_clear_error(
    crm: HubSpotSandbox, config: Path
) -> None:
    crm.seed_contacts(20, seed=92)
    never = runner.invoke(app, ["explain", "51", "--config", str(config)])
    assert never.exit_code == 2
    assert "sync 'default' has no run yet: run segsync sync first" in never.output
    assert runner.invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    unknown = runner.invoke(app, ["explain", "999999", "--config", str(config)])
    assert unknown.exit_code == 2
    assert "contact '999999' was not in the last run of sync 'default'" in " ".join(
        unknown.output.split()
    )
