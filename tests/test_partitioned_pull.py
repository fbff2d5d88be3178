"""A full HubSpot pull read by the list endpoint's cursor and by searches over disjoint id
ranges, several at once (issue #14, item 2).

The partitioned pull must be the sequential pull exactly (same contacts, values, modification
times, merges), whatever the ranges hold (nothing, more than search's 10,000-result cap), read
each contact once, lose or double nothing when a page fails and is retried, and stay within
HubSpot's search bucket under latency. Where the cursor and the searches meet depends on the
threads' timing, so the tests check what holds wherever they meet. Portals are small: the pages
a range must hold is lowered for the tests.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter

import pandas as pd
import pytest

from connectors.base import ContactPage
from connectors.hubspot import HubSpotConnector
from connectors.hubspot import pulls as hubspot_pulls
from connectors.hubspot.ranges import LISTING
from connectors.sandbox import HubSpotSandbox, SandboxLimits
from connectors.sandbox.base import Arrival
from connectors.sandbox.hubspot import search as sandbox_search
from sync.pacing import Pacer
from sync.progress import SilentProgress
from sync.pull import pull_contacts
from sync.retry import Retrier
from tests.conftest import TOKEN, hubspot_settings
from tests.expectations import FAST_RETRY

SEARCH = "POST /crm/v3/objects/contacts/search"
LIST = "GET /crm/v3/objects/contacts"
ROUND_TRIP_FOR_RANGES = hubspot_pulls.RANGES_MIN_ROUND_TRIP_SECONDS
FIELDS = ["email", "firstname", "city", "lifecyclestage", "employees", "hs_email_open"]


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """A range of one search page is worth its own thread here (10 in production), and the
    loopback's round trips are taken for the internet's (ranges pay from 0.11 s)."""
    monkeypatch.setattr(hubspot_pulls, "PARTITION_MIN_PAGES", 1)
    monkeypatch.setattr(hubspot_pulls, "RANGES_MIN_ROUND_TRIP_SECONDS", 0.0)


def connector(crm: HubSpotSandbox, workers: int = 5) -> HubSpotConnector:
    hubspot = HubSpotConnector(hubspot_settings(crm))
    hubspot.limits = dataclasses.replace(hubspot.limits, max_concurrency=workers)
    return hubspot


class PartsRead:
    """The contact ids each part's pages handed on, as the connector returned them."""

    def __init__(self, hubspot: HubSpotConnector) -> None:
        self.ids: dict[str, list[str]] = {}
        read = hubspot.read_partition_page
        lock = threading.Lock()

        def spy(fields: list[str], partition: str, cursor: str | None) -> ContactPage:
            page = read(fields, partition, cursor)
            with lock:
                self.ids.setdefault(partition, []).extend(c.id for c in page.contacts)
            return page

        hubspot.read_partition_page = spy  # type: ignore[method-assign]

    def assert_each_contact_once(self, frame: pd.DataFrame) -> None:
        """Every contact came from one part, the cursor's below every searched one."""
        handed = [contact_id for ids in self.ids.values() for contact_id in ids]
        assert Counter(handed) == Counter(frame.index)
        listed = [int(i) for i in self.ids.get(LISTING, [])]
        searched = [int(i) for part, ids in self.ids.items() if part != LISTING for i in ids]
        assert listed and searched  # both readers took part
        assert max(listed) < min(searched)


