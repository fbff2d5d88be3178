"""The Salesforce connector end to end against the sandbox org, asserting the org's own state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.base import AuthFailed, FieldInfo, PropertyWrite, SegmentField, Transient
from connectors.salesforce import SalesforceConnector
from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce.ids import make_id
from tests.conftest import salesforce_settings
from tests.support.salesforce_api import PERMISSION_MESSAGE

SEGMENT_FIELDS = (
    SegmentField("Segment__c", "Segment (segsync)", "Primary.", "single_select", ("A", "B")),
    SegmentField("Segments__c", "All segments (segsync)", "All.", "multi_select", ("A", "B")),
    SegmentField("Segment_Reason__c", "Segment reason (segsync)", "Why.", "text"),
)
OAUTH_TOKEN = "POST /services/oauth2/token"


@pytest.fixture
def org(sf_box: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    salesforce = SalesforceConnector(salesforce_settings(sf_box))
    yield salesforce
    salesforce.close()


def pull(connector: SalesforceConnector, fields: list[str]) -> dict[str, Any]:
    """Every contact of a full pull by id: (properties, modified_at)."""
    pulled: dict[str, Any] = {}
    cursor = None
    while True:
        page = connector.read_contacts_page(fields, cursor)
        for contact in page.contacts:
            assert contact.id not in pulled
            pulled[contact.id] = (contact.properties, contact.modified_at)
        cursor = page.next_cursor
        if cursor is None:
            return pulled


def test_sandbox_full_pulls_read_the_same_text_over_rest_and_bulk(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    ids = sf_box.seed_contacts(40, seed=51)
    fields = [
        "Title",
        "Employees__c",
        "Annual_Revenue__c",
        "HasOptedOutOfEmail",
        "Last_Activity__c",
        "Last_Purchase_Date__c",
        "Lifecycle_Stage__c",
    ]
    over_rest = pull(org, fields)
    bulk = SalesforceConnector(salesforce_settings(sf_box, bulk_threshold=39))
    over_bulk = pull(bulk, fields)
    assert set(over_rest) == set(ids)
    assert over_bulk == over_rest
    assert sf_box.calls["POST /services/data/{version}/jobs/query"] == 1
    stored = sf_box.store.record("Contact", ids[0])
    properties, modified_at = over_rest[ids[0]]
    assert properties["Title"] == stored["Title"]
    assert properties["HasOptedOutOfEmail"] == ("true" if stored["HasOptedOutOfEmail"] else "false")
    assert modified_at is not None


def test_sandbox_incremental_pull_returns_the_edits_in_modstamp_order(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    ids = sf_box.seed_contacts(50, seed=52)
    since = datetime.now(UTC)
    edited = [ids[9], ids[3], ids[27]]
    for contact_id in edited:
        sf_box.store.set_fields("Contact", contact_id, {"Title": f"Edited {contact_id}"})
    page = org.read_changed_contacts_page(["Title"], since, None)
    assert page.next_cursor is None
    assert sorted((c.id, c.properties["Title"]) for c in page.contacts) == sorted(
        (contact_id, f"Edited {contact_id}") for contact_id in edited
    )
    stamps = [c.modified_at for c in page.contacts if c.modified_at is not None]
    assert len(stamps) == len(edited)
    assert stamps == sorted(stamps)


def test_sandbox_segment_fields_are_created_once_granted_and_extended(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    for spec in SEGMENT_FIELDS + SEGMENT_FIELDS:
        org.ensure_segment_field(spec)
    wider = replace(SEGMENT_FIELDS[1], options=("A", "B", "C"))
    org.ensure_segment_field(wider)
    fields = {info.name: info for info in org.describe_fields()}
    assert fields["Segment__c"] == FieldInfo(
        "Segment__c",
        "Segment (segsync)",
        "enumeration",
        ("A", "B"),
        "segsync",
        option_labels=(("A", "A"), ("B", "B")),
    )
    assert fields["Segments__c"].type == "multi_enumeration"
    assert fields["Segments__c"].options == ("A", "B", "C")
    assert fields["Segment_Reason__c"].type == "string"
    assert sf_box.calls["POST /services/data/{version}/tooling/sobjects/CustomField"] == 3
    assert sf_box.calls["PATCH /services/data/{version}/tooling/sobjects/CustomField/{id}"] == 1
    grants = [
        row.values["Field"]
        for row in sf_box.store.rows("FieldPermissions")
        if row.values["Field"].startswith("Contact.Segment")
    ]
    assert sorted(grants) == [
        "Contact.Segment_Reason__c",
        "Contact.Segment__c",
        "Contact.Segments__c",
    ]
    assert all(sf_box.store.field_editable("Contact", spec.name) for spec in SEGMENT_FIELDS)


def test_sandbox_a_revoked_field_is_granted_again_or_names_the_permission(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    org.ensure_segment_field(SEGMENT_FIELDS[0])
    sf_box.store.revoke_field_permission("Contact", "Segment__c")
    org.ensure_segment_field(SEGMENT_FIELDS[0])
    assert sf_box.store.field_editable("Contact", "Segment__c")

    sf_box.store.revoke_field_permission("Contact", "Segment__c")
    with pytest.raises(AuthFailed) as caught:
        org.write_properties(
            [PropertyWrite(sf_box.seed_contacts(1, seed=53)[0], {"Segment__c": "A"})]
        )
    assert str(caught.value) == PERMISSION_MESSAGE
    misconfigured = SalesforceConnector(salesforce_settings(sf_box, permission_set="Nope"))
    with pytest.raises(AuthFailed) as caught:
        misconfigured.ensure_segment_field(SEGMENT_FIELDS[0])
    assert str(caught.value) == PERMISSION_MESSAGE.replace("Segsync_Integration", "Nope") + (
        " (segsync could not grant it: permission set Nope does not exist)"
    )


def test_sandbox_a_batch_write_applies_all_but_the_bad_records(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    for spec in SEGMENT_FIELDS:
        org.ensure_segment_field(spec)
    ids = sf_box.seed_contacts(3, seed=54)
    sf_box.store.set_fields("Contact", ids[2], {"Segment__c": "B", "Segments__c": "A;B"})
    missing = make_id("003", 1)
    sf_box.inject_record_errors("UNABLE_TO_LOCK_ROW", count=1)
    results = org.write_properties(
        [
            PropertyWrite(ids[0], {"Segment__c": "A", "Segments__c": "A"}),
            PropertyWrite(missing, {"Segment__c": "A"}),
            PropertyWrite(
                ids[1], {"Segment__c": "B", "Segments__c": "A;B", "Segment_Reason__c": "why"}
            ),
            PropertyWrite(ids[2], {"Segment__c": "", "Segments__c": ""}),
        ]
    )
    assert [(r.contact_id, r.ok, r.code, r.retryable, r.missing) for r in results] == [
        (ids[0], False, "UNABLE_TO_LOCK_ROW", True, False),
        (missing, False, "INVALID_CROSS_REFERENCE_KEY", False, True),
        (ids[1], True, "", False, False),
        (ids[2], True, "", False, False),
    ]
    stored = [sf_box.store.record("Contact", i) for i in ids]
    assert [(r["Segment__c"], r["Segments__c"], r["Segment_Reason__c"]) for r in stored] == [
        (None, None, None),
        ("B", "A;B", "why"),
        (None, None, None),
    ]


def test_sandbox_a_bulk_write_clears_values_and_reports_the_bad_record(
    sf_box: SalesforceSandbox, org: SalesforceConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.salesforce.writes.BULK_POLL_SECONDS", 0.05)
    for spec in SEGMENT_FIELDS[:2]:
        org.ensure_segment_field(spec)
    ids = sf_box.seed_contacts(2, seed=55)
    sf_box.store.set_fields("Contact", ids[1], {"Segment__c": "B", "Segments__c": "B"})
    missing = make_id("003", 1)
    results = org.write_properties_bulk(
        [
            PropertyWrite(ids[0], {"Segment__c": "A", "Segments__c": "A;B"}),
            PropertyWrite(missing, {"Segment__c": "A"}),
            PropertyWrite(ids[1], {"Segment__c": ""}),
        ]
    )
    assert [(r.contact_id, r.ok, r.code, r.missing) for r in results] == [
        (ids[0], True, "", False),
        (missing, False, "INVALID_CROSS_REFERENCE_KEY", True),
        (ids[1], True, "", False),
    ]
    stored = [sf_box.store.record("Contact", i) for i in ids]
    assert [(r["Segment__c"], r["Segments__c"]) for r in stored] == [("A", "A;B"), (None, "B")]


def test_sandbox_campaign_members_change_exactly_without_duplicate_values(
    sf_box: SalesforceSandbox, org: SalesforceConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = sf_box.seed_contacts(10, seed=56)
    sent: list[list[str]] = []
    answers: list[Any] = []
    rest = org.client.rest

    def spy(action: str, path: str, **kwargs: Any) -> Any:
        answer = rest(action, path, **kwargs)
        if path == "composite/sobjects" and kwargs.get("method") == "POST":
            sent.append([r["ContactId"] for r in kwargs["body"]["records"]])
            answers.append(answer)
        return answer

    monkeypatch.setattr(org.client, "rest", spy)
    assert org.find_list("segsync: Champions") is None
    created = org.create_list("segsync: Champions")
    assert org.find_list("segsync: Champions") == created
    org.add_list_members(created, ids[:6])
    org.add_list_members(created, ids[4:9])
    org.add_list_members(created, ids[4:9])
    org.remove_list_members(created, [*ids[:2], ids[9]])
    assert sf_box.store.campaign_members(created.id) == set(ids[2:9])
    assert sent == [ids[:6], ids[6:9]]
    assert all(result["success"] for answer in answers for result in answer)
    members = [
        row.values["Status"]
        for row in sf_box.store.rows("CampaignMember")
        if row.values["CampaignId"] == created.id
    ]
    assert members == ["Sent"] * 7
    read: list[str] = []
    cursor = None
    while True:
        page = org.read_list_members_page(created, cursor)
        read += page.ids
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(read) == sorted(ids[2:9])


def test_sandbox_a_campaign_gets_the_configured_member_status(sf_box: SalesforceSandbox) -> None:
    salesforce = SalesforceConnector(salesforce_settings(sf_box, campaign_status="Synced"))
    ids = sf_box.seed_contacts(2, seed=57)
    created = salesforce.create_list("segsync: Loyal")
    salesforce.add_list_members(created, ids)
    statuses = {
        row.values["Label"]
        for row in sf_box.store.rows("CampaignMemberStatus")
        if row.values["CampaignId"] == created.id
    }
    assert statuses == {"Sent", "Responded", "Synced"}
    assert {
        row.values["Status"]
        for row in sf_box.store.rows("CampaignMember")
        if row.values["CampaignId"] == created.id
    } == {"Synced"}


def test_sandbox_an_expired_session_logs_in_again_and_the_pull_resumes(
    sf_box: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", sf_box.proxy_url)  # logins go to *.salesforce.com
    ids = sf_box.seed_contacts(2_100, seed=58)
    salesforce = SalesforceConnector(
        salesforce_settings(
            sf_box,
            session_id=None,
            instance_url=None,
            consumer_key=sf_box.app.consumer_key,
            consumer_secret=SecretStr(sf_box.app.consumer_secret),
            domain=sf_box.my_domain,
        )
    )
    first = salesforce.read_contacts_page(["Title"], None)
    sf_box.expire_session()
    last = salesforce.read_contacts_page(["Title"], first.next_cursor)
    assert last.next_cursor is None
    pulled = [c.id for c in first.contacts + last.contacts]
    assert sorted(pulled) == sorted(ids)
    assert sf_box.calls[OAUTH_TOKEN] == 2


def test_sandbox_an_expired_given_session_is_auth_failed(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    sf_box.expire_session()
    with pytest.raises(AuthFailed, match="HTTP 401 INVALID_SESSION_ID: Session expired or invalid"):
        org.describe_fields()


def test_sandbox_faults_and_dropped_connections_are_transient(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    route = "GET /services/data/{version}/sobjects/{sobject}/describe"
    sf_box.inject_faults(503, route=route)
    with pytest.raises(Transient, match="HTTP 503 SERVER_UNAVAILABLE"):
        org.describe_fields()
    sf_box.inject_faults("disconnect", route=route)
    with pytest.raises(Transient, match="connection failed"):
        org.describe_fields()
    assert org.describe_fields()


def test_sandbox_limit_info_becomes_the_rate_limit_status(
    sf_box: SalesforceSandbox, org: SalesforceConnector
) -> None:
    org.describe_fields()
    org.describe_fields()
    status = org.rate_limit_status()
    assert (status.daily_max, status.daily_remaining) == (100_000, 100_000 - 2)
