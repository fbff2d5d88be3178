"""Numbers as the report's readers write them, shared by the charts and the HTML."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

MINUS = "\u2212"
"""A real minus sign: a hyphen is narrower than "+" and misaligns signed columns."""


def count(value: int) -> str:
    """A count with thousands separators: ``12,345``."""
    return f"{value:,}"


def percent(share: float) -> str:
    """A share (0-1) as a percentage with one decimal: ``12.3%``."""
    return f"{share * 100:.1f}%"


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


def amount(value: float) -> str:
    """Money or another large quantity, whole units: ``1,234,568``."""
    return f"{value:,.0f}"


def compact(number: float) -> str:
    """An axis tick for large amounts: ``950``, ``12k``, ``1.5M``, ``2B``."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= threshold:
            return f"{number / threshold:.1f}".removesuffix(".0") + suffix
    return f"{number:.0f}"


def value(value: float | pd.Timestamp) -> str:
    """A threshold in a label: a day for dates, whole numbers plain, small fractions to 0.01."""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    number = float(value)
    return amount(number) if number.is_integer() or abs(number) >= 100 else f"{number:,.2f}"


def moment(when: datetime | pd.Timestamp) -> str:
    """A point in time to the minute, in UTC: ``2025-06-30 14:05 UTC``."""
    return pd.Timestamp(when).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")
