"""A run that reads every list reads its owned lists' members while the pull runs (issue #14,
item 2), and uses them only for a list found by name now with the same id.

The members read ahead must be exactly those a read after the pull would give: each list read
once, a list replaced by hand read anew, a read ahead that failed read again.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.base import Arrival
from sync.config import ConfigError
from sync.state.store import StateStore
from tests.conftest import TOKEN, hubspot_settings, writes_among
from tests.expectations import FAST_RETRY, SEGMENTS, assert_crm_holds_desired_state, sync
from tests.support.state_store import state_store

MEMBERS = "GET /crm/v3/lists/{listId}/memberships"
CONTACT_PAGES = "GET /crm/v3/objects/contacts"
CONTACTS = 1_500
LATENCY = 0.02
"""Each request's round trip: the pull's pages follow one another, the reads ahead overlap them."""


def list_id(crm: HubSpotSandbox, segment: str) -> str:
    found = crm.store.list_by_name(f"segsync: {segment}")
    assert found is not None
    return str(found["listId"])


RequestHook = Callable[[Arrival], None]


def note_requests(crm: HubSpotSandbox, then: RequestHook | None = None) -> list[Arrival]:
    """From now on, every request in order of arrival (``then`` sees each one after)."""
    arrivals: list[Arrival] = []

    def note(request: Arrival) -> None:
        arrivals.append(request)
        if then is not None:
            then(request)

    crm.on_request(note)
    return arrivals


def read_list(request: Arrival) -> str | None:
    """The id of the list whose members ``request`` reads (None: another request)."""
    return request.path.split("/")[4] if request.route == MEMBERS else None


def member_reads(arrivals: list[Arrival]) -> dict[str, int]:
    """Member pages asked for, by list id."""
    return dict(Counter(i for i in map(read_list, arrivals) if i is not None))


def pages(crm: HubSpotSandbox, listed: str) -> int:
    """Member pages of a list, 250 a page (an empty list still takes one)."""
    return -(-len(crm.store.list_members(listed)) // 250) or 1


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("segsync-prefetch")]


def synced_once(crm: HubSpotSandbox, state: Path, seed: int) -> tuple[list[str], HubSpotConnector]:
    """``CONTACTS`` contacts seeded and synced once: their ids, and the connector that synced."""
    ids = crm.seed_contacts(CONTACTS, seed=seed)
    hubspot = HubSpotConnector(hubspot_settings(crm))
    sync(hubspot, crm, state)
    return ids, hubspot


@pytest.fixture
def slow_crm() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(TOKEN, latency=LATENCY) as sandbox:
        yield sandbox


def test_a_forced_full_run_reads_each_owned_list_once_during_the_pull(
    slow_crm: HubSpotSandbox, tmp_path: Path
) -> None:
    crm = slow_crm
    ids, hubspot = synced_once(crm, tmp_path, seed=61)
    owned = {segment: list_id(crm, segment) for segment in ("Big", "Engaged", "Buyers")}
    members_before = {segment: crm.store.list_members(i) for segment, i in owned.items()}
    arrivals = note_requests(crm)

    forced = sync(hubspot, crm, tmp_path, full=True)

    assert member_reads(arrivals) == {i: pages(crm, i) for i in owned.values()}
    run = [request.route for request in arrivals]
    last_pull_page = max(n for n, route in enumerate(run) if route == CONTACT_PAGES)
    assert run.index(MEMBERS) < last_pull_page  # read while the pull runs
    assert forced.plan.is_empty and forced.result is not None and forced.result.failures == []
    assert {segment: crm.store.list_members(i) for segment, i in owned.items()} == members_before
    assert_crm_holds_desired_state(crm, ids)
    store = state_store(tmp_path)
    try:
        assert store.members() == {s: m for s, m in members_before.items() if m}
    finally:
        store.close()
    assert prefetch_threads() == []


def test_a_full_run_stores_anew_only_the_members_of_lists_that_changed(
    slow_crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = slow_crm
    ids, hubspot = synced_once(crm, tmp_path, seed=69)
    engaged = list_id(crm, "Engaged")
    record = crm.store.list_record(engaged)
    assert record is not None
    outsider = next(i for i in ids if i not in crm.store.list_members(engaged))
    crm.store.add_members(record, [outsider])  # a hand edit: the store no longer matches
    stored_anew: list[str] = []
    replace_members = StateStore.replace_members

    def note_replaced(store: StateStore, segment: str, members: Iterable[str]) -> None:
        stored_anew.append(segment)
        replace_members(store, segment, members)

    monkeypatch.setattr(StateStore, "replace_members", note_replaced)

    forced = sync(hubspot, crm, tmp_path, full=True)

    assert stored_anew == ["Engaged"]
    changes = {c.segment: (c.add, c.remove) for c in forced.plan.list_changes if c.add or c.remove}
    assert changes == {"Engaged": ((), (outsider,))}
    assert_crm_holds_desired_state(crm, ids)
    store = state_store(tmp_path)
    try:
        lists = {segment: list_id(crm, segment) for segment in ("Big", "Engaged", "Buyers")}
        crm_members = {segment: crm.store.list_members(i) for segment, i in lists.items()}
        assert store.members() == {s: m for s, m in crm_members.items() if m}
    finally:
        store.close()


def test_the_list_of_a_segment_no_longer_configured_is_not_read_ahead(
    slow_crm: HubSpotSandbox, tmp_path: Path
) -> None:
    crm = slow_crm
    _, hubspot = synced_once(crm, tmp_path, seed=68)
    kept = [list_id(crm, segment) for segment in ("Big", "Engaged")]
    arrivals = note_requests(crm)

    outcome = sync(hubspot, crm, tmp_path, SEGMENTS[:2], full=True)

    assert member_reads(arrivals) == {i: pages(crm, i) for i in kept}
    assert [(o.segment, o.action) for o in outcome.plan.orphans] == [("Buyers", "keep")]


def test_a_list_replaced_by_hand_is_read_anew_not_from_the_read_ahead(
    slow_crm: HubSpotSandbox, tmp_path: Path
) -> None:
    crm = slow_crm
    ids, hubspot = synced_once(crm, tmp_path, seed=62)
    old_id = list_id(crm, "Engaged")
    old = crm.store.list_record(old_id)
    assert old is not None
    old.name = "Engaged, as it was"  # a person renames segsync's list, still readable by id
    new = crm.store.create_list("segsync: Engaged", "MANUAL")  # and makes one by that name
    outsider = next(i for i in ids if int(i) not in old.members)
    crm.store.add_members(new, [outsider, *map(str, list(old.members)[:10])])
    arrivals = note_requests(crm)

    adopted = sync(
        hubspot,
        crm,
        tmp_path,
        full=True,
        sync_options={"adopt_lists": ["segsync: Engaged"]},
    )

    new_id = str(new.list_id)
    reads = member_reads(arrivals)
    assert reads[old_id] == pages(crm, old_id)  # read ahead, not used
    assert reads[new_id] == 1
    changes = {c.segment: c for c in adopted.plan.list_changes if c.add or c.remove}
    assert set(changes) == {"Engaged"}
    assert changes["Engaged"].remove == (outsider,)
    assert len(changes["Engaged"].add) == len(old.members) - 10
    assert crm.store.list_members(new_id) == {str(m) for m in old.members}
    assert_crm_holds_desired_state(crm, ids)


def test_a_list_recreated_by_hand_under_the_owned_name_is_still_refused(
    slow_crm: HubSpotSandbox, tmp_path: Path
) -> None:
    crm = slow_crm
    _, hubspot = synced_once(crm, tmp_path, seed=63)
    old_id = list_id(crm, "Engaged")
    crm.store.delete_list(old_id)
    new = crm.store.create_list("segsync: Engaged", "MANUAL")
    calls = crm.calls.copy()

    with pytest.raises(ConfigError, match="segsync did not create it"):
        sync(hubspot, crm, tmp_path, full=True)

    assert crm.store.list_members(str(new.list_id)) == set()
    assert writes_among(crm.calls - calls) == {}
    assert prefetch_threads() == []


def test_a_list_deleted_by_hand_is_recreated_though_its_read_ahead_failed(
    slow_crm: HubSpotSandbox, tmp_path: Path
) -> None:
    crm = slow_crm
    ids, hubspot = synced_once(crm, tmp_path, seed=64)
    old_id = list_id(crm, "Engaged")
    crm.store.delete_list(old_id)
    arrivals = note_requests(crm)

    outcome = sync(hubspot, crm, tmp_path, full=True)

    assert member_reads(arrivals)[old_id] == 1  # read ahead, refused (404), not retried
    assert outcome.result is not None and outcome.result.failures == []
    assert list_id(crm, "Engaged") != old_id
    assert_crm_holds_desired_state(crm, ids)


def test_a_read_ahead_that_fails_for_good_is_read_again_to_the_exact_end_state(
    slow_crm: HubSpotSandbox, tmp_path: Path
) -> None:
    crm = slow_crm
    ids, hubspot = synced_once(crm, tmp_path, seed=65)
    big = list_id(crm, "Big")
    dropped = min(crm.store.list_members(big), key=int)
    record = crm.store.list_record(big)
    assert record is not None
    crm.store.remove_members(record, [dropped])  # a hand edit the forced run must undo
    failed: list[int] = []

    def fail_big_reads(request: Arrival) -> None:
        if read_list(request) == big:
            if len(failed) < FAST_RETRY.attempts:  # every attempt of the read ahead
                failed.append(request.ordinal)
                crm.inject_faults(503)

    arrivals = note_requests(crm, then=fail_big_reads)

    outcome = sync(hubspot, crm, tmp_path, full=True)

    assert len(failed) == FAST_RETRY.attempts
    assert member_reads(arrivals)[big] == FAST_RETRY.attempts + pages(crm, big)
    changes = {c.segment: (c.add, c.remove) for c in outcome.plan.list_changes if c.add or c.remove}
    assert changes == {"Big": ((dropped,), ())}
    assert outcome.result is not None and outcome.result.failures == []
    assert_crm_holds_desired_state(crm, ids)


def test_a_read_ahead_retried_by_the_gateway_is_used(
    slow_crm: HubSpotSandbox, tmp_path: Path
) -> None:
    crm = slow_crm
    ids, hubspot = synced_once(crm, tmp_path, seed=66)
    owned = [list_id(crm, segment) for segment in ("Big", "Engaged", "Buyers")]
    crm.inject_faults(503, count=2, route=MEMBERS)
    arrivals = note_requests(crm)

    outcome = sync(hubspot, crm, tmp_path, full=True)

    reads = member_reads(arrivals)
    assert set(reads) == set(owned)
    assert sum(reads.values()) == sum(pages(crm, i) for i in owned) + 2  # each page once, 2 again
    assert outcome.retries == 2 and outcome.plan.is_empty
    assert_crm_holds_desired_state(crm, ids)


def test_a_pull_that_fails_stops_the_reads_ahead(slow_crm: HubSpotSandbox, tmp_path: Path) -> None:
    crm = slow_crm
    _, hubspot = synced_once(crm, tmp_path, seed=67)
    crm.inject_faults(503, count=FAST_RETRY.attempts, route=CONTACT_PAGES)

    with pytest.raises(Exception, match="503"):
        sync(hubspot, crm, tmp_path, full=True)

    assert prefetch_threads() == []
