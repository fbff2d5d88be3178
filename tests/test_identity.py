"""Contacts whose identity changes in the CRM between runs: merges, lead conversions, and
contacts deleted and created again.

What the CRMs do, and the evidence (details in the sandbox's docstrings):

* HubSpot merge (``POST /crm/v3/objects/contacts/merge``): since HubSpot's change "Updated merge
  functionality for contacts and companies", the result is a new record with a new id; both old
  ids leave list and search results, still resolve to the new record when read by id, and are
  listed in its ``hs_merged_object_ids``; static list memberships carry over.
* Salesforce lead conversion: the lead's campaign members move to the contact and the lead
  becomes read-only (writes fail with ``CANNOT_UPDATE_CONVERTED_LEAD``); adding a contact that
  is already a member of a campaign fails with ``DUPLICATE_VALUE``.
* A deleted contact leaves every HubSpot list and is listed with ``archived=true``; a
  re-created one is a new id.

Each scenario runs the real connectors against the sandboxes and checks the CRM's end state and
the state store's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hubspot import HubSpot

from connectors.base import ContactPage, ListRef, PropertyWrite
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.progress import SilentProgress
from sync.pull import pull_contacts
from sync.retry import Retrier
from tests.conftest import TOKEN
from tests.expectations import (
    FAST_RETRY,
    SALESFORCE_CONTACTS,
    SALESFORCE_LEADS,
    SalesforceView,
    assert_crm_holds_desired_state,
    assert_holds_desired_state,
    expected_segments,
    salesforce_org,
    sync,
    sync_salesforce,
)
from tests.support.salesforce_sync import member_rows
from tests.support.state_store import remember_a_refusal, remembered

CONTACTS = 150
ENGAGED_CAMPAIGN = "segsync: Engaged"


# -- HubSpot merges --------------------------------------------------------------------------


def test_the_sandbox_merges_like_hubspot(crm: HubSpotSandbox) -> None:
    primary, other, bystander = crm.seed_contacts(3, seed=60)
    engaged = crm.store.create_list("Engaged", "MANUAL")
    crm.store.add_members(engaged, [other])
    client = HubSpot(access_token=TOKEN, host=crm.base_url)
    contacts = client.crm.contacts.basic_api

    merged = contacts.merge({"primaryObjectId": primary, "objectIdToMerge": other})

    assert merged.id not in (primary, other)
    for old in (primary, other):  # reading an old id answers with the new record
        found = contacts.get_by_id(old, properties=["hs_merged_object_ids"])
        assert (found.id, found.properties["hs_merged_object_ids"]) == (
            merged.id,
            f"{primary};{other}",
        )
    listed = contacts.get_page(limit=10).results
    assert [row.id for row in listed] == [bystander, merged.id]
    assert crm.store.list_members(str(engaged.list_id)) == {merged.id}
    client.crm.contacts.batch_api.update({"inputs": [{"id": other, "properties": {"city": "X"}}]})
    assert crm.store.contact(merged.id)["city"] == "X"  # an old id writes the new record


class MergingDuringPull:
    """The HubSpot connector, while a person merges two contacts just after the first page."""

    def __init__(self, connector: HubSpotConnector, crm: HubSpotSandbox, primary: str, other: str):
        self.connector, self.crm, self.pair = connector, crm, (primary, other)
        self.survivor = ""

    def read_contacts_page(self, fields: Sequence[str], cursor: str | None) -> ContactPage:
        page = self.connector.read_contacts_page(fields, cursor)
        if cursor is None:
            self.survivor = self.crm.store.merge_contacts(*self.pair)
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connector, name)


def test_a_pull_leaves_out_contacts_merged_away_after_it_read_them(
    crm: HubSpotSandbox, connector: HubSpotConnector
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=69)
    merging = MergingDuringPull(connector, crm, ids[3], ids[5])  # both on the first page
    merges: dict[str, str] = {}

    pulled, _ = pull_contacts(
        merging, ["employees"], Retrier(FAST_RETRY), SilentProgress(), merges=merges
    )

    assert merges == {ids[3]: merging.survivor, ids[5]: merging.survivor}
    assert list(pulled.index) == [i for i in ids if i not in merges] + [merging.survivor]


def merge_setup(
    crm: HubSpotSandbox, connector: HubSpotConnector, state: Path
) -> tuple[list[str], str, str]:
    """Synced contacts, two of which a person is about to merge: the primary is Big only, the
    other Engaged and a Buyer; segsync remembers a refusal of the other."""
    ids = crm.seed_contacts(CONTACTS, seed=61)
    primary, other = ids[10], ids[20]
    crm.store.set_properties(
        primary, {"employees": "900", "hs_email_open": "0", "num_purchases": "0"}
    )
    crm.store.set_properties(other, {"employees": "20", "hs_email_open": "9", "num_purchases": "3"})
    first = sync(connector, crm, state)
    remember_a_refusal(state, first.run_id, other)
    return ids, primary, other


def assert_merged_away(state: Path, survivor: str, old: set[str]) -> None:
    """The old ids are forgotten everywhere; the new record is mirrored and in Big's list only."""
    held = remembered(state)
    assert all(not (ids & old) for ids in held.values()), held
    lists = {part for part, ids in held.items() if part.startswith("list ") and survivor in ids}
    assert survivor in held["mirror"] and lists == {"list Big"}


