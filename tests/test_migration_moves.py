"""Who moved: every run that writes records each contact's move between primary segments,
once the CRM confirmed the write, and the exact migration matrix of a planted week follows."""

from __future__ import annotations

from pathlib import Path

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.moves import MigrationMatrix, net_pairs
from sync.state.store import StateStore
from tests.expectations import sync
from tests.support.migration import FIRST_RUN, THE_WEEK, pairs, plant_a_week, seed_segments


def test_a_planted_week_gives_the_exact_migration_matrix(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = seed_segments(crm)
    first = sync(connector, crm, tmp_path)
    plant_a_week(crm, ids)
    second = sync(connector, crm, tmp_path, force=True)  # small lists lose > 20%
    again = sync(connector, crm, tmp_path)

    store = StateStore(tmp_path, "default")
    try:
        assert pairs(store.run_moves(first.run_id)) == FIRST_RUN
        assert pairs(store.run_moves(second.run_id)) == THE_WEEK
        assert store.run_moves(again.run_id) == []
        matrix = MigrationMatrix.of(net_pairs(store.run_moves(second.run_id)))
    finally:
        store.close()
    assert crm.store.contact(ids["Big"][3])["segsync_segment"] == "Big"  # repaired, not moved
    assert matrix.sources == ["Big", None, "Buyers", "Engaged"]
    assert [matrix.share("Big", target) for target in ("Engaged", None)] == [2 / 3, 1 / 3]
    assert matrix.largest(2) == [("Big", "Engaged", 2), (None, "Engaged", 1)]  # ties by name


def test_a_dry_run_records_no_move(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    seed_segments(crm)
    planned = sync(connector, crm, tmp_path, dry_run=True)

    store = StateStore(tmp_path, "default")
    try:
        assert store.run_moves(planned.run_id) == []
        assert store.known_segments() == {}
    finally:
        store.close()
    assert len(planned.plan.moves) == sum(FIRST_RUN.values())


def test_forgetting_a_contact_forgets_its_moves(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = seed_segments(crm)
    first = sync(connector, crm, tmp_path)
    gone = ids["Big"][0]

    store = StateStore(tmp_path, "default")
    try:
        store.forget_person(gone)
        left = {m.move.contact_id for m in store.run_moves(first.run_id)}
    finally:
        store.close()
    assert gone not in left and len(left) == sum(FIRST_RUN.values()) - 1


def test_a_contact_deleted_in_the_crm_leaves_no_move_behind(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = seed_segments(crm)
    first = sync(connector, crm, tmp_path)
    gone = ids["Big"][0]
    crm.store.archive_contact(gone)
    sync(connector, crm, tmp_path)

    store = StateStore(tmp_path, "default")
    try:
        left = {m.move.contact_id for m in store.run_moves(first.run_id)}
        known = store.known_segments()
    finally:
        store.close()
    assert gone not in left and gone not in known
    assert len(left) == sum(FIRST_RUN.values()) - 1
