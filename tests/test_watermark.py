"""The incremental watermark: where the next incremental pull starts reading changes.

Each case pins the exact instant, so that any change to the rule (the overlap, the pull's
duration, the CRM's clock as a floor, the previous cursor) fails one of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from sync.watermark import next_watermark

STARTED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
"""When the pull started, by this machine's clock."""
FINISHED = STARTED + timedelta(minutes=2)
"""When it ended: the pull took two minutes."""


def modified(*moments: str | None) -> pd.Series:
    """The modification times a pull read (None: a contact without one)."""
    return pd.Series(pd.to_datetime(list(moments), utc=True), dtype="datetime64[ns, UTC]")


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=UTC)


def test_the_newest_change_minus_the_pulls_duration_and_the_overlap() -> None:
    pulled = modified("2026-12-01T09:00:00Z", "2026-12-01T09:30:00Z", "2026-12-01T08:00:00Z")
    watermark = next_watermark(
        pulled, started=STARTED, finished=FINISHED, previous=None, crm_started=None
    )
    assert watermark == at(9, 23)  # 09:30 - 2 min (the pull) - 5 min (the overlap)


def test_contacts_without_a_modification_time_are_ignored() -> None:
    pulled = modified(None, "2026-12-01T09:30:00Z", None)
    watermark = next_watermark(
        pulled, started=STARTED, finished=FINISHED, previous=None, crm_started=None
    )
    assert watermark == at(9, 23)


def test_contacts_tied_on_the_newest_time_are_read_again_next_time() -> None:
    pulled = modified("2026-12-01T09:30:00Z", "2026-12-01T09:30:00Z", "2026-12-01T09:29:00Z")
    watermark = next_watermark(
        pulled, started=STARTED, finished=FINISHED, previous=at(7, 0), crm_started=None
    )
    assert watermark == at(9, 23)  # before the tie, not at it: none of them is skipped


def test_the_crms_clock_at_pull_start_is_the_floor_for_a_quiet_portal() -> None:
    pulled = modified("2026-12-01T08:00:00Z")
    watermark = next_watermark(
        pulled, started=STARTED, finished=FINISHED, previous=None, crm_started=at(9, 59)
    )
    assert watermark == at(9, 54)  # not 07:53 (the old change): changes before 09:59 were read


def test_a_recent_change_wins_over_the_crms_clock() -> None:
    pulled = modified("2026-12-01T09:58:00Z")
    watermark = next_watermark(
        pulled, started=STARTED, finished=FINISHED, previous=None, crm_started=at(9, 55)
    )
    assert watermark == at(9, 51)  # 09:58 - 2 - 5, later than 09:55 - 5


def test_a_tie_between_the_newest_change_and_the_crms_clock_is_that_instant() -> None:
    pulled = modified("2026-12-01T09:52:00Z")
    watermark = next_watermark(
        pulled, started=STARTED, finished=FINISHED, previous=None, crm_started=at(9, 50)
    )
    assert watermark == at(9, 45)


def test_no_change_seen_keeps_the_previous_cursor() -> None:
    watermark = next_watermark(
        modified(), started=STARTED, finished=FINISHED, previous=at(6, 30), crm_started=None
    )
    assert watermark == at(6, 30)


def test_no_change_seen_and_no_cursor_falls_back_to_the_local_clock() -> None:
    watermark = next_watermark(
        modified(None), started=STARTED, finished=FINISHED, previous=None, crm_started=None
    )
    assert watermark == at(9, 55)  # the pull's start by this machine's clock, minus the overlap


def test_the_crms_clock_lifts_a_stale_previous_cursor() -> None:
    watermark = next_watermark(
        modified(), started=STARTED, finished=FINISHED, previous=at(6, 30), crm_started=at(9, 0)
    )
    assert watermark == at(8, 55)


def test_a_crm_clock_behind_this_machines_sets_the_floor_by_the_crms_time() -> None:
    # The CRM's clock is an hour behind: its stamps and its time at pull start agree with
    # each other, not with this machine's, and the floor follows the CRM's.
    pulled = modified("2026-12-01T08:40:00Z")
    watermark = next_watermark(
        pulled, started=STARTED, finished=FINISHED, previous=None, crm_started=at(9, 0)
    )
    assert watermark == at(8, 55)


def test_a_crm_clock_ahead_of_this_machines_sets_the_floor_by_the_crms_time() -> None:
    # The CRM's clock is an hour ahead: its newest stamp reads later than this machine's time,
    # and the watermark stays in the CRM's time.
    pulled = modified("2026-12-01T10:58:00Z")
    watermark = next_watermark(
        pulled, started=STARTED, finished=FINISHED, previous=None, crm_started=at(11, 0)
    )
    assert watermark == at(10, 55)


def test_a_long_pull_reaches_further_back() -> None:
    pulled = modified("2026-12-01T09:30:00Z")
    watermark = next_watermark(
        pulled,
        started=STARTED,
        finished=STARTED + timedelta(minutes=40),
        previous=None,
        crm_started=None,
    )
    assert watermark == at(8, 45)  # 09:30 - 40 min - 5 min


def test_an_empty_first_pull_takes_the_crms_clock_not_this_machines() -> None:
    # This machine runs an hour ahead of the CRM: a floor at its own 09:55 would skip every
    # change the CRM stamps between 08:55 and 09:55 of its time.
    watermark = next_watermark(
        modified(), started=STARTED, finished=FINISHED, previous=None, crm_started=at(9, 0)
    )
    assert watermark == at(8, 55)
