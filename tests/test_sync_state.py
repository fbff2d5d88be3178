"""Runs over time: incremental pulls, guardrails, the lock, the request budget, run history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox, SandboxLimits
from sync.cli import app
from sync.guardrails import GuardrailTripped
from sync.pacing import BudgetExhausted
from sync.state.lease import SyncLocked
from sync.state.store import StateStore
from tests.conftest import TOKEN, hubspot_settings, make_settings, writes_among
from tests.expectations import SEGMENTS, assert_crm_holds_desired_state, sync

CONTACTS = 300
SEARCH = "POST /crm/v3/objects/contacts/search"
PULL = "GET /crm/v3/objects/contacts"


def test_second_run_is_incremental_and_fixes_exactly_what_changed(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=51)
    assert sync(connector, crm, tmp_path).mode == "full"
    small = next(i for i in ids if (crm.store.contact(i).get("employees") or "0").isdigit())
    crm.store.set_properties(small, {"employees": "5000", "hs_email_open": "0"})
    crm.store.set_properties(ids[1], {"segsync_segment": "Buyers"})  # a hand edit
    before = crm.calls.copy()
    logged = len(crm.call_log)
    second = sync(connector, crm, tmp_path)
    new = crm.calls - before
    assert second.mode == "incremental"
    # One search for the changes and one read of the archive (deletions); no full listing.
    listings = [call.query for call in crm.call_log[logged:] if call.route == PULL]
    assert new[SEARCH] == 1 and ["archived=true" in query.lower() for query in listings] == [True]
    assert {w.contact_id for w in second.plan.writes} <= {small, ids[1]}
    assert small in {w.contact_id for w in second.plan.writes}
    assert_crm_holds_desired_state(crm, ids)
    third = sync(connector, crm, tmp_path)
    assert third.mode == "incremental" and third.plan.is_empty


def test_a_property_deleted_by_a_person_forces_a_full_run_and_is_recreated(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=52)
    sync(connector, crm, tmp_path)
    crm.store.delete_property("segsync_segments")
    outcome = sync(connector, crm, tmp_path)
    assert outcome.mode == "full"
    assert_crm_holds_desired_state(crm, ids)


def test_a_plan_emptying_a_list_trips_the_guardrail_and_writes_nothing(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=53)
    sync(connector, crm, tmp_path)
    narrowed = [SEGMENTS[0], dict(SEGMENTS[1], rule="hs_email_open >= 100000"), SEGMENTS[2]]
    before = crm.calls.copy()
    with pytest.raises(GuardrailTripped) as caught:
        sync(connector, crm, tmp_path, segments=narrowed)
    problems = caught.value.args[0].problems
    assert len(problems) == 1
    assert problems[0].startswith("list 'segsync: Engaged' would lose ")
    assert problems[0].endswith("members (more than 20%)")
    assert writes_among(crm.calls - before) == {}
    assert_crm_holds_desired_state(crm, ids)  # still the old, complete state
    forced = sync(connector, crm, tmp_path, segments=narrowed, force=True)
    assert forced.status == "done"
    engaged = crm.store.list_by_name("segsync: Engaged")
    assert crm.store.list_members(engaged["listId"]) == set()


def test_a_pull_much_smaller_than_last_time_trips_the_guardrail(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=54)
    sync(connector, crm, tmp_path)
    for contact_id in ids[: CONTACTS // 3]:
        crm.store.archive_contact(contact_id)
    with pytest.raises(GuardrailTripped) as caught:
        sync(connector, crm, tmp_path, full=True)
    assert caught.value.args[0].problems == (
        f"the pull returned {CONTACTS - CONTACTS // 3:,} contacts, against {CONTACTS:,} last "
        "time (fewer than 80%)",
    )


def test_a_second_run_of_the_same_sync_is_refused_while_one_runs(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    crm.seed_contacts(10, seed=55)
    settings = make_settings(crm, SEGMENTS, tmp_path)
    holder = StateStore(settings.state_url(), settings.sync.name)
    with holder.lock():
        with pytest.raises(SyncLocked, match="sync 'default' is already running"):
            sync(connector, crm, tmp_path)
    holder.close()
    assert writes_among(crm.calls) == {}


def test_a_spent_budget_stops_cleanly_and_the_next_runs_finish(tmp_path: Path) -> None:
    with HubSpotSandbox(token=TOKEN, limits=SandboxLimits(daily=60)) as crm:
        ids = crm.seed_contacts(1000, seed=56)
        connector = HubSpotConnector(hubspot_settings(crm))
        runs = 0
        while True:
            runs += 1
            try:
                sync(connector, crm, tmp_path)
                break
            except BudgetExhausted:
                assert runs < 10
        connector.close()
        assert runs > 1
        assert_crm_holds_desired_state(crm, ids)
    store = StateStore(make_settings(crm, SEGMENTS, tmp_path).state_url(), "default")
    history = store.runs()
    store.close()
    assert [r.status for r in reversed(history)] == ["budget_exhausted"] * (runs - 1) + ["done"]
    assert all(r.api_calls <= 30 for r in history)  # half of the daily 60, the default share


def test_opted_out_and_held_out_contacts_stay_out_of_lists_but_get_the_property(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=57)
    segments = [dict(SEGMENTS[1], holdout=0.25)]  # Engaged, a quarter held out
    outcome = sync(
        connector,
        crm,
        tmp_path,
        segments=segments,
        sync_options={"opt_out_field": "hs_email_optout"},
    )
    engaged = {i for i in ids if crm.store.contact(i).get("segsync_segment") == "Engaged"}
    opted_out = {i for i in engaged if crm.store.contact(i).get("hs_email_optout") == "true"}
    members = crm.store.list_members(crm.store.list_by_name("segsync: Engaged")["listId"])
    assert opted_out and members <= engaged - opted_out
    held_out = engaged - opted_out - members
    assert 0.15 < len(held_out) / len(engaged - opted_out) < 0.35
    assert outcome.kept_out == {"Engaged": len(engaged - members)}


def test_runs_and_runs_show_through_the_cli(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.seed_contacts(80, seed=58)
    config = tmp_path / "segsync.toml"
    config.write_text(
        f'[sync]\nstate_dir = "{tmp_path}"\n[hubspot]\nbase_url = "{crm.base_url}"\n'
        '[[segments]]\nname = "Engaged"\npriority = 1\nrule = "hs_email_open >= 5"\n'
    )
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    runner = CliRunner()
    assert runner.invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    assert runner.invoke(app, ["plan", "--config", str(config)]).exit_code == 0
    listed = runner.invoke(app, ["runs", "--config", str(config), "--json"])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.output)
    assert [(r["id"], r["mode"], r["status"], r["dry_run"]) for r in runs] == [
        (2, "incremental", "planned", True),
        (1, "full", "done", False),
    ]
    shown = runner.invoke(app, ["runs", "--config", str(config), "--json", "show", "1"])
    detail = json.loads(shown.output)
    assert detail["batches_done"] == detail["batches_planned"] > 0
    assert detail["refused_records"] == []
    missing = runner.invoke(app, ["runs", "--config", str(config), "show", "99"])
    assert missing.exit_code == 2
    assert "no run 99 in sync 'default'" in missing.output