def pull(
    hubspot: HubSpotConnector, retrier: Retrier | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    return pull_contacts(hubspot, FIELDS, retrier or Retrier(FAST_RETRY), SilentProgress())


def reads(crm: HubSpotSandbox) -> Counter[str]:
    """Contact reads answered. A search refused for rate and retried is not counted: in a test
    the sandbox shares the client's interpreter, whose threads can hold a search back past the
    spacing's margin (the pacing test below runs with latency, as over the internet)."""
    return Counter(
        record.route
        for record in crm.call_log
        if record.route in (SEARCH, LIST) and record.status != 429
    )


def assert_same_pull(
    partitioned: tuple[pd.DataFrame, pd.Series], sequential: tuple[pd.DataFrame, pd.Series]
) -> None:
    frame, times = partitioned
    assert frame.equals(sequential[0])  # same ids in the same order, every value as text
    assert times.equals(sequential[1])
    assert frame.index.is_unique


def test_a_partitioned_pull_is_the_sequential_pull_exactly(crm: HubSpotSandbox) -> None:
    ids = crm.seed_contacts(1_400, seed=81)
    for contact_id in ids[250:800]:  # a block of ids gone: a range in it holds nothing
        crm.store.archive_contact(contact_id)
    merged = [
        crm.store.merge_contacts(ids[10], ids[11]),
        crm.store.merge_contacts(ids[900], ids[20]),
    ]
    crm.store.set_properties(ids[1_000], {"city": "Zürich\nline two", "firstname": ""})

    sequential = pull(connector(crm, workers=1))
    # one call at a time: the list endpoint, as before (the search counts the portal, to
    # choose between pages and an export)
    assert reads(crm) == Counter({LIST: 9, SEARCH: 1})
    crm.call_log.clear()
    hubspot = connector(crm)
    parts = PartsRead(hubspot)
    partitioned = pull(hubspot)

    assert_same_pull(partitioned, sequential)
    parts.assert_each_contact_once(partitioned[0])
    frame = partitioned[0]
    assert len(frame) == 1_400 - 550 - 4 + 2
    assert set(merged) <= set(frame.index) and not {ids[10], ids[11], ids[20], ids[900]} & set(
        frame.index
    )
    assert frame.loc[ids[1_000], "city"] == "Zürich\nline two"
    assert frame.loc[ids[1_000], "firstname"] is None
    # a count (pages or an export?), 2 searches for the id bounds, then the ranges the cursor
    # did not reach: at most 8 pages (848 contacts in 5 ranges, 200 a page: 2 pages, 1 empty
    # (ids 281-560 are all archived), 1, 2 and 2); the cursor's pages end where they met
    assert reads(crm)[SEARCH] <= 1 + 2 + 8
    assert {record.status for record in crm.call_log} <= {200, 429}


def test_a_range_over_the_search_result_cap_pages_on(
    crm: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_search, "MAX_RESULTS", 300)  # HubSpot: 10,000 a query
    monkeypatch.setattr(hubspot_pulls, "PARTITION_MIN_PAGES", 3)
    ids = crm.seed_contacts(1_200, seed=82)
    hubspot = connector(crm, workers=2)
    partitions = hubspot.contact_partitions(20)  # 6 pages / 3 a range: 2 ranges of 600
    assert partitions is not None and len(partitions) == 1 + 2
    crm.call_log.clear()

    read: list[str] = []
    cursor = None
    while True:
        page = hubspot.read_partition_page(FIELDS, partitions[1], cursor)
        read.extend(contact.id for contact in page.contacts)
        if (cursor := page.next_cursor) is None:
            break

    assert read == ids[:600]
    assert reads(crm) == Counter({SEARCH: 3})  # 3 pages of 200, each a fresh query
    assert {record.status for record in crm.call_log} <= {200, 429}  # no 400 past the cap


def test_a_range_whose_page_fails_is_retried_without_losing_or_doubling_contacts(
    crm: HubSpotSandbox,
) -> None:
    crm.seed_contacts(1_000, seed=83)
    sequential = pull(connector(crm, workers=1))
    contact_reads = 0

    def fail_some_pages(request: Arrival) -> None:
        nonlocal contact_reads
        if request.route in (SEARCH, LIST):
            contact_reads += 1
            if contact_reads in (4, 6):  # pages of the cursor or of ranges, after the bounds
                crm.inject_faults(503, route=request.route)

    crm.on_request(fail_some_pages)
    retrier = Retrier(FAST_RETRY)
    partitioned = pull(connector(crm), retrier)

    assert_same_pull(partitioned, sequential)
    failed = [record for record in crm.call_log if record.status == 503]
    refused = [record for record in crm.call_log if record.status == 429]
    assert len(failed) == 2 and retrier.retries == 2 + len(refused)


def test_ranges_read_at_once_stay_within_the_search_bucket_under_latency() -> None:
    limits = SandboxLimits(ten_secondly=40, daily=None)  # and HubSpot's 5 searches a second
    with HubSpotSandbox(TOKEN, limits, latency=0.05) as crm:
        crm.seed_contacts(2_400, seed=84)
        hubspot = connector(crm)
        pacer = Pacer(hubspot.limits.budget)
        retrier = Retrier(FAST_RETRY, pacer, hubspot.rate_limit_status)

        frame, _ = pull(hubspot, retrier)

        log = crm.call_log
        assert len(frame) == 2_400
        assert [record.status for record in log] == [200] * len(log)  # not one 429
        # a count, the id bounds, at most 12 ranges of one page (2,400 contacts, 200 a page)
        routes = Counter(record.route for record in log)
        assert set(routes) == {SEARCH, LIST} and routes[SEARCH] <= 1 + 2 + 12
        assert retrier.retries == 0


def test_a_page_of_one_range_is_a_page_of_the_sequential_pull(crm: HubSpotSandbox) -> None:
    ids = crm.seed_contacts(450, seed=85)
    hubspot = connector(crm)

    partitions = hubspot.contact_partitions(20)
    first = hubspot.read_partition_page(FIELDS, partitions[1], None)

    # the list endpoint's cursor, and ids 51-500: 3 pages, so 3 ranges of equal width; the
    # ends open
    assert partitions == [LISTING, ":201", "201:351", "351:"]
    assert isinstance(first, ContactPage)
    assert [contact.id for contact in first.contacts] == ids[:150]
    assert first.next_cursor is None


def test_ranges_are_read_only_when_a_round_trip_is_slow_enough_for_them_to_pay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hubspot_pulls, "RANGES_MIN_ROUND_TRIP_SECONDS", ROUND_TRIP_FOR_RANGES)
    with HubSpotSandbox(TOKEN) as near, HubSpotSandbox(TOKEN, latency=0.15) as far:
        for crm in (near, far):
            crm.seed_contacts(1_000, seed=86)
            frame, _ = pull(connector(crm))
            assert len(frame) == 1_000

        # loopback: one cursor, 100 a page, keeps up with the rate limit alone
        # (the searches count the portal: export or pages? asked for the ranges, then the pages)
        assert reads(near) == Counter({LIST: 10, SEARCH: 2})
        # 150 ms a call: one cursor reads under 667 contacts a second: searches over the top
        # ranges (count, bounds, then up to 5 ranges) read beside it
        assert 1 <= reads(far)[LIST] < 10 and 1 + 2 + 1 <= reads(far)[SEARCH] <= 1 + 2 + 5
