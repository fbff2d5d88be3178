"""Time as the sandboxes keep it: epoch milliseconds, and HubSpot's ISO 8601 text of them.

Shared by both CRMs: the seed writes its histories in this text, HubSpot's store and API
parse and render it, and every store's clock starts from ``wall_clock_ms``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache

DAY_MS = 86_400_000


def iso_from_ms(ms: int) -> str:
    """HubSpot's timestamp text: ISO 8601 in UTC with milliseconds and a ``Z``.

    Hand-rolled with a per-day cache because seeding formats hundreds of thousands of them.
    """
    day, rest = divmod(ms, DAY_MS)
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day_prefix(day)}{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


@lru_cache(maxsize=8192)
def _day_prefix(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))


def ms_from_iso(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 timestamp (``Z`` or an offset; naive means UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def parse_timestamp_ms(text: str) -> int | None:
    """Epoch ms from what HubSpot accepts for dates and datetimes: epoch-ms text, ISO 8601, or
    ``YYYY-MM-DD`` (midnight UTC); None when the text is none of these."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return round(day.timestamp() * 1000)
        return ms_from_iso(text)
    except ValueError:
        return None


def wall_clock_ms() -> int:
    """Now, in epoch milliseconds."""
    return time.time_ns() // 1_000_000
