"""segsync changes only the lists it created (issue #10, item 2).

A list with a segment's list name that segsync did not create (a person's, a DYNAMIC one) is
never taken over silently: the run stops with exit 2 before any write, naming the list and
the config key that adopts it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from connectors.base import Transient
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.cli import app
from sync.config import ConfigError
from sync.pipeline import run_sync
from sync.progress import SilentProgress
from sync.retry import RetryPolicy
from sync.state.schema import owned_lists
from sync.state.store import StateStore
from tests.conftest import TOKEN, make_settings, writes_among
from tests.expectations import (
    SALESFORCE_CONTACTS,
    SEGMENTS,
    assert_crm_holds_desired_state,
    expected_segments,
    salesforce_org,
    sync,
    sync_salesforce,
)
from tests.safety.configs import write_config

runner = CliRunner()


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)


def _refusal(config: Path, name: str, list_id: int, segment: str) -> str:
    return (
        f"Configuration error: {config}: a CRM list named {name!r} (id {list_id}) already "
        f"exists and segsync did not create it: add {name!r} to sync.adopt_lists to let "
        f"segsync manage its members for segment {segment!r}, or rename that list in the CRM, "
        f"or change sync.list_name_pattern"
    )


@pytest.mark.parametrize("command", [["sync"], ["sync", "--dry-run"], ["plan"]])
def test_a_persons_list_with_a_segments_name_stops_the_run_before_any_write(
    crm: HubSpotSandbox, tmp_path: Path, command: list[str]
) -> None:
    ids = crm.seed_contacts(120, seed=101)
    theirs = crm.store.create_list("segsync: Big", "MANUAL")
    crm.store.add_members(theirs, ids[:3])
    config = write_config(tmp_path, crm.base_url)

    result = runner.invoke(app, [*command, "--config", str(config)])

    assert result.exit_code == 2, result.output
    refusal = _refusal(config, "segsync: Big", theirs.list_id, "Big")
    assert result.output.strip().splitlines()[-1] == refusal
    assert writes_among(crm.calls) == {}
    assert crm.store.list_members(str(theirs.list_id)) == set(ids[:3])
    assert crm.store.property("segsync_segment") is None


def test_check_names_a_list_segsync_did_not_create(crm: HubSpotSandbox, tmp_path: Path) -> None:
    crm.seed_contacts(20, seed=107)
    theirs = crm.store.create_list("segsync: Engaged", "MANUAL")
    config = write_config(tmp_path, crm.base_url)

    result = runner.invoke(app, ["check", "--config", str(config), "--json"])

    report = json.loads(result.output)
    assert (result.exit_code, report["problem"]) == (2, "config")
    assert report["checks"][-1] == {
        "name": "segment lists",
        "status": "failed",
        "detail": _refusal(config, "segsync: Engaged", theirs.list_id, "Engaged").removeprefix(
            "Configuration error: "
        ),
    }
    assert writes_among(crm.calls) == {"POST /oauth/v2/private-apps/get/access-token-info": 1}


def test_a_list_the_config_adopts_becomes_segsyncs_own(crm: HubSpotSandbox, tmp_path: Path) -> None:
    ids = crm.seed_contacts(120, seed=102)
    big = [i for i in ids if "Big" in expected_segments(crm.store.contact(i))]
    theirs = crm.store.create_list("segsync: Big", "MANUAL")
    crm.store.add_members(theirs, big[:3])
    config = write_config(tmp_path, crm.base_url, sync='adopt_lists = ["segsync: Big"]')

    first = runner.invoke(app, ["sync", "--config", str(config)])
    config.write_text(config.read_text().replace('adopt_lists = ["segsync: Big"]', ""))
    second = runner.invoke(app, ["sync", "--config", str(config), "--full"])

    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert crm.store.list_by_name("segsync: Big")["listId"] == str(theirs.list_id)
    assert crm.store.list_members(str(theirs.list_id)) == set(big)
    assert_crm_holds_desired_state(crm, ids)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", "default")
    try:
        assert store.owned_lists()["Big"].list_id == str(theirs.list_id)
    finally:
        store.close()


def test_a_dynamic_list_with_a_segments_name_stops_the_run_before_any_write(
    crm: HubSpotSandbox, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(120, seed=103)
    dynamic = crm.store.create_list(
        "segsync: Engaged",
        "DYNAMIC",
        filter_branch={"filterBranchType": "OR", "filterBranches": [], "filters": []},
    )
    crm.store.add_members(dynamic, ids[:2])
    config = write_config(tmp_path, crm.base_url)

    result = runner.invoke(app, ["sync", "--config", str(config)])

    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Configuration error: {config}: the CRM list 'segsync: Engaged' (id "
        f"{dynamic.list_id}) of segment 'Engaged' is not a static list (its members follow "
        f"filters, as in a HubSpot DYNAMIC list), so segsync cannot manage it: rename it in "
        f"the CRM, or change sync.list_name_pattern"
    )
    assert writes_among(crm.calls) == {}
    assert crm.store.property("segsync_segment") is None
    assert crm.store.list_members(str(dynamic.list_id)) == set(ids[:2])
    assert all(crm.store.contact(i).get("segsync_segment") is None for i in ids)


def test_lists_of_a_store_from_before_ownership_are_taken_once_then_guarded(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(200, seed=104)
    sync(connector, crm, tmp_path)
    lists = {name: crm.store.list_by_name(f"segsync: {name}")["listId"] for name in
             ("Big", "Engaged", "Buyers")}
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", "default")
    try:
        with store.transaction() as tx:  # what a store written by an earlier segsync holds
            tx.execute(delete(owned_lists))
        sync(connector, crm, tmp_path, full=True)
        assert {s: o.list_id for s, o in store.owned_lists().items()} == lists
    finally:
        store.close()
    assert_crm_holds_desired_state(crm, ids)

    crm.store.delete_list(lists["Big"])  # a person replaces segsync's list with their own
    theirs = crm.store.create_list("segsync: Big", "MANUAL")
    with pytest.raises(ConfigError) as refused:
        sync(connector, crm, tmp_path, full=True)
    assert f"a CRM list named 'segsync: Big' (id {theirs.list_id})" in str(refused.value)
    assert crm.store.list_members(str(theirs.list_id)) == set()


def test_a_list_whose_creation_was_cut_short_is_still_segsyncs_own(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(200, seed=106)
    crm.inject_faults("disconnect", 1, "POST /crm/v3/lists", after_commit=True)
    with pytest.raises(Transient):  # the list was made, its answer lost, and the run ended
        run_sync(
            connector,
            make_settings(crm, SEGMENTS, tmp_path),
            dry_run=False,
            progress=SilentProgress(),
            retry=RetryPolicy(attempts=1),
        )
    made = crm.store.list_by_name("segsync: Big")["listId"]

    sync(connector, crm, tmp_path)

    assert crm.calls["POST /crm/v3/lists"] == 3  # Big's once, Engaged's and Buyers' after
    assert crm.store.list_by_name("segsync: Big")["listId"] == made
    assert_crm_holds_desired_state(crm, ids)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", "default")
    try:
        assert store.owned_lists()["Big"].list_id == made
    finally:
        store.close()


def test_a_campaign_segsync_did_not_create_stops_a_salesforce_run(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(60, seed=105)
    theirs = sf_box.store.insert("Campaign", {"Name": "segsync: Buyers", "IsActive": True})
    with salesforce_org(sf_box) as org, pytest.raises(ConfigError) as refused:
        sync_salesforce(org, tmp_path)
    assert f"a CRM list named 'segsync: Buyers' (id {theirs.id})" in str(refused.value)
    assert "add 'segsync: Buyers' to sync.adopt_lists" in str(refused.value)
    assert sf_box.store.campaign_members(theirs.id) == set()
    assert [c.values["Name"] for c in sf_box.store.rows("Campaign")] == ["segsync: Buyers"]
    assert all(
        sf_box.store.record("Contact", i).get(SALESFORCE_CONTACTS.segment) is None for i in ids
    )
