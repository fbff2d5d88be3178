"""Merged Salesforce contacts and leads (issue #15, item 4).

A Salesforce merge (``merge()`` in the SOAP API reference; Apex "Merging Records" and "Triggers
and Merge Statements") keeps the master record, saving it, and deletes the others with
``MasterRecordId`` set to the master, visible only with ``queryAll``; their campaign members
become the master's. An incremental run reads those deleted records, forgets them and gives
their memberships to the master in the state store, as it does with HubSpot's
``hs_merged_object_ids``: so it takes the master out of the campaigns it does not belong in,
which it could not see before, and keeps it in those it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

from connectors.base import DeletionPage
from connectors.salesforce import SalesforceConnector
from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce.seed import PersonObject
from sync.outcome import SyncOutcome
from tests.expectations import (
    SALESFORCE_CONTACTS,
    SALESFORCE_LEADS,
    CrmNames,
    SalesforceView,
    assert_holds_desired_state,
    expected_segments,
    salesforce_org,
    sync_salesforce,
)
from tests.support.salesforce_sync import member_rows
from tests.support.state_store import remember_a_refusal, remembered

PEOPLE = 40
ENGAGED, BUYERS = "segsync: Engaged", "segsync: Buyers"


class Org:
    """The sandbox org synced on one person object: its connector and field names."""

    def __init__(
        self,
        sf_box: SalesforceSandbox,
        sobject: PersonObject,
        names: CrmNames,
        connector: SalesforceConnector,
    ) -> None:
        self.sf_box, self.sobject, self.names = sf_box, sobject, names
        self.connector = connector
        self.view = SalesforceView(sf_box, sobject)

    def sync(self, state: Path, **options: Any) -> SyncOutcome:
        return sync_salesforce(self.connector, state, self.names, **options)

    def seed(self, seed: int) -> list[str]:
        return self.sf_box.seed_contacts(PEOPLE, seed=seed, sobject=self.sobject)

    def set(self, person: str, employees: int, opens: int, purchases: int) -> None:
        names = self.names
        values = {names.employees: employees, names.opens: opens, names.purchases: purchases}
        self.sf_box.store.set_fields(self.sobject, person, values)

    def merge(self, master: str, *others: str) -> None:
        self.sf_box.store.merge(self.sobject, master, *others)

    def segments(self, person: str) -> list[str]:
        return expected_segments(self.view.values(person), self.names)

    def members(self, campaign: str) -> set[str]:
        found = self.view.list_members(campaign)
        assert found is not None
        return found


@pytest.fixture(params=[("Contact", SALESFORCE_CONTACTS), ("Lead", SALESFORCE_LEADS)],
                ids=["Contact", "Lead"])
def org(request: pytest.FixtureRequest, sf_box: SalesforceSandbox) -> Iterator[Org]:
    """Each test runs on a Contact sync and on a Lead sync."""
    sobject, names = request.param
    with salesforce_org(sf_box, names, object=sobject) as connector:
        yield Org(sf_box, sobject, names, connector)


def synced_pair(org: Org, state: Path, seed: int) -> tuple[list[str], str, str]:
    """Synced people, two of them duplicates: the master Big and Engaged, the other Engaged and
    a Buyer; segsync remembers a refusal of the other."""
    ids = org.seed(seed)
    master, other = ids[10], ids[20]
    org.set(master, employees=900, opens=9, purchases=0)
    org.set(other, employees=20, opens=9, purchases=3)
    first = org.sync(state)
    assert org.segments(master) == ["Big", "Engaged"]
    assert org.segments(other) == ["Engaged", "Buyers"]
    remember_a_refusal(state, first.run_id, other)
    return ids, master, other


def member_changes(outcome: SyncOutcome) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(segment, added, removed) of each campaign the run's plan changes."""
    return [(c.segment, c.add, c.remove) for c in outcome.plan.list_changes if c.add or c.remove]


# -- the sandbox ------------------------------------------------------------------------------


