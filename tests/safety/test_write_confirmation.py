"""Issue #10, item 4: a write is done only when the CRM says so.

A batch is recorded as written only for the ids HubSpot's answer confirms in ``results``; an
answer of ``{}``, an HTML page with 200, or one missing ids is retried, never taken as success.
A membership answer's ``recordIdsMissing`` are not members. Each test checks the sandbox CRM's
exact end state and what the state store believes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from connectors.base import ListRef, MembershipChange, PropertyWrite
from connectors.hubspot import HubSpotConnector
from connectors.hubspot.writes import confirmed_writes
from connectors.sandbox import HubSpotSandbox
from sync.state.store import StateStore
from tests.expectations import HUBSPOT, assert_crm_holds_desired_state, expected_segments, sync

BATCH_ROUTE = "POST /crm/v3/objects/contacts/batch/update"
ADD_ROUTE = "PUT /crm/v3/lists/{listId}/memberships/add"
CONTACTS = 300


def store_of(state: Path) -> StateStore:
    return StateStore(f"sqlite:///{state / 'state.db'}", "default")


def assert_store_matches_crm(crm: HubSpotSandbox, state: Path, ids: list[str]) -> None:
    """What segsync believes it wrote is what each contact holds, field for field."""
    store = store_of(state)
    try:
        synced = store.synced_fields()
        failures = store.failures()
    finally:
        store.close()
    fields = (HUBSPOT.segment, HUBSPOT.segments, HUBSPOT.reason)
    for contact_id in ids:
        held = crm.store.contact(contact_id)
        assert synced[contact_id] == {f: held[f] or "" for f in fields}, contact_id
    assert failures == []


def batch_updates(crm: HubSpotSandbox) -> list[int]:
    """The status of every batch update call, in order."""
    return [call.status for call in crm.call_log if call.route == BATCH_ROUTE]


@pytest.mark.parametrize("answer", ["empty_answer", "html_answer"])
def test_a_200_that_is_no_batch_answer_is_retried_not_taken_as_written(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path, answer: str
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=41)
    crm.inject_faults(answer, route=BATCH_ROUTE)  # the first batch never reaches HubSpot

    outcome = sync(connector, crm, tmp_path)

    assert outcome.status == "done"
    assert outcome.retries == 1
    batches = -(-len(outcome.plan.writes) // 100)
    assert batches >= 2
    assert batch_updates(crm) == [200] * (batches + 1)  # the garbled one resent
    assert_crm_holds_desired_state(crm, ids)
    assert_store_matches_crm(crm, tmp_path, ids)


def test_ids_missing_from_the_answer_are_resent_and_recorded_only_once_confirmed(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=42)
    crm.inject_faults("partial_answer", route=BATCH_ROUTE)  # written, half confirmed

    outcome = sync(connector, crm, tmp_path)

    assert outcome.status == "done"
    assert outcome.result is not None and outcome.result.failures == []
    batches = -(-len(outcome.plan.writes) // 100)
    assert batches >= 2
    # The first batch confirmed 50 of its 100 records; those 50 go out again, in one call.
    assert batch_updates(crm) == [200] * (batches + 1)
    assert outcome.result.written == {w.contact_id for w in outcome.plan.writes}
    assert_crm_holds_desired_state(crm, ids)
    assert_store_matches_crm(crm, tmp_path, ids)


def test_a_contact_the_list_answer_reports_missing_is_not_recorded_as_member(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = crm.seed_contacts(60, seed=43)
    engaged = [i for i in ids if "Engaged" in expected_segments(crm.store.contact(i))]
    gone = engaged[0]
    add = connector.add_list_members

    def person_deletes_a_contact_first(
        list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        if list_ref.name == "segsync: Engaged":
            crm.store.archive_contact(gone)  # a person deletes it just before the call
        return add(list_ref, contact_ids)

    monkeypatch.setattr(connector, "add_list_members", person_deletes_a_contact_first)

    outcome = sync(connector, crm, tmp_path)

    assert outcome.status == "done"
    listed = crm.store.list_by_name("segsync: Engaged")
    assert listed is not None
    in_crm = crm.store.list_members(listed["listId"])
    assert in_crm == set(engaged) - {gone}
    store = store_of(tmp_path)
    try:
        assert store.members()["Engaged"] == in_crm
        assert gone not in store.mirror() and gone not in store.synced_fields()
    finally:
        store.close()


def test_a_207_whose_errors_name_no_ids_leaves_the_unnamed_records_unconfirmed() -> None:
    """Real 207s may carry ``context.ids: [""]``: a record neither in ``results`` nor named
    by an error is not written as far as segsync knows, and is sent again."""
    writes = [PropertyWrite(i, {"segsync_segment": "Big"}) for i in ("1", "2", "3")]
    answer = {
        "status": "COMPLETE",
        "results": [{"id": "1", "properties": {}}],
        "numErrors": 2,
        "errors": [
            {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "gone",
             "context": {"ids": ["3"]}},
            {"status": "error", "category": "VALIDATION_ERROR", "message": "bad",
             "context": {"ids": [""]}},
        ],
    }

    results = confirmed_writes(writes, answer, "batch update contacts")

    assert [(r.contact_id, r.ok, r.code, r.retryable, r.missing) for r in results] == [
        ("1", True, "", False, False),
        ("2", False, "UNCONFIRMED", True, False),
        ("3", False, "OBJECT_NOT_FOUND", False, True),
    ]
