"""Who moved: a contact's primary segment changing, as a run plans it, as the state store
records it once the CRM confirmed the write, and as the report and ``runs show`` sum it up.

A move is recorded only for a write the CRM confirmed (segsync's first promise: only confirmed
writes count), in the same transaction as that write's checkpoint: a run killed at any moment
neither loses nor doubles one. ``None`` stands for "no primary segment": the previous segment
of a first assignment, or the segment of a contact that no longer matches any.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

NO_SEGMENT = "(none)"
"""How "no primary segment" reads in tables and the report."""
PERIOD = re.compile(r"(?P<count>[1-9][0-9]{0,4})(?P<unit>[dw])")
PERIOD_UNITS = {"d": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True)
class SegmentMove:
    """A contact's primary segment changing from ``previous`` to ``segment``."""

    contact_id: str
    previous: str | None
    segment: str | None


@dataclass(frozen=True)
class RecordedMove:
    """A move as the state store keeps it: which run made it, and when the CRM confirmed it."""

    run_id: int
    moved_at: datetime
    move: SegmentMove


Pair = tuple[str | None, str | None]
"""(from, to): a previous primary segment and the one that replaced it."""


def segment_label(segment: str | None) -> str:
    return NO_SEGMENT if segment is None else segment


def net_pairs(moves: Iterable[RecordedMove]) -> list[Pair]:
    """Per contact, from its first previous segment to its last segment, in the order the
    moves were recorded: a contact that moved twice counts once, and one back where it started
    has not moved."""
    first: dict[str, str | None] = {}
    last: dict[str, str | None] = {}
    for recorded in sorted(moves, key=lambda m: (m.run_id, m.moved_at)):
        move = recorded.move
        first.setdefault(move.contact_id, move.previous)
        last[move.contact_id] = move.segment
    return [(first[cid], last[cid]) for cid in first if first[cid] != last[cid]]


@dataclass(frozen=True)
class MigrationMatrix:
    """How many contacts moved from each segment to each other one."""

    counts: Counter[Pair]

    @classmethod
    def of(cls, pairs: Iterable[Pair]) -> MigrationMatrix:
        return cls(Counter(pairs))

    @classmethod
    def of_moves(cls, moves: Iterable[RecordedMove]) -> MigrationMatrix:
        """The net matrix of recorded moves (``net_pairs``)."""
        return cls.of(net_pairs(moves))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def sources(self) -> list[str | None]:
        """The "from" segments, most contacts moved out first."""
        return _by_size((source, count) for (source, _), count in self.counts.items())

    @property
    def targets(self) -> list[str | None]:
        """The "to" segments, most contacts moved in first."""
        return _by_size((target, count) for (_, target), count in self.counts.items())

    def count(self, source: str | None, target: str | None) -> int:
        return self.counts.get((source, target), 0)

    def moved_out(self, source: str | None) -> int:
        return sum(count for (start, _), count in self.counts.items() if start == source)

    def share(self, source: str | None, target: str | None) -> float:
        """The share of the contacts that left ``source`` who went to ``target``."""
        out = self.moved_out(source)
        return self.count(source, target) / out if out else 0.0

    def largest(self, limit: int) -> list[tuple[str | None, str | None, int]]:
        """The ``limit`` largest from → to pairs, largest first (ties by name)."""
        ranked = sorted(
            self.counts.items(),
            key=lambda item: (-item[1], segment_label(item[0][0]), segment_label(item[0][1])),
        )
        return [(source, target, count) for (source, target), count in ranked[:limit]]


@dataclass(frozen=True)
class MigrationView:
    """One migration matrix and what it covers ("Run 12", "The last 90 days"), as the
    report shows it."""

    title: str
    note: str
    matrix: MigrationMatrix


def _by_size(items: Iterable[tuple[str | None, int]]) -> list[str | None]:
    totals: Counter[str | None] = Counter()
    for segment, count in items:
        totals[segment] += count
    return sorted(totals, key=lambda segment: (-totals[segment], segment_label(segment)))


@dataclass(frozen=True)
class Period:
    """A stretch of time back from now, as a person wrote it (``90d``) and as a length."""

    text: str
    length: timedelta

    @property
    def words(self) -> str:
        """``90 days``, ``1 week``."""
        count, unit = int(self.text[:-1]), {"d": "day", "w": "week"}[self.text[-1]]
        return f"{count} {unit}{'' if count == 1 else 's'}"


def parse_period(text: str) -> Period:
    """A period such as ``7d``, ``90d`` or ``12w`` (days or weeks); ValueError otherwise."""
    cleaned = text.strip()
    match = PERIOD.fullmatch(cleaned)
    if match is None:
        raise ValueError(
            f"{text!r} is not a period: write a number of days or weeks, e.g. 7d, 90d or 12w"
        )
    return Period(cleaned, int(match["count"]) * PERIOD_UNITS[match["unit"]])

