"""Issue #14, item 4: an incremental run reads what changed since the last pull started, on the
CRM's own clock, and never misses a change a person made while segsync was writing.

The portal's clock is moved on by hand between runs (an hour each), as hourly runs see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.base import PropertyWrite, WriteResult
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.timestamps import wall_clock_ms
from tests.expectations import sync

SEARCH_ROUTE = "POST /crm/v3/objects/contacts/search"
HOUR_MS = 3_600_000
SEGMENTS = [
    {"name": "Big", "priority": 10, "rule": "employees >= 200"},
    {"name": "Small", "priority": 5, "rule": "employees < 200"},
]
CONTACTS = 250
"""More than one search page (200): a run that re-reads them all makes two search calls."""


class PortalClock:
    """The sandbox portal's clock, moved on by hand."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return wall_clock_ms() + self.offset_ms

    def an_hour_later(self) -> None:
        self.offset_ms += HOUR_MS


@pytest.fixture
def clock(crm: HubSpotSandbox) -> PortalClock:
    portal = PortalClock()
    crm.store._clock_ms = portal
    return portal


def seed(crm: HubSpotSandbox) -> list[str]:
    """Every contact Small (20 employees)."""
    return crm.store.add_contacts(
        {"email": f"c{n}@example.com", "employees": "20"} for n in range(CONTACTS)
    )


def searches_of_one_sync(
    crm: HubSpotSandbox, connector: HubSpotConnector, state: Path
) -> int:
    before = len(crm.call_log)
    outcome = sync(connector, crm, state, SEGMENTS)
    assert outcome.status == "done"
    return sum(call.route == SEARCH_ROUTE for call in crm.call_log[before:])


def test_a_quiet_hour_costs_one_search_call(
    crm: HubSpotSandbox, connector: HubSpotConnector, clock: PortalClock, tmp_path: Path
) -> None:
    seed(crm)
    sync(connector, crm, tmp_path, SEGMENTS)  # full: writes every contact
    clock.an_hour_later()
    assert searches_of_one_sync(crm, connector, tmp_path) == 2  # re-reads those writes
    clock.an_hour_later()

    # Nothing changed since the last run's pull started: one search page, empty.
    assert searches_of_one_sync(crm, connector, tmp_path) == 1


def test_a_person_editing_a_contact_while_segsync_writes_is_read_by_the_next_run(
    crm: HubSpotSandbox,
    connector: HubSpotConnector,
    clock: PortalClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = seed(crm)
    sync(connector, crm, tmp_path, SEGMENTS)
    clock.an_hour_later()
    crm.store.set_properties(ids[0], {"employees": "300"})  # so the next run writes
    write = connector.write_properties
    edited: list[str] = []

    def person_edits_during_the_write(writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        answer = write(writes)
        if not edited:
            edited.append(ids[7])
            clock.offset_ms += 1_000
            crm.store.set_properties(ids[7], {"employees": "900"})
        return answer

    monkeypatch.setattr(connector, "write_properties", person_edits_during_the_write)
    sync(connector, crm, tmp_path, SEGMENTS)
    monkeypatch.undo()
    clock.an_hour_later()

    sync(connector, crm, tmp_path, SEGMENTS)

    assert edited == [ids[7]]
    assert crm.store.contact(ids[7])["segsync_segment"] == "Big"
    big = crm.store.live_list_named("segsync: Big")
    assert big is not None and crm.store.list_members(str(big.list_id)) == {ids[0], ids[7]}
