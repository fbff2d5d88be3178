"""Where a HubSpot full pull's two readers meet (``connectors.hubspot.ranges``): the list
endpoint's cursor from the lowest ids up, searches over id ranges from the top down. No contact
may be missed and none read by both, whatever order the threads come in, and a listing that is
not in id order (HubSpot does not promise it) must cost calls, never contacts."""

from __future__ import annotations

import dataclasses

import pytest

from connectors.base import ContactPage
from connectors.hubspot import HubSpotConnector
from connectors.hubspot import pulls as hubspot_pulls
from connectors.hubspot.ranges import IdRanges
from connectors.sandbox import HubSpotSandbox
from sync.progress import SilentProgress
from sync.pull import pull_contacts
from sync.retry import Retrier
from tests.conftest import hubspot_settings
from tests.expectations import FAST_RETRY

FIELDS = ["email", "city", "employees"]


def ranges() -> IdRanges:
    """Four ranges: below 100, 100-199, 200-299, from 300 up."""
    return IdRanges([None, 100, 200, 300])


def test_searches_take_the_top_and_the_cursor_stops_where_they_begin() -> None:
    meeting = ranges()
    assert meeting.claim(3) and meeting.claim(2)

    assert meeting.keep(list(range(1, 100))) == ([True] * 99, False)
    assert meeting.keep(list(range(100, 150))) == ([True] * 50, False)
    assert not meeting.claim(1)  # the cursor is in it: the cursor reads it
    # a page across the searched range's low: the searched contacts are dropped, and done
    kept, done = meeting.keep(list(range(150, 250)))
    assert kept == [True] * 50 + [False] * 50 and done


def test_a_range_searched_below_the_cursor_is_skipped_and_the_cursor_goes_on_to_the_top_run(
) -> None:
    meeting = ranges()
    assert meeting.claim(3) and meeting.claim(1)  # range 2 not started yet

    assert meeting.keep([50, 99]) == ([True, True], False)
    assert meeting.keep([100, 199]) == ([False, False], False)  # range 1 is searched
    assert meeting.keep([200, 250]) == ([True, True], False)
    assert not meeting.claim(2)  # reached: the cursor keeps it
    assert meeting.keep([299, 300]) == ([True, False], True)


def test_no_range_is_left_to_nobody_whichever_comes_first() -> None:
    meeting = ranges()
    assert meeting.keep([10, 20]) == ([True, True], False)  # nothing searched: not done
    assert meeting.claim(3) and meeting.claim(2) and meeting.claim(1)
    assert not meeting.claim(0)  # the cursor is in range 0
    assert meeting.keep([30, 100]) == ([True, False], True)
    assert meeting.keep([]) == ([], True)


@pytest.mark.parametrize(
    "page", [[50, 20], [10, 10]], ids=["descending", "repeated"]
)
def test_a_page_out_of_order_makes_the_cursor_read_to_the_end_and_every_range_searched(
    page: list[int],
) -> None:
    meeting = ranges()
    assert meeting.claim(3)
    assert meeting.keep([5, 120]) == ([True, True], False)
    assert not meeting.claim(1)  # reached while in order: the cursor owes range 1

    assert meeting.keep(page) == ([True, True], False)
    assert meeting.claim(2)  # out of order: nothing more is ruled out by position
    assert not meeting.claim(0)  # but the cursor has kept contacts of range 0: its own
    kept, done = meeting.keep([150, 250, 310])
    assert kept == [True, False, False] and not done  # to the end, range 1 still its own
    assert not meeting.keep([400])[1]


def test_a_listing_out_of_id_order_still_reads_each_contact_exactly_once(
    crm: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hubspot_pulls, "PARTITION_MIN_PAGES", 1)
    monkeypatch.setattr(hubspot_pulls, "RANGES_MIN_ROUND_TRIP_SECONDS", 0.0)
    ids = crm.seed_contacts(1_300, seed=87)
    read_page = hubspot_pulls.ContactPulls.read_page

    def reversed_pages(
        self: hubspot_pulls.ContactPulls, fields: list[str], cursor: str | None, limit: int
    ) -> ContactPage:
        page = read_page(self, fields, cursor, limit)  # as a CRM might order them: not by id
        return dataclasses.replace(page, contacts=page.contacts[::-1])

    monkeypatch.setattr(hubspot_pulls.ContactPulls, "read_page", reversed_pages)
    hubspot = HubSpotConnector(hubspot_settings(crm))
    handed: list[str] = []
    read = hubspot.read_partition_page

    def spy(fields: list[str], partition: str, cursor: str | None) -> ContactPage:
        page = read(fields, partition, cursor)
        handed.extend(contact.id for contact in page.contacts)
        return page

    hubspot.read_partition_page = spy  # type: ignore[method-assign]

    frame, _ = pull_contacts(hubspot, FIELDS, Retrier(FAST_RETRY), SilentProgress())

    assert sorted(handed, key=int) == ids  # each exactly once
    assert sorted(frame.index, key=int) == ids
    assert all(frame.loc[i, "email"] == crm.store.contact(i)["email"] for i in ids)
