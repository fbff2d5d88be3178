"""Issue #10, item 5: one bad record does not take 99 good ones with it.

HubSpot refuses a whole batch update with a 400 for one invalid value. segsync splits the
batch in halves until the refused record stands alone, so every other record is written in
the same run, in at most 2·⌈log2 100⌉ calls beyond the first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.base import PropertyWrite, RequestRejected, WriteResult
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.state.store import StateStore
from tests.expectations import sync
from tests.safety.refusals import (
    BATCH_ROUTE,
    CONTACTS,
    SEGMENTS,
    option_removed_before_first_write,
    seed_one_big,
)


def test_a_batch_refused_for_one_record_writes_the_other_99_in_the_same_run(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, big = seed_one_big(crm)
    option_removed_before_first_write(crm, connector, monkeypatch)

    outcome = sync(connector, crm, tmp_path, segments=SEGMENTS)

    assert outcome.status == "done_with_failures"
    calls = [call.status for call in crm.call_log if call.route == BATCH_ROUTE]
    # Each refused batch of two or more is resent as two halves; the lone Big is refused last.
    refused = calls.count(400)
    assert len(calls) == 1 + 2 * (refused - 1)
    assert len(calls) <= 1 + 2 * math.ceil(math.log2(CONTACTS))  # 15
    for contact_id in ids:
        held = crm.store.contact(contact_id)
        if contact_id == big:
            assert (held["segsync_segment"], held["segsync_segments"]) == (None, None)
        else:
            assert held["segsync_segment"] == "Small", contact_id
            assert held["segsync_segments"] == "Small", contact_id
            assert held["segsync_reason"] == "Small: employees < 200", contact_id
    assert outcome.result is not None
    assert outcome.result.written == set(ids) - {big}
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", "default")
    try:
        [failure] = store.failures()
        synced = store.synced_fields()
    finally:
        store.close()
    assert (failure.contact_id, failure.code, failure.attempts) == (big, "INVALID_OPTION", 1)
    assert "Big was not one of the allowed options" in failure.message
    assert synced[big] == {"segsync_segment": "", "segsync_segments": "", "segsync_reason": ""}
    assert all(synced[i]["segsync_segment"] == "Small" for i in ids if i != big)


def test_a_field_deleted_mid_run_stops_the_run_instead_of_splitting_every_batch(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No record is to blame when the property itself is gone: bisecting would send 2n-1
    calls for n records and refuse them all. The run stops; the next one recreates the field."""
    ids, _big = seed_one_big(crm)
    write = connector.write_properties

    def field_deleted_mid_run(writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        if crm.store.property_types().get("segsync_reason"):
            crm.store.delete_property("segsync_reason")
        return write(writes)

    monkeypatch.setattr(connector, "write_properties", field_deleted_mid_run)

    with pytest.raises(RequestRejected, match="PROPERTY_DOESNT_EXIST"):
        sync(connector, crm, tmp_path, segments=SEGMENTS)

    assert [c.status for c in crm.call_log if c.route == BATCH_ROUTE] == [400]
    assert all(crm.store.contact(i)["segsync_segment"] is None for i in ids)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", "default")
    try:
        assert store.failures() == []
        assert store.last_run() is not None and store.last_run().status == "failed"
    finally:
        store.close()
    monkeypatch.undo()

    healed = sync(connector, crm, tmp_path, segments=SEGMENTS)

    assert healed.mode == "full" and healed.status == "done"
    assert healed.result is not None and healed.result.written == set(ids)
