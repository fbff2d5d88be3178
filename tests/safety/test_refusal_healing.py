"""Issue #10, item 6: refused records heal.

A record the CRM refused is not given up on for ever: its count of attempts starts again when
the cause may have gone (the contact changed in the CRM, the segsync field's options changed,
or the run is ``--full``). The refusal here is HubSpot's own: a person deletes the option
"Big" of ``segsync_segment`` while a run is writing, so the one Big contact is refused with
``INVALID_OPTION`` (see ``test_batch_bisect``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import SandboxCRM
from sync.state.failures import RecordFailure
from sync.state.store import StateStore
from tests.expectations import sync
from tests.safety.test_batch_bisect import (
    BATCH_ROUTE,
    SEGMENTS,
    option_removed_before_first_write,
    seed_one_big,
)


def refused_mid_run(
    crm: SandboxCRM, connector: HubSpotConnector, state: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, object]]:
    """A first sync in which the Big contact is refused; its id and the property as it was."""
    _ids, big = seed_one_big(crm)
    before = option_removed_before_first_write(crm, connector, monkeypatch)
    assert sync(connector, crm, state, segments=SEGMENTS).status == "done_with_failures"
    monkeypatch.undo()
    assert [f.contact_id for f in failures(state)] == [big]
    return big, before[0]


def failures(state: Path) -> list[RecordFailure]:
    store = StateStore(f"sqlite:///{state / 'state.db'}", "default")
    try:
        return store.failures()
    finally:
        store.close()


def batch_calls(crm: SandboxCRM) -> int:
    return crm.calls[BATCH_ROUTE]


def assert_written_big(crm: SandboxCRM, state: Path, big: str) -> None:
    held = crm.store.contact(big)
    assert (held["segsync_segment"], held["segsync_segments"]) == ("Big", "Big")
    assert held["segsync_reason"] == "Big: employees >= 200"
    assert failures(state) == []
    store = StateStore(f"sqlite:///{state / 'state.db'}", "default")
    try:
        assert store.synced_fields()[big]["segsync_segment"] == "Big"
    finally:
        store.close()


def test_a_refusal_heals_when_the_fields_options_changed(
    crm: SandboxCRM, connector: HubSpotConnector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big, _ = refused_mid_run(crm, connector, tmp_path, monkeypatch)
    calls = batch_calls(crm)

    outcome = sync(connector, crm, tmp_path, segments=SEGMENTS)

    assert outcome.mode == "incremental" and outcome.status == "done"
    assert outcome.result is not None and outcome.result.written == {big}
    assert batch_calls(crm) == calls + 1
    options = next(p for p in crm.store.properties() if p["name"] == "segsync_segment")["options"]
    assert [o["value"] for o in options] == ["Small", "Big"]  # segsync put the option back
    assert_written_big(crm, tmp_path, big)


def test_a_refusal_stays_until_the_contact_changes_then_heals(
    crm: SandboxCRM, connector: HubSpotConnector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big, before = refused_mid_run(crm, connector, tmp_path, monkeypatch)
    crm.store.put_property(before)  # the option is back: the field is as it was
    calls = batch_calls(crm)

    unchanged = sync(connector, crm, tmp_path, segments=SEGMENTS)

    assert unchanged.result is not None and unchanged.result.written == set()
    assert batch_calls(crm) == calls  # refused for good, and nothing changed: not resent
    [kept] = failures(tmp_path)
    assert (kept.contact_id, kept.code, kept.attempts) == (big, "INVALID_OPTION", 1)
    assert crm.store.contact(big)["segsync_segment"] is None

    crm.store.set_properties(big, {"employees": "950"})  # a person edits the contact
    changed = sync(connector, crm, tmp_path, segments=SEGMENTS)

    assert changed.mode == "incremental"
    assert changed.result is not None and changed.result.written == {big}
    assert batch_calls(crm) == calls + 1
    assert_written_big(crm, tmp_path, big)


def test_a_full_run_retries_every_refusal(
    crm: SandboxCRM, connector: HubSpotConnector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big, before = refused_mid_run(crm, connector, tmp_path, monkeypatch)
    crm.store.put_property(before)

    outcome = sync(connector, crm, tmp_path, segments=SEGMENTS, full=True)

    assert outcome.mode == "full"
    assert outcome.result is not None and outcome.result.written == {big}
    assert_written_big(crm, tmp_path, big)


def test_a_store_from_before_opens_and_its_refusals_heal_once(
    crm: SandboxCRM, connector: HubSpotConnector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big, before = refused_mid_run(crm, connector, tmp_path, monkeypatch)
    crm.store.put_property(before)
    with sqlite3.connect(tmp_path / "state.db") as old:  # as an older segsync left it
        for column in ("contact_modified_at", "options_digest"):
            old.execute(f"ALTER TABLE record_failures DROP COLUMN {column}")
    [kept] = failures(tmp_path)  # opening adds the columns back, empty
    assert (kept.contact_id, kept.attempts) == (big, 1)
    assert (kept.contact_modified_at, kept.options_digest) == (None, None)

    outcome = sync(connector, crm, tmp_path, segments=SEGMENTS, full=False)

    # Nothing says when it was refused: pulled again, it is retried once.
    assert outcome.mode == "incremental"
    assert outcome.result is not None and outcome.result.written == {big}
    assert_written_big(crm, tmp_path, big)
