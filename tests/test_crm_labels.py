"""Cluster profiles and names in the CRM's words: field labels and option labels.

Contacts are planted in two groups that differ in lifecycle stage and headcount, so the two
clusters and their traits are known; the sandbox serves HubSpot's own labels ("Lifecycle
Stage", "Marketing Qualified Lead", "Company Headcount"), which the names must use instead of
``lifecyclestage`` and ``marketingqualifiedlead``.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from connectors.sandbox.hubspot.schema import options
from segment_core.text import ELLIPSIS
from sync.report.build import cluster_profiles
from sync.segmentation import SegmentationConfig, text_frame
from sync.state.store import StateStore
from tests.conftest import salesforce_settings
from tests.support.segmentation import NOW, list_members, run, settings

CLUSTERS = [
    {
        "name": "Stage",
        "priority": 5,
        "numeric": ["employees"],
        "categorical": ["lifecyclestage"],
        "n_clusters": 2,
        "random_state": 0,
    }
]
MQL_NAME = "Marketing Qualified Lead · high Company Headcount"
CUSTOMER_NAME = "Customer · low Company Headcount"


def plant(crm: HubSpotSandbox, category: str = "lifecyclestage") -> dict[str, set[str]]:
    """80 marketing-qualified leads at big companies, 40 customers at small ones (headcount
    varies a little, so the category is each cluster's strongest trait)."""
    leads = crm.store.add_contacts(
        {"employees": str(900 + i % 5), category: "marketingqualifiedlead"} for i in range(80)
    )
    customers = crm.store.add_contacts(
        {"employees": str(20 + i % 5), category: "customer"} for i in range(40)
    )
    return {"leads": set(leads), "customers": set(customers)}


def test_hubspot_fields_carry_their_option_labels(connector: HubSpotConnector) -> None:
    fields = {info.name: info for info in connector.describe_fields()}
    assert dict(fields["lifecyclestage"].option_labels) == {
        "subscriber": "Subscriber",
        "lead": "Lead",
        "marketingqualifiedlead": "Marketing Qualified Lead",
        "salesqualifiedlead": "Sales Qualified Lead",
        "opportunity": "Opportunity",
        "customer": "Customer",
        "evangelist": "Evangelist",
        "other": "Other",
    }
    assert fields["employees"].option_labels == ()


def test_salesforce_fields_carry_their_picklist_labels(sf_box: SalesforceSandbox) -> None:
    with closing(SalesforceConnector(salesforce_settings(sf_box))) as salesforce:
        fields = {info.name: info for info in salesforce.describe_fields()}
    assert fields["LeadSource"].option_labels == (
        ("Web", "Web"),
        ("Phone Inquiry", "Phone Inquiry"),
        ("Partner Referral", "Partner Referral"),
        ("Purchased List", "Purchased List"),
        ("Other", "Other"),
    )


def test_new_cluster_names_and_profiles_use_the_crm_labels(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    planted = plant(crm)
    outcome = run(connector, settings(crm, tmp_path, [], clusters=CLUSTERS))

    assert list_members(crm, MQL_NAME) == planted["leads"]
    assert list_members(crm, CUSTOMER_NAME) == planted["customers"]
    for contact_id in planted["leads"]:
        assert crm.store.contact(contact_id)["segsync_segment"] == MQL_NAME
    (cluster_set,) = outcome.segmentation.cluster_sets
    assert {segment.name: segment.traits for segment in cluster_set.segments} == {
        MQL_NAME: ("Lifecycle Stage Marketing Qualified Lead", "Company Headcount high"),
        CUSTOMER_NAME: ("Lifecycle Stage Customer", "Company Headcount low"),
    }
    profiles = cluster_profiles(cluster_set, outcome.segmentation.frame, NOW)
    shown = {p.segment: dict(p.top_categories) for p in profiles}
    assert shown == {
        MQL_NAME: {"lifecyclestage": [("Marketing Qualified Lead", 1.0)]},
        CUSTOMER_NAME: {"lifecyclestage": [("Customer", 1.0)]},
    }


def test_a_stored_cluster_keeps_its_name_while_its_profile_reads_in_labels(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    """An existing user's model, named before segsync read labels, keeps its names through a
    run and a refit: list names in the CRM do not change under their feet."""
    planted = plant(crm)
    config = settings(crm, tmp_path, [], clusters=CLUSTERS)
    types = {info.name: info.type for info in connector.describe_fields()}
    unlabelled = SegmentationConfig.bind(config, types)  # how runs bound it before labels
    contacts = {i: crm.store.contact(i) for i in planted["leads"] | planted["customers"]}
    fields = ["employees", "lifecyclestage"]
    before = unlabelled.segmenter.run(text_frame(contacts, fields), NOW)
    store = StateStore(config.state_url(), config.sync.name)
    store.save_model("Stage", before.models()["Stage"])
    store.close()
    old_names = {"Marketingqualifiedlead · high employees", "Customer · low employees"}
    assert {segment.name for segment in before.segments} == old_names

    for refit in (False, True):
        outcome = run(connector, config, refit=refit)
        (cluster_set,) = outcome.segmentation.cluster_sets
        assert {segment.name for segment in cluster_set.segments} == old_names
        assert list_members(crm, "Marketingqualifiedlead · high employees") == planted["leads"]
        reasons = {segment.name: segment.traits for segment in cluster_set.segments}
        assert reasons["Customer · low employees"] == (
            "Lifecycle Stage Customer",
            "Company Headcount low",
        )


def test_a_hostile_option_label_reads_as_one_short_printable_line(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    """Option labels are CRM text: escape sequences, line breaks and 100 KB must not reach a
    list name or a terminal."""
    hostile = "\x1b[31mGold\x1b[0m\n\x1b]8;;https://evil.example\x07tier " + "x" * 100_000
    crm.store.put_property(
        {
            **crm.store.property("lifecyclestage"),
            "name": "tier",
            "label": "Tier\r\n\x1b[2J",
            "hubspotDefined": False,
            "options": options([("marketingqualifiedlead", hostile), ("customer", "Bronze")]),
        }
    )
    planted = plant(crm, category="tier")
    clusters = [{**CLUSTERS[0], "categorical": ["tier"]}]
    outcome = run(connector, settings(crm, tmp_path, [], clusters=clusters))

    gold = "Gold tier " + "x" * 19 + ELLIPSIS
    gold_name = f"{gold} · high Company Hea{ELLIPSIS}"  # names stop at 50 characters
    names = {gold_name, "Bronze · low Company Headcount"}
    (cluster_set,) = outcome.segmentation.cluster_sets
    assert {segment.name for segment in cluster_set.segments} == names
    assert list_members(crm, gold_name) == planted["leads"]
    reasons = {segment.traits[0] for segment in cluster_set.segments}
    assert reasons == {f"Tier {gold}", "Tier Bronze"}
