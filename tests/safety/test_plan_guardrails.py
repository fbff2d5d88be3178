"""``plan`` shows every guardrail problem, and a first sync does not overwrite others' values
(issue #10, item 9).

``plan`` and ``plan --json`` print the whole plan with exactly the problems ``sync --dry-run``
stops on, and exit 4 like it. A first sync (segsync never wrote to this CRM) that would
overwrite non-empty values of segsync's fields stops, naming the field and the count.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.base import SegmentField
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from tests.conftest import TOKEN, writes_among
from tests.expectations import assert_crm_holds_desired_state, expected_segments
from tests.safety.configs import write_config

runner = CliRunner()
NOTHING_WRITTEN = ". Nothing was written; rerun with --force if this is intended."


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_plan_shows_the_problems_sync_dry_run_stops_on(crm: HubSpotSandbox, tmp_path: Path) -> None:
    crm.seed_contacts(300, seed=121)
    config = write_config(tmp_path, crm.base_url)
    assert invoke("sync", "--config", str(config))[0] == 0
    config.write_text(config.read_text().replace("hs_email_open >= 5", "hs_email_open >= 50"))
    engaged = crm.store.list_by_name("segsync: Engaged")["listId"]
    members = crm.store.list_members(engaged)
    calls = crm.calls.copy()

    dry_code, dry_output = invoke("sync", "--dry-run", "--config", str(config))
    plan_code, plan_output = invoke("plan", "--config", str(config))
    json_code, json_output = invoke("plan", "--json", "--config", str(config))

    leaving = sum(
        1 for i in members if float(crm.store.contact(i)["hs_email_open"] or 0) < 50
    )
    problem = (
        f"list 'segsync: Engaged' would lose {leaving:,} of its {len(members):,} members "
        f"(more than 20%)"
    )
    assert (dry_code, plan_code, json_code) == (4, 4, 4)
    assert dry_output.strip().splitlines()[-1] == f"Guardrail: {problem}{NOTHING_WRITTEN}"
    assert f"Guardrail: {problem}\n" in plan_output
    assert "Engaged" in plan_output and "Dry run: nothing was written." in plan_output
    assert json.loads(json_output)["guardrail_problems"] == [problem]
    assert writes_among(crm.calls - calls) == {}
    assert crm.store.list_members(engaged) == members


def test_a_first_sync_over_values_segsync_did_not_write_stops_until_forced(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(200, seed=122)
    # Another tool made a field of segsync's name and filled it on three contacts.
    connector.ensure_segment_field(SegmentField("segsync_reason", "Reason", "", "text"))
    matched = [i for i in ids if expected_segments(crm.store.contact(i))]
    unmatched = next(i for i in ids if not expected_segments(crm.store.contact(i)))
    theirs = [*matched[:2], unmatched]
    for contact_id in theirs:
        crm.store.set_properties(contact_id, {"segsync_reason": "imported by another tool"})
    config = write_config(tmp_path, crm.base_url)
    calls = crm.calls.copy()

    code, output = invoke("sync", "--config", str(config))
    plan_code, plan_output = invoke("plan", "--json", "--config", str(config))

    problem = (
        "this first sync would overwrite non-empty values segsync did not write: "
        "3 of segsync_reason"
    )
    assert (code, plan_code) == (4, 4)
    assert output.strip().splitlines()[-1] == f"Guardrail: {problem}{NOTHING_WRITTEN}"
    assert json.loads(plan_output)["guardrail_problems"] == [problem]
    assert writes_among(crm.calls - calls) == {}
    assert crm.store.property("segsync_segment") is None
    for contact_id in theirs:
        assert crm.store.contact(contact_id)["segsync_reason"] == "imported by another tool"

    assert invoke("sync", "--force", "--config", str(config))[0] == 0
    assert_crm_holds_desired_state(crm, ids)
    crm.store.set_properties(matched[0], {"segsync_reason": "a person's edit"})
    assert invoke("sync", "--config", str(config))[0] == 0  # no longer a first sync
    assert_crm_holds_desired_state(crm, ids)
