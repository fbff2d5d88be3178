"""Holdout lift: does a segment's list convert better than the share of it held out?

For a segment with a holdout, the record (``sync.state.holdouts``) says when each contact
entered it, in which group (on the list, or held out) and whether it converted after that.
Contacts already converted on entry are in neither group. The two groups' conversion rates
are compared with standard two-proportion methods:

- the difference of the rates, with Newcombe's hybrid score interval (his method 10: Wilson
  score intervals of each rate, combined), which keeps its level with small counts and rates
  near 0 where the textbook Wald interval does not (Newcombe, Statistics in Medicine 17, 1998);
- the relative lift (list rate ÷ holdout rate − 1), with the Katz log interval of the risk
  ratio (``scipy.stats.contingency.relative_risk``);
- a two-sided p-value from the pooled two-proportion z-test.

A lift is called significant when the interval of the difference excludes 0. With too few
contacts or conversions in either group no interval is given at all, only what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from scipy.stats import binomtest, norm
from scipy.stats.contingency import relative_risk

CONFIDENCE = 0.95
MIN_GROUP_CONTACTS = 30
"""Contacts each group needs before the comparison is shown."""
MIN_GROUP_CONVERSIONS = 5
"""Conversions each group needs: below that the rates, and so any interval, are mostly noise
(and a holdout without conversions has no relative lift)."""

RECORD_COLUMNS = ("segment", "contact_id", "held_out", "converted_on_entry", "converted")
"""The columns of the holdout record the report reads (``ReportInput.holdout_record``)."""


@dataclass(frozen=True)
class GroupCounts:
    """One group's contacts counted since their entry, and how many of them converted."""

    contacts: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.contacts if self.contacts else 0.0


@dataclass(frozen=True)
class LiftEstimate:
    """The list's lift over the holdout: the difference of the rates (list − holdout) and the
    relative lift, each with its interval at ``CONFIDENCE``, and the p-value."""

    difference: float
    difference_low: float
    difference_high: float
    relative: float
    relative_low: float
    relative_high: float
    p_value: float

    @property
    def significant(self) -> bool:
        """The interval of the difference excludes 0."""
        return self.difference_low > 0 or self.difference_high < 0


@dataclass(frozen=True)
class HoldoutLift:
    """One held-out segment's comparison. ``estimate`` is None while ``shortfall`` says what
    data is still missing."""

    segment: str
    share: float
    listed: GroupCounts
    held_out: GroupCounts
    converted_on_entry: int
    estimate: LiftEstimate | None
    shortfall: str | None


def lift_estimate(
    listed: GroupCounts, held_out: GroupCounts, confidence: float = CONFIDENCE
) -> LiftEstimate:
    """The lift of ``listed`` over ``held_out``; both need contacts, and the relative lift
    conversions in each group (see ``shortfall``)."""
    list_low, list_high = wilson_interval(listed, confidence)
    hold_low, hold_high = wilson_interval(held_out, confidence)
    difference = listed.rate - held_out.rate
    ratio = relative_risk(listed.converted, listed.contacts, held_out.converted, held_out.contacts)
    ratio_interval = ratio.confidence_interval(confidence)
    return LiftEstimate(
        difference=difference,
        difference_low=difference - math.hypot(listed.rate - list_low, hold_high - held_out.rate),
        difference_high=difference + math.hypot(list_high - listed.rate, held_out.rate - hold_low),
        relative=float(ratio.relative_risk) - 1,
        relative_low=float(ratio_interval.low) - 1,
        relative_high=float(ratio_interval.high) - 1,
        p_value=_pooled_z_test(listed, held_out),
    )


def shortfall(listed: GroupCounts, held_out: GroupCounts) -> str | None:
    """What is missing before the groups can be compared, in one sentence; None when nothing."""
    short = [
        f"the {name} has {_many(group.contacts, 'contact')} and "
        f"{_many(group.converted, 'conversion')}"
        for name, group in (("list", listed), ("holdout", held_out))
        if group.contacts < MIN_GROUP_CONTACTS or group.converted < MIN_GROUP_CONVERSIONS
    ]
    if not short:
        return None
    return (
        f"Not enough data yet: {' and '.join(short)} since entering the segment; each group "
        f"needs at least {MIN_GROUP_CONTACTS} contacts and {MIN_GROUP_CONVERSIONS} conversions "
        "before a lift can be estimated."
    )


def holdout_lifts(record: pd.DataFrame, shares: Mapping[str, float]) -> list[HoldoutLift]:
    """One comparison per segment in ``shares`` (its holdout share), from the holdout record
    (columns ``RECORD_COLUMNS``: one row per contact and segment it entered)."""
    return [
        _segment_lift(record[record["segment"] == name], name, share)
        for name, share in shares.items()
    ]


def _segment_lift(rows: pd.DataFrame, segment: str, share: float) -> HoldoutLift:
    counted = rows[~rows["converted_on_entry"].astype(bool)]
    held = counted["held_out"].astype(bool)
    listed = _counts(counted[~held])
    held_out = _counts(counted[held])
    missing = shortfall(listed, held_out)
    return HoldoutLift(
        segment=segment,
        share=share,
        listed=listed,
        held_out=held_out,
        converted_on_entry=int(rows["converted_on_entry"].astype(bool).sum()),
        estimate=None if missing else lift_estimate(listed, held_out),
        shortfall=missing,
    )


def _many(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _counts(rows: pd.DataFrame) -> GroupCounts:
    return GroupCounts(len(rows), int(rows["converted"].astype(bool).sum()))


def wilson_interval(group: GroupCounts, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of the group's conversion rate."""
    interval = binomtest(group.converted, group.contacts).proportion_ci(confidence, "wilson")
    return float(interval.low), float(interval.high)


def _pooled_z_test(listed: GroupCounts, held_out: GroupCounts) -> float:
    """Two-sided p-value of "both groups convert at the same rate"."""
    pooled = (listed.converted + held_out.converted) / (listed.contacts + held_out.contacts)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / listed.contacts + 1 / held_out.contacts))
    if spread == 0:
        return 1.0
    return float(2 * norm.sf(abs(listed.rate - held_out.rate) / spread))
