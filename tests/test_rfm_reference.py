"""RFM scores on real transactions, against an independent textbook calculation.

The data: CDNOW_master.txt, the CDNOW transaction log used throughout the customer-base
literature (Fader & Hardie), as shipped in the ``lifetimes`` package (MIT): 69,659 purchases
by 23,570 customers, 1997-01-01 to 1998-06-30, one row per purchase with customer id, date
(YYYYMMDD), number of CDs and dollar value (always two decimals). The file is read straight
from the installed package: ``import lifetimes.datasets`` needs ``pkg_resources``, which
current setuptools no longer ships.

Per customer, as a CRM would hold them (text): recency, the days from the last purchase to
1998-07-01 (the day after the data end); frequency, the number of purchases (rows); monetary,
the dollar total. The reference calculation below shares no code with ``segment_core`` and
follows the definition ``segment_core.features`` documents:

- a score is the quintile of the customer's mid-rank percentile among all customers:
  ``floor(5 * (rank - 1/2) / n) + 1``, 1 to 5, higher better;
- ties share the lowest rank of their group (so a customer's score never depends on row
  order, and the many one-time buyers score F = 1);
- fewer days since the last purchase is better; more purchases and more revenue are better;
- the RFM segment is the published R/F regex map (``[1-2][1-2]`` Hibernating, ...), with the
  R = 1, F = 1 cell split off as Lost; the monetary score does not enter it.

It works in integers (days, counts, cents), so no rounding can differ: the rank of a tie
group is ``below + 1``, hence ``5 * (rank - 1/2) / n`` is ``5 * (2 * below + 1) / (2 * n)``,
floored by integer division.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segment_core import add_features, coerce_frame, parse_features

LIFETIMES = importlib.util.find_spec("lifetimes")  # finds the package without importing it
pytestmark = pytest.mark.skipif(
    LIFETIMES is None, reason="needs lifetimes (the dev extra), which ships the CDNOW data"
)

END_OF_DATA = dt.date(1998, 7, 1)
NOW = dt.datetime(1998, 7, 1, tzinfo=dt.UTC)
SCORES = ["rfm_recency_score", "rfm_frequency_score", "rfm_monetary_score"]

TEXTBOOK_SEGMENTS = {
    "11": "Lost",
    "[1-2][1-2]": "Hibernating",
    "[1-2][3-4]": "At risk",
    "[1-2]5": "Cannot lose them",
    "3[1-2]": "About to sleep",
    "33": "Need attention",
    "[3-4][4-5]": "Loyal customers",
    "41": "Promising",
    "51": "New customers",
    "[4-5][2-3]": "Potential loyalists",
    "5[4-5]": "Champions",
}
"""R digit then F digit -> segment; the first pattern that matches the whole cell wins."""


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    """Per customer: days since the last purchase, purchases, and revenue in cents (int64)."""
    path = Path(LIFETIMES.submodule_search_locations[0]) / "datasets" / "CDNOW_master.txt"
    purchases = pd.read_csv(path, sep=r"\s+", dtype=str)
    assert len(purchases) == 69_659
    cents = purchases["dollar_value"].str.replace(".", "", regex=False).astype("int64")
    dates = pd.to_datetime(purchases["date"], format="%Y%m%d")
    grouped = pd.DataFrame({"customer": purchases["customer_id"], "date": dates, "cents": cents})
    per_customer = grouped.groupby("customer").agg(
        last=("date", "max"), purchases=("date", "size"), cents=("cents", "sum")
    )
    days = (pd.Timestamp(END_OF_DATA) - per_customer["last"]).dt.days
    return pd.DataFrame(
        {
            "last": per_customer["last"],
            "days": days,
            "purchases": per_customer["purchases"],
            "cents": per_customer["cents"],
        }
    )


def textbook_scores(values: pd.Series, higher_is_better: bool) -> np.ndarray:
    """Quintile scores 1 to 5 by mid-rank percentile, ties at their group's lowest rank."""
    keys = values.to_numpy() if higher_is_better else -values.to_numpy()
    _, group, counts = np.unique(keys, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts  # how many customers score strictly worse
    scores = 5 * (2 * below + 1) // (2 * len(keys)) + 1
    return scores[group]


def textbook_segment(recency: int, frequency: int) -> str:
    cell = f"{recency}{frequency}"
    return next(name for pattern, name in TEXTBOOK_SEGMENTS.items() if re.fullmatch(pattern, cell))


def textbook_rfm(customers: pd.DataFrame) -> pd.DataFrame:
    recency = textbook_scores(customers["days"], higher_is_better=False)
    frequency = textbook_scores(customers["purchases"], higher_is_better=True)
    monetary = textbook_scores(customers["cents"], higher_is_better=True)
    names = {(r, f): textbook_segment(r, f) for r in range(1, 6) for f in range(1, 6)}
    return pd.DataFrame(
        {
            "rfm_recency_score": recency,
            "rfm_frequency_score": frequency,
            "rfm_monetary_score": monetary,
            "rfm_segment": [names[r, f] for r, f in zip(recency, frequency, strict=False)],
        },
        index=customers.index,
    )


def crm_text(customers: pd.DataFrame) -> pd.DataFrame:
    """The per-customer figures as a CRM exports them: text, dollars with two decimals."""
    cents = customers["cents"]
    return pd.DataFrame(
        {
            "days_since_last_purchase": customers["days"].astype(str),
            "last_purchase": customers["last"].dt.strftime("%Y-%m-%d"),
            "num_purchases": customers["purchases"].astype(str),
            "total_revenue": (cents // 100).astype(str) + "." + (cents % 100).map("{:02d}".format),
        },
        index=customers.index,
        dtype=object,
    )


def segsync_rfm(customers: pd.DataFrame, recency: str, recency_type: str) -> pd.DataFrame:
    types = {
        "days_since_last_purchase": "number",
        "last_purchase": "date",
        "num_purchases": "number",
        "total_revenue": "number",
    }
    types[recency] = recency_type
    config = parse_features(
        {"rfm": {"recency": recency, "frequency": "num_purchases", "monetary": "total_revenue"}},
        types,
    )
    frame = coerce_frame(crm_text(customers), types)
    assert frame.problems.empty
    data = add_features(frame, config, NOW).data
    assert data[SCORES].notna().all().all()
    return data[SCORES].astype("int64").assign(rfm_segment=data["rfm_segment"].astype(object))


def test_rfm_matches_the_textbook_on_every_cdnow_customer(customers):
    expected = textbook_rfm(customers)
    actual = segsync_rfm(customers, "days_since_last_purchase", "number")
    pd.testing.assert_frame_equal(actual, expected.astype({"rfm_segment": object}))
    # The data exercise the tie convention: 11,908 of 23,570 customers bought once; they share
    # rank 1 and frequency score 1, and the next tie group (two purchases) starts at 50.5%.
    one_timers = customers["purchases"] == 1
    assert one_timers.sum() == 11_908
    assert set(expected.loc[one_timers, "rfm_frequency_score"]) == {1}
    assert set(expected["rfm_frequency_score"]) == {1, 3, 4, 5}
    assert (expected["rfm_segment"] == "Lost").sum() > 0
    assert (
        set(expected["rfm_recency_score"]) == set(expected["rfm_monetary_score"]) == {1, 2, 3, 4, 5}
    )


def test_rfm_from_a_last_purchase_date_scores_the_same(customers):
    by_days = segsync_rfm(customers, "days_since_last_purchase", "number")
    by_date = segsync_rfm(customers, "last_purchase", "date")
    pd.testing.assert_frame_equal(by_date, by_days)
