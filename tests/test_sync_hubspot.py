"""End to end: segsync syncs rule segments into the sandbox HubSpot through the real SDK.

Expected segments are computed here, independently of segment_core, from the sandbox's raw
contact values; the assertions read the sandbox's own state, not segsync's account of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.base import RequestRejected
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.config import ConfigError
from sync.pipeline import run_sync
from sync.progress import SilentProgress
from tests.conftest import make_settings, writes_among
from tests.expectations import (
    assert_crm_holds_desired_state,
    expected_segments,
    sync,
)

CONTACTS = 400
WRITE_ROUTE = "POST /crm/v3/objects/contacts/batch/update"


def test_first_sync_writes_every_segment_and_second_sync_writes_nothing(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=11)
    first = sync(connector, crm, tmp_path)
    assert first.result is not None and first.result.failures == []
    assert_crm_holds_desired_state(crm, ids)
    assigned = sum(1 for i in ids if expected_segments(crm.store.contact(i)))
    assert len(first.plan.writes) == assigned
    assert crm.calls[WRITE_ROUTE] == -(-assigned // 100)

    calls_before = crm.calls.copy()
    second = sync(connector, crm, tmp_path)
    assert second.plan.is_empty
    new_calls = crm.calls - calls_before
    assert writes_among(new_calls) == {}


def test_a_contact_that_leaves_a_segment_leaves_its_list(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=12)
    sync(connector, crm, tmp_path)
    big = [i for i in ids if expected_segments(crm.store.contact(i))[:1] == ["Big"]]
    leaver = big[0]
    crm.store.set_properties(
        leaver, {"employees": "12", "hs_email_open": "0", "num_purchases": "0"}
    )
    crm.store.set_properties(big[1], {"segsync_segment": "Engaged"})  # a person's hand edit

    outcome = sync(connector, crm, tmp_path)
    big_change = next(c for c in outcome.plan.list_changes if c.segment == "Big")
    assert big_change.remove == (leaver,)
    assert crm.store.contact(leaver).get("segsync_segment") in (None, "")
    assert crm.store.contact(big[1])["segsync_segment"] == "Big"
    assert_crm_holds_desired_state(crm, ids)


def test_dry_run_reads_but_never_writes(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    crm.seed_contacts(120, seed=13)
    outcome = sync(connector, crm, tmp_path, dry_run=True)
    assert outcome.result is None
    assert len(outcome.plan.writes) > 0
    assert [f.name for f in outcome.plan.fields] == [
        "segsync_segment",
        "segsync_segments",
        "segsync_reason",
    ]
    assert writes_among(crm.calls) == {}
    assert crm.store.property("segsync_segment") is None


def test_a_misspelt_field_fails_before_any_write(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    crm.seed_contacts(50, seed=14)
    settings = make_settings(
        crm,
        [{"name": "Big", "priority": 1, "rule": {"field": "employes", "op": ">", "value": 5}}],
        tmp_path,
    )
    with pytest.raises(ConfigError) as caught:
        run_sync(connector, settings, dry_run=False, progress=SilentProgress())
    message = str(caught.value)
    assert message.startswith('the configuration: segment "Big"')
    assert '"employes"' in message
    assert '"employees"' in message
    assert writes_among(crm.calls) == {}


def test_rate_limits_and_server_errors_are_retried_to_the_exact_end_state(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=15)
    crm.inject_faults(status=429, count=2, route=WRITE_ROUTE)
    crm.inject_faults(status=502, count=1, route="PUT /crm/v3/lists/{listId}/memberships/add")
    crm.inject_faults(status="disconnect", count=1, route="GET /crm/v3/objects/contacts")
    outcome = sync(connector, crm, tmp_path)
    assert outcome.retries == 4
    assert_crm_holds_desired_state(crm, ids)


def test_a_list_deleted_by_a_person_is_recreated(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=16)
    sync(connector, crm, tmp_path)
    crm.store.delete_list(crm.store.list_by_name("segsync: Engaged")["listId"])
    sync(connector, crm, tmp_path)
    assert_crm_holds_desired_state(crm, ids)


def test_the_connector_reports_a_rejected_record_without_failing_the_batch(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    from connectors.base import PropertyWrite

    good, other = crm.seed_contacts(2, seed=17)
    results = connector.write_properties(
        [PropertyWrite(good, {"jobtitle": "CFO"}), PropertyWrite("999999", {"jobtitle": "CTO"})]
    )
    assert [(r.contact_id, r.ok) for r in results] == [(good, True), ("999999", False)]
    assert crm.store.contact(good)["jobtitle"] == "CFO"
    with pytest.raises(RequestRejected):
        connector.create_list("")


@pytest.mark.parametrize(
    "route",
    [
        "POST /crm/v3/lists",
        "POST /crm/v3/properties/contacts",
        "POST /crm/v3/objects/contacts/batch/update",
        "PUT /crm/v3/lists/{listId}/memberships/add",
    ],
)
def test_a_write_whose_answer_is_lost_is_not_an_error(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path, route: str
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=18)
    crm.inject_faults("disconnect", 1, route, after_commit=True)
    outcome = sync(connector, crm, tmp_path)
    assert outcome.status == "done"
    assert outcome.retries == 1
    assert_crm_holds_desired_state(crm, ids)
