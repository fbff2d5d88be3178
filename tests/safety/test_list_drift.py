"""Members changed by hand are repaired by the next ordinary run (issue #10, item 8).

Adding or removing a list member by hand does not bump the contact's modification date, so
an incremental run does not pull it. Each run compares every list's member count, as the CRM
reports it with the list, with the members segsync remembers, and re-reads only the lists
that differ; the ordinary plan then repairs them. A run with no drift reads no members.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.cli import app
from tests.conftest import TOKEN
from tests.expectations import (
    SALESFORCE_CONTACTS,
    SalesforceView,
    assert_crm_holds_desired_state,
    assert_holds_desired_state,
    expected_segments,
    salesforce_org,
    sync_salesforce,
)
from tests.safety.configs import write_config

runner = CliRunner()
MEMBERSHIPS = "GET /crm/v3/lists/{listId}/memberships"
MEMBER_CHANGES = (
    "PUT /crm/v3/lists/{listId}/memberships/add",
    "PUT /crm/v3/lists/{listId}/memberships/remove",
)


def _run(config: Path) -> dict[str, Any]:
    result = runner.invoke(app, ["sync", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_hand_added_and_a_hand_removed_member_are_repaired_by_an_incremental_run(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    ids = crm.seed_contacts(300, seed=111)
    config = write_config(tmp_path, crm.base_url)
    _run(config)
    engaged = crm.store.list_record(crm.store.list_by_name("segsync: Engaged")["listId"])
    buyers = crm.store.list_record(crm.store.list_by_name("segsync: Buyers")["listId"])
    outsider = next(i for i in ids if "Engaged" not in expected_segments(crm.store.contact(i)))
    leaver = min(crm.store.list_members(str(buyers.list_id)), key=int)
    crm.store.add_members(engaged, [outsider])  # by hand, in the CRM
    crm.store.remove_members(buyers, [leaver])

    before = crm.calls.copy()
    repaired = _run(config)
    during = crm.calls - before

    assert [(s["segment"], s["list_adds"], s["list_removes"]) for s in repaired["segments"]] == [
        ("Big", 0, 0),
        ("Engaged", 0, 1),
        ("Buyers", 1, 0),
    ]
    assert outsider not in crm.store.list_members(str(engaged.list_id))
    assert leaver in crm.store.list_members(str(buyers.list_id))
    assert_crm_holds_desired_state(crm, ids)
    assert {route: during[route] for route in MEMBER_CHANGES} == dict.fromkeys(MEMBER_CHANGES, 1)
    assert during[MEMBERSHIPS] == 2  # one page each of Engaged and Buyers, none of Big


    before = crm.calls.copy()
    quiet = _run(config)
    during = crm.calls - before
    assert quiet["property_writes"] == 0
    assert during[MEMBERSHIPS] == 0
    assert all(during[route] == 0 for route in MEMBER_CHANGES)
    assert_crm_holds_desired_state(crm, ids)


def test_campaign_members_changed_by_hand_are_repaired_by_an_incremental_run(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(150, seed=112)
    view = SalesforceView(sf_box)
    with salesforce_org(sf_box) as org:
        sync_salesforce(org, tmp_path)
        engaged = sf_box.store.campaign_by_name("segsync: Engaged")["Id"]
        buyers = sf_box.store.campaign_by_name("segsync: Buyers")["Id"]
        outsider = next(
            i
            for i in ids
            if "Engaged" not in expected_segments(view.values(i), SALESFORCE_CONTACTS)
        )
        leaver = min(sf_box.store.campaign_members(buyers))
        sf_box.store.insert(  # by hand, in the CRM
            "CampaignMember", {"CampaignId": engaged, "ContactId": outsider, "Status": "Sent"}
        )
        sf_box.store.delete("CampaignMember", sf_box.store.membership(buyers, leaver).id)

        repaired = sync_salesforce(org, tmp_path)
        quiet = sync_salesforce(org, tmp_path)

    changes = {c.segment: (c.add, c.remove) for c in repaired.plan.list_changes}
    assert repaired.mode == "incremental"
    assert changes == {"Big": ((), ()), "Engaged": ((), (outsider,)), "Buyers": ((leaver,), ())}
    assert quiet.plan.is_empty
    assert_holds_desired_state(view, ids, SALESFORCE_CONTACTS)
