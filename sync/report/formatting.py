"""Numbers as the report's readers write them, shared by the charts and the HTML.

A statistic that could not be computed (a cluster without values of a feature has no average)
reads ``NO_DATA``, never ``nan``: each function here takes None or NaN for it.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

MINUS = "\u2212"
"""A real minus sign: a hyphen is narrower than "+" and misaligns signed columns."""

NO_DATA = "no data"
"""How a missing statistic reads, in the report and on the terminal."""


def known(number: float | None) -> float | None:
    """``number``, or None when it is no statistic at all (None or NaN)."""
    return None if number is None or math.isnan(number) else number


def count(value: int) -> str:
    """A count with thousands separators: ``12,345``."""
    return f"{value:,}"


def percent(share: float | None) -> str:
    """A share (0-1) as a percentage with one decimal: ``12.3%``."""
    number = known(share)
    return NO_DATA if number is None else f"{number * 100:.1f}%"


def signed(change: int) -> str:
    """A change with its sign: ``+12``, ``−5``, ``0``."""
    if change > 0:
        return f"+{change:,}"
    if change < 0:
        return f"{MINUS}{-change:,}"
    return "0"


def points(difference: float) -> str:
    """A difference of two shares in percentage points, signed: ``+4.2 pp``, ``−0.8 pp``."""
    sign = "+" if difference > 0 else MINUS if difference < 0 else ""
    return f"{sign}{abs(difference) * 100:.1f} pp"


def signed_percent(share: float) -> str:
    """A relative change, signed: ``+35.0%``, ``−12.5%``."""
    sign = "+" if share > 0 else MINUS if share < 0 else ""
    return f"{sign}{abs(share) * 100:.1f}%"


def amount(value: float | None) -> str:
    """Money or another large quantity, whole units: ``1,234,568``."""
    number = known(value)
    return NO_DATA if number is None else f"{number:,.0f}"


def compact(number: float) -> str:
    """An axis tick for large amounts: ``950``, ``12k``, ``1.5M``, ``2B``."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= threshold:
            return f"{number / threshold:.1f}".removesuffix(".0") + suffix
    return f"{number:.0f}"


def value(value: float | pd.Timestamp | None) -> str:
    """A threshold or an average in a label: a day for dates, whole numbers plain, small
    fractions to 0.01."""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    number = known(None if value is None else float(value))
    if number is None:
        return NO_DATA
    return amount(number) if number.is_integer() or abs(number) >= 100 else f"{number:,.2f}"


def moment(when: datetime | pd.Timestamp) -> str:
    """A point in time to the minute, in UTC: ``2025-06-30 14:05 UTC``."""
    return pd.Timestamp(when).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")