def test_a_merge_between_incremental_runs_leaves_only_the_new_record(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids, primary, other = merge_setup(crm, connector, tmp_path)
    survivor = crm.store.merge_contacts(primary, other)
    assert crm.store.list_members(crm.store.list_by_name("segsync: Engaged")["listId"]) >= {
        survivor
    }  # carried over from the other

    outcome = sync(connector, crm, tmp_path)

    assert (outcome.mode, outcome.status, outcome.result.failures) == ("incremental", "done", [])
    assert expected_segments(crm.store.contact(survivor)) == ["Big"]
    live = [i for i in ids if i not in (primary, other)] + [survivor]
    assert_crm_holds_desired_state(crm, live)
    assert_merged_away(tmp_path, survivor, {primary, other})
    assert sync(connector, crm, tmp_path).plan.is_empty


def test_a_merge_before_a_full_run_leaves_only_the_new_record(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids, primary, other = merge_setup(crm, connector, tmp_path)
    survivor = crm.store.merge_contacts(primary, other)

    outcome = sync(connector, crm, tmp_path, full=True)

    assert (outcome.mode, outcome.status, outcome.result.failures) == ("full", "done", [])
    live = [i for i in ids if i not in (primary, other)] + [survivor]
    assert_crm_holds_desired_state(crm, live)
    assert_merged_away(tmp_path, survivor, {primary, other})


# -- HubSpot: deleted and created again ------------------------------------------------------


def test_a_contact_deleted_and_created_again_gets_its_segment_under_the_new_id(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=62)
    sync(connector, crm, tmp_path)
    old = next(i for i in ids if expected_segments(crm.store.contact(i)) == ["Big"])
    values = crm.store.contact(old)
    crm.store.archive_contact(old)
    kept = ("email", "firstname", "lastname", "employees", "hs_email_open", "num_purchases")
    [new] = crm.store.add_contacts([{name: values[name] for name in kept}])

    outcome = sync(connector, crm, tmp_path)

    assert (outcome.mode, outcome.status, outcome.result.failures) == ("incremental", "done", [])
    live = [i for i in ids if i != old] + [new]
    assert_crm_holds_desired_state(crm, live)
    # The incremental run asks HubSpot for archived contacts and forgets the old id at once.
    assert outcome.deleted == 1
    assert all(old not in ids for ids in remembered(tmp_path).values())
    full = sync(connector, crm, tmp_path, full=True)
    assert full.plan.is_empty


# -- Salesforce lead conversion --------------------------------------------------------------


@pytest.fixture
def org(sf_box: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    with salesforce_org(sf_box) as salesforce:
        yield salesforce


def engaged_lead(sf_box: SalesforceSandbox, seed: int) -> str:
    """A lead with the opens that make its person Engaged, added to that campaign by a person."""
    [lead] = sf_box.seed_contacts(1, seed=seed, sobject="Lead")
    sf_box.store.set_fields("Lead", lead, {"Email_Opens__c": 9, "Purchases__c": 0})
    campaign = sf_box.store.campaign_by_name(ENGAGED_CAMPAIGN)
    assert campaign is not None
    sf_box.store.insert(
        "CampaignMember", {"CampaignId": campaign["Id"], "LeadId": lead, "Status": "Sent"}
    )
    return lead


def test_converted_leads_whose_contacts_are_already_campaign_members_join_once(
    sf_box: SalesforceSandbox, org: SalesforceConnector, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(CONTACTS, seed=63)
    sync_salesforce(org, tmp_path)
    view = SalesforceView(sf_box)
    existing = next(
        i for i in ids if "Engaged" in expected_segments(view.values(i), SALESFORCE_CONTACTS)
    )
    new_contact = sf_box.store.convert_lead(engaged_lead(sf_box, seed=64))
    assert sf_box.store.convert_lead(engaged_lead(sf_box, seed=65), existing) == existing

    outcome = sync_salesforce(org, tmp_path)

    assert (outcome.status, outcome.result.failures) == ("done", [])
    assert_holds_desired_state(view, ids + [new_contact], SALESFORCE_CONTACTS)
    assert member_rows(sf_box, ENGAGED_CAMPAIGN, new_contact) == 1
    assert member_rows(sf_box, ENGAGED_CAMPAIGN, existing) == 1
    assert new_contact in remembered(tmp_path)["list Engaged"]
    assert sync_salesforce(org, tmp_path).plan.is_empty


def test_adding_a_contact_a_conversion_made_a_member_meanwhile_is_not_an_error(
    sf_box: SalesforceSandbox,
    org: SalesforceConnector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sf_box.seed_contacts(20, seed=66)
    sync_salesforce(org, tmp_path)
    contact = sf_box.store.convert_lead(engaged_lead(sf_box, seed=67))
    campaign = sf_box.store.campaign_by_name(ENGAGED_CAMPAIGN)
    # The conversion lands between the connector's check for members and its insert.
    monkeypatch.setattr(org._campaigns, "_members", lambda *args: {})
    org.add_list_members(ListRef(campaign["Id"], ENGAGED_CAMPAIGN), [contact])  # DUPLICATE_VALUE
    assert member_rows(sf_box, ENGAGED_CAMPAIGN, contact) == 1


@pytest.fixture
def lead_org(sf_box: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    with salesforce_org(sf_box, SALESFORCE_LEADS, object="Lead") as salesforce:
        yield salesforce


def test_a_lead_sync_leaves_converted_leads_and_their_contacts_campaigns_alone(
    sf_box: SalesforceSandbox, lead_org: SalesforceConnector, tmp_path: Path
) -> None:
    leads = sf_box.seed_contacts(CONTACTS, seed=68, sobject="Lead")
    converted = leads[0]
    for big in leads[:3]:
        sf_box.store.set_fields("Lead", big, {"NumberOfEmployees": 900})
    sync_salesforce(lead_org, tmp_path, SALESFORCE_LEADS)
    assert member_rows(sf_box, "segsync: Big", converted) == 1
    contact = sf_box.store.convert_lead(converted)

    incremental = sync_salesforce(lead_org, tmp_path, SALESFORCE_LEADS)
    full = sync_salesforce(lead_org, tmp_path, SALESFORCE_LEADS, full=True)

    for outcome in (incremental, full):
        assert (outcome.status, outcome.result.failures) == ("done", [])
        assert converted not in {write.contact_id for write in outcome.plan.writes}
    assert full.plan.is_empty
    assert member_rows(sf_box, "segsync: Big", contact) == 1  # the contact keeps its campaign
    big = sf_box.store.campaign_by_name("segsync: Big")
    assert sf_box.store.campaign_members(big["Id"]) - {contact} == set(leads[1:3])
    assert all(converted not in ids for ids in remembered(tmp_path).values())
    [result] = lead_org.write_properties([PropertyWrite(converted, {"Segment__c": ""})])
    assert (result.ok, result.code, result.missing) == (False, "CANNOT_UPDATE_CONVERTED_LEAD", True)
