"""The holdout lift's statistics: a planted lift is found, a planted null is not found more
often than the stated level, and too little data gives a sentence, never an interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from sync.report.lift import (
    CONFIDENCE,
    GroupCounts,
    HoldoutLift,
    holdout_lifts,
    lift_estimate,
)
from tests.support.holdout import planted_record

NULL_REPETITIONS = 400
LEVEL = 1 - CONFIDENCE


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Table II, example (a): 56/70 against 48/80, method 10: 0.0524 to 0.3339.
    estimate = lift_estimate(GroupCounts(70, 56), GroupCounts(80, 48))
    assert estimate.difference == pytest.approx(0.2)
    assert (round(estimate.difference_low, 4), round(estimate.difference_high, 4)) == (
        0.0524,
        0.3339,
    )


def test_a_planted_lift_is_detected_with_exact_counts() -> None:
    record = planted_record("Prospects", listed=(400, 80), held_out=(100, 8), converted_on_entry=12)
    [lift] = holdout_lifts(record, {"Prospects": 0.2})
    assert (lift.listed, lift.held_out, lift.converted_on_entry) == (
        GroupCounts(400, 80),
        GroupCounts(100, 8),
        12,
    )
    assert lift.shortfall is None and lift.estimate is not None
    estimate = lift.estimate
    assert estimate.difference == pytest.approx(0.12)
    assert 0 < estimate.difference_low < 0.12 < estimate.difference_high
    assert estimate.significant
    assert estimate.relative == pytest.approx(1.5)  # 20% against 8%
    assert 0 < estimate.relative_low < 1.5 < estimate.relative_high
    assert estimate.p_value < 0.01


def test_a_planted_null_is_called_significant_at_most_at_the_stated_level() -> None:
    rng = np.random.default_rng(20261202)
    significant = 0
    small_p = 0
    for _ in range(NULL_REPETITIONS):
        listed = GroupCounts(300, int(rng.binomial(300, 0.15)))
        held_out = GroupCounts(100, int(rng.binomial(100, 0.15)))
        [lift] = holdout_lifts(
            planted_record("S", (listed.contacts, listed.converted), (100, held_out.converted)),
            {"S": 0.25},
        )
        assert lift.estimate is not None, lift.shortfall
        significant += lift.estimate.significant
        small_p += lift.estimate.p_value < LEVEL
    # At most the level, plus what chance allows over 400 tries (one in a thousand).
    allowed = binom.ppf(0.999, NULL_REPETITIONS, LEVEL)
    assert significant <= allowed
    assert small_p <= allowed


def test_too_little_data_says_what_is_missing_and_gives_no_interval() -> None:
    record = planted_record("Prospects", listed=(120, 9), held_out=(12, 1), converted_on_entry=3)
    assert holdout_lifts(record, {"Prospects": 0.1}) == [
        HoldoutLift(
            segment="Prospects",
            share=0.1,
            listed=GroupCounts(120, 9),
            held_out=GroupCounts(12, 1),
            converted_on_entry=3,
            estimate=None,
            shortfall="Not enough data yet: the holdout has 12 contacts and 1 conversion since "
            "entering the segment; each group needs at least 30 contacts and 5 conversions "
            "before a lift can be estimated.",
        )
    ]


def test_a_segment_nobody_entered_yet_names_both_groups() -> None:
    [lift] = holdout_lifts(planted_record("New", (0, 0), (0, 0)), {"New": 0.1})
    assert lift.estimate is None
    assert lift.shortfall == (
        "Not enough data yet: the list has 0 contacts and 0 conversions and the holdout has 0 "
        "contacts and 0 conversions since entering the segment; each group needs at least 30 "
        "contacts and 5 conversions before a lift can be estimated."
    )
