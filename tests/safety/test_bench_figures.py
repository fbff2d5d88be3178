"""The sync bench's figures mean what they say (issue #14, item 7).

The floor is the least time the calls can take under rolling windows, whose first requests go
through at once; the naive estimate scales only the calls that grow with the contacts.
"""

from __future__ import annotations

import pytest

from bench.sync_bench import Figures, floor_seconds, window_seconds


@pytest.mark.parametrize(
    ("calls", "seconds"),
    [(0, 0.0), (1, 0.0), (190, 0.0), (191, 10.0), (380, 10.0), (381, 20.0), (1900, 90.0)],
)
def test_a_rolling_window_lets_its_first_requests_through_at_once(
    calls: int, seconds: float
) -> None:
    assert window_seconds(calls, 190, 10.0) == seconds


def test_the_floor_adds_the_search_bucket_to_the_ten_second_window() -> None:
    # 390 other calls: two windows after the first; 12 searches at 5 a second: two seconds.
    assert floor_seconds(402, 12, 190) == 20.0 + 2.0


def test_the_naive_estimate_scales_the_per_contact_calls_and_keeps_the_others() -> None:
    # 20 contacts: 14 calls of setup (fields, list lookups and creations), 30 per contact.
    sample = Figures("Naive, 20", 44, 39, 0.4, 0.0, 0, searches=1, contact_calls=30)

    estimate = sample.scaled("Naive, 2,000", 100, 57, 190)

    assert estimate.calls == 14 + 3000
    assert estimate.contact_calls == 3000
    assert estimate.floor == floor_seconds(3014, 1, 190) == 150.0
    assert estimate.seconds == 150.0  # 0.4 s / 44 calls x 3,014 calls is under the floor
