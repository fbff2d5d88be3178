"""Lists of segments no longer configured (issue #10, item 9).

A segment renamed or removed (or a cluster gone after a refit) leaves its list behind: an
orphan. Every run reports it, in the plan and the summary; the sync acts on it only as
``[sync] orphan_lists`` says: "keep" (default), "empty" or "delete". Emptying or deleting a
list with members counts as removing them all, so the guardrail stops it until ``--force``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.cli import app
from sync.guardrails import GuardrailTripped
from sync.outcome import SyncOutcome
from sync.pipeline import run_sync
from sync.progress import SilentProgress
from tests.conftest import TOKEN, writes_among
from tests.expectations import (
    SALESFORCE_CONTACTS,
    salesforce_org,
    salesforce_sync_settings,
    sync_salesforce,
)
from tests.safety.configs import write_config

runner = CliRunner()
KEPT = ("Big", "Engaged")


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)


def run(config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["sync", "--config", str(config), "--json", *args])
    data = json.loads(result.output) if result.exit_code in (0, 1) else {"error": result.output}
    return result.exit_code, data


def synced_then_buyers_removed(
    crm: HubSpotSandbox, tmp_path: Path, action: str | None
) -> tuple[Path, str]:
    """A sync of the three test segments, then a config without Buyers (and with
    ``orphan_lists = action`` unless None); Buyers' list id."""
    crm.seed_contacts(300, seed=131)
    config = write_config(tmp_path, crm.base_url)
    assert run(config)[0] == 0
    orphans = f'orphan_lists = "{action}"' if action else ""
    write_config(tmp_path, crm.base_url, segments=KEPT, sync=orphans)
    return config, crm.store.list_by_name("segsync: Buyers")["listId"]


def test_an_orphan_list_is_reported_every_run_and_kept(crm: HubSpotSandbox, tmp_path: Path) -> None:
    config, buyers = synced_then_buyers_removed(crm, tmp_path, None)  # keep, the default
    members = crm.store.list_members(buyers)

    plan = runner.invoke(app, ["plan", "--config", str(config)])
    first_code, first = run(config)
    second_code, second = run(config)

    orphan = {
        "segment": "Buyers",
        "list_name": "segsync: Buyers",
        "list_id": buyers,
        "members": len(members),
        "action": "keep",
    }
    assert (plan.exit_code, first_code, second_code) == (0, 0, 0), plan.output
    assert (
        f"Orphan list 'segsync: Buyers' (segment 'Buyers' is no longer configured): "
        f'{len(members)} members, kept (sync.orphan_lists = "keep")\n'
    ) in plan.output
    assert first["orphan_lists"] == second["orphan_lists"] == [orphan]
    assert [s["segment"] for s in first["segments"]] == list(KEPT)
    assert crm.store.list_members(buyers) == members


def test_emptying_an_orphan_list_needs_force_then_empties_it(
    crm: HubSpotSandbox, tmp_path: Path
) -> None:
    config, buyers = synced_then_buyers_removed(crm, tmp_path, "empty")
    members = crm.store.list_members(buyers)
    calls = crm.calls.copy()

    stopped_code, stopped = run(config)

    assert stopped_code == 4
    assert stopped["error"].strip() == (
        "Guardrail: orphan list 'segsync: Buyers' (segment 'Buyers' is no longer configured) "
        f"would be emptied: it loses all its {len(members)} members. Nothing was written; "
        "rerun with --force if this is intended."
    )
    assert writes_among(crm.calls - calls) == {}
    assert crm.store.list_members(buyers) == members

    forced_code, forced = run(config, "--force")
    after_code, after = run(config)

    assert (forced_code, after_code) == (0, 0)
    assert crm.store.list_members(buyers) == set()
    assert crm.store.list_by_name("segsync: Buyers")["listId"] == buyers
    assert forced["orphan_lists"][0]["members"] == len(members)
    assert after["orphan_lists"] == [
        {
            "segment": "Buyers",
            "list_name": "segsync: Buyers",
            "list_id": buyers,
            "members": 0,
            "action": "empty",
        }
    ]


def test_deleting_an_orphan_list_needs_force_then_deletes_and_forgets_it(
    crm: HubSpotSandbox, tmp_path: Path
) -> None:
    config, buyers = synced_then_buyers_removed(crm, tmp_path, "delete")
    members = crm.store.list_members(buyers)

    stopped_code, stopped = run(config)
    assert stopped_code == 4
    assert "would be deleted: it loses all its" in stopped["error"]
    assert crm.store.list_record(buyers).deleted_ms is None

    calls = crm.calls.copy()
    forced_code, forced = run(config, "--force")
    after_code, after = run(config)

    assert (forced_code, after_code) == (0, 0)
    assert writes_among(crm.calls - calls) == {
        "DELETE /crm/v3/lists/{listId}": 1,
        "POST /crm/v3/objects/contacts/batch/update": 1,
    }
    assert crm.store.list_by_name("segsync: Buyers") is None
    assert crm.store.list_record(buyers).deleted_ms is not None
    assert crm.store.list_members(buyers) == members  # HubSpot keeps a deleted list restorable
    assert forced["orphan_lists"][0]["action"] == "delete"
    assert after["orphan_lists"] == []


def test_an_orphan_salesforce_campaign_is_deleted_when_forced(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    sf_box.seed_contacts(150, seed=132)
    with salesforce_org(sf_box) as org:
        sync_salesforce(org, tmp_path)
        buyers = sf_box.store.campaign_by_name("segsync: Buyers")["Id"]
        members = sf_box.store.campaign_members(buyers)
        settings = salesforce_sync_settings(
            org, tmp_path, SALESFORCE_CONTACTS, orphan_lists="delete"
        )
        settings.segments = [s for s in settings.segments if s.name != "Buyers"]

        def run_salesforce(force: bool) -> SyncOutcome:
            return run_sync(
                org, settings, dry_run=False, progress=SilentProgress(), force=force
            )

        with pytest.raises(GuardrailTripped):
            run_salesforce(force=False)
        assert sf_box.store.campaign_members(buyers) == members
        forced = run_salesforce(force=True)
        after = run_salesforce(force=False)

    assert [(o.segment, o.members, o.action) for o in forced.plan.orphans] == [
        ("Buyers", len(members), "delete")
    ]
    assert sf_box.store.campaign_by_name("segsync: Buyers") is None
    assert after.plan.orphans == ()