def test_the_sandbox_merges_like_salesforce(org: Org, tmp_path: Path) -> None:
    _, master, other = synced_pair(org, tmp_path, seed=150)
    sf_box = org.sf_box
    before = sf_box.store.record(org.sobject, master)["SystemModstamp"]
    since = datetime.now(UTC) - timedelta(seconds=1)
    buyers, engaged = org.members(BUYERS), org.members(ENGAGED)
    assert {master, other} <= engaged and other in buyers - {master}

    org.merge(master, other)

    sf = Salesforce(
        instance_url=sf_box.instance_url,
        session_id=sf_box.session_id,
        session=sf_box.requests_session(),
        version="59.0",
    )
    deleted = f"SELECT Id, MasterRecordId FROM {org.sobject} WHERE IsDeleted = true"
    assert [
        (row["Id"], row["MasterRecordId"])
        for row in sf.query_all(deleted, include_deleted=True)["records"]
    ] == [(other, master)]
    assert sf.query_all(deleted)["records"] == []  # without queryAll the loser is gone
    assert sf_box.store.record(org.sobject, master)["SystemModstamp"] > before
    assert org.members(BUYERS) == buyers - {other} | {master}  # the other's, reparented
    assert org.members(ENGAGED) == engaged - {other}
    assert member_rows(sf_box, ENGAGED, master) == 1  # the master's own member stays, alone
    page = org.connector.read_deleted_contacts_page(since, None)
    assert page == DeletionPage(ids=[other], next_cursor=None, merged_into={other: master})
    with pytest.raises(KeyError):
        org.merge(master, other)  # the other is deleted now


# -- the sync ---------------------------------------------------------------------------------


def test_an_incremental_run_after_a_merge_gives_the_master_its_own_campaigns(
    org: Org, tmp_path: Path
) -> None:
    ids, master, other = synced_pair(org, tmp_path, seed=151)
    org.merge(master, other)

    outcome = org.sync(tmp_path)

    assert (outcome.mode, outcome.status, outcome.result.failures) == ("incremental", "done", [])
    assert member_changes(outcome) == [("Buyers", (), (master,))]
    live = [i for i in ids if i != other]
    assert_holds_desired_state(org.view, live, org.names)  # every field and campaign
    held = remembered(tmp_path)
    assert all(other not in remembered_ids for remembered_ids in held.values()), held
    assert {part for part, members in held.items() if master in members} == {
        "mirror",
        "synced",
        "list Big",
        "list Engaged",
    }
    assert org.sync(tmp_path).plan.is_empty


def test_a_dry_run_after_a_merge_plans_what_the_run_then_does(org: Org, tmp_path: Path) -> None:
    _, master, other = synced_pair(org, tmp_path, seed=152)
    org.merge(master, other)

    planned = org.sync(tmp_path, dry_run=True)
    done = org.sync(tmp_path)

    for outcome in (planned, done):
        assert member_changes(outcome) == [("Buyers", (), (master,))], outcome.status
    assert master not in org.members(BUYERS)


def test_a_record_merged_twice_between_runs_leaves_its_campaigns_to_the_last_master(
    org: Org, tmp_path: Path
) -> None:
    ids = org.seed(153)
    first, second, last = ids[5], ids[6], ids[7]
    org.set(first, employees=20, opens=0, purchases=3)  # Buyers
    org.set(second, employees=20, opens=9, purchases=0)  # Engaged
    org.set(last, employees=900, opens=0, purchases=0)  # Big
    org.sync(tmp_path)
    org.merge(second, first)
    org.merge(last, second)  # first's MasterRecordId still names second
    assert {last} == org.members(BUYERS) & {first, second, last}
    assert {last} == org.members(ENGAGED) & {first, second, last}

    outcome = org.sync(tmp_path)

    assert (outcome.status, outcome.result.failures, outcome.deleted) == ("done", [], 2)
    live = [i for i in ids if i not in (first, second)]
    assert_holds_desired_state(org.view, live, org.names)
    held = remembered(tmp_path)
    assert all(not ({first, second} & members) for members in held.values()), held
    assert {part for part, members in held.items() if last in members} == {
        "mirror",
        "synced",
        "list Big",
    }
    assert org.sync(tmp_path).plan.is_empty
