"""One Big contact among 100 Small ones, refused by HubSpot because a person removes the
"Big" option while a run writes; and what the state store remembers of the refusal."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from connectors.base import PropertyWrite, WriteResult
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.state.failures import RecordFailure
from sync.state.store import StateStore
from tests.expectations import sync

BATCH_ROUTE = "POST /crm/v3/objects/contacts/batch/update"

SEGMENTS = [
    {"name": "Big", "priority": 10, "rule": "employees >= 200"},
    {"name": "Small", "priority": 5, "rule": "employees < 200"},
]

CONTACTS = 100


def seed_one_big(crm: HubSpotSandbox) -> tuple[list[str], str]:
    """100 contacts, all Small but one Big: its segment value is the only "Big" written."""
    ids = crm.store.add_contacts(
        {"email": f"c{n}@example.com", "employees": "900" if n == 37 else "20"}
        for n in range(CONTACTS)
    )
    return ids, ids[37]


def remove_option(crm: HubSpotSandbox, prop: str, value: str) -> dict[str, Any]:
    """A person deletes one option of a select property in HubSpot's settings; the definition
    as it was before, so a test can restore it."""
    before = next(p for p in crm.store.properties() if p["name"] == prop)
    after = {**before, "options": [o for o in before["options"] if o["value"] != value]}
    crm.store.put_property(after)
    return before


def option_removed_before_first_write(
    crm: HubSpotSandbox, connector: HubSpotConnector, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """Make a person remove "Big" from segsync_segment's options once this run has ensured
    the field, just before its first write; the property as it was lands in the list returned."""
    write = connector.write_properties
    before: list[dict[str, Any]] = []

    def option_removed_mid_run(writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        if not before:
            before.append(remove_option(crm, "segsync_segment", "Big"))
        return write(writes)

    monkeypatch.setattr(connector, "write_properties", option_removed_mid_run)
    return before


def refused_mid_run(
    crm: HubSpotSandbox, connector: HubSpotConnector, state: Path, monkeypatch: pytest.MonkeyPatch
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


def assert_written_big(crm: HubSpotSandbox, state: Path, big: str) -> None:
    held = crm.store.contact(big)
    assert (held["segsync_segment"], held["segsync_segments"]) == ("Big", "Big")
    assert held["segsync_reason"] == "Big: employees >= 200"
    assert failures(state) == []
    store = StateStore(f"sqlite:///{state / 'state.db'}", "default")
    try:
        assert store.synced_fields()[big]["segsync_segment"] == "Big"
    finally:
        store.close()
