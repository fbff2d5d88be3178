"""Time as the state store keeps it: always UTC, always timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The time stamp the store writes."""
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A stored time as UTC: SQLite hands datetimes back naive, and everything stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
