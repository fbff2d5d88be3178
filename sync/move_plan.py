"""Planning the moves between primary segments: pure, like the rest of the plan.

A contact moves when the primary segment segmentation gives it now differs from the one it
had: the segment of its last recorded move, or, for a contact segsync never moved, what the
CRM holds. A recorded move wins over the CRM's value, so a person clearing or editing segsync's
field is repaired by the write, not counted as a move. A move planned by a run that was killed
before the CRM confirmed it still counts from where that run started (``MoveLedger``).

Each move rides in the contact's write with its primary segment and, when configured, the
previous segment and the date, so a workflow that starts on a move ("Champions" to "At risk")
sees both fields consistent. A move whose values the CRM already holds (the write of a killed
run landed, unconfirmed) needs no write: the run records it as the CRM holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import pandas as pd

from connectors.base import PropertyWrite
from sync.config import SyncOptions
from sync.moves import SegmentMove

Frame = TypeVar("Frame", pd.DataFrame, pd.Series)


@dataclass(frozen=True)
class MovePlan:
    """The run's writes with the moves in them, the moves they carry (``written``, recorded
    once the CRM confirms each write) and those the CRM already holds (``held``)."""

    writes: tuple[PropertyWrite, ...]
    written: tuple[SegmentMove, ...]
    held: tuple[SegmentMove, ...]


def planned_moves(
    assignments: pd.DataFrame,
    current: pd.DataFrame,
    segment_property: str,
    known_segments: Mapping[str, str | None],
) -> tuple[SegmentMove, ...]:
    """The contacts whose primary segment changes, from the segment they are known to have
    (``known_segments``, else the CRM's value) to the one in ``assignments``."""
    index = assignments.index
    now = _text(assignments["primary"])
    held = _text(current.reindex(index=index, columns=[segment_property])[segment_property])
    recorded = pd.Series(
        {cid: segment or "" for cid, segment in known_segments.items()}, dtype=object
    ).reindex(index)
    before = recorded.where(recorded.notna(), held)
    moved = now.ne(before).to_numpy()
    return tuple(
        SegmentMove(str(cid), previous or None, segment or None)
        for cid, previous, segment in zip(
            index[moved].tolist(), before[moved].tolist(), now[moved].tolist(), strict=True
        )
    )


def plan_moves(
    writes: Sequence[PropertyWrite],
    moves: Sequence[SegmentMove],
    current: pd.DataFrame,
    options: SyncOptions,
    moved_on: date | None,
) -> MovePlan:
    """Put each move into its contact's write (a write of its own when the contact had none),
    unless the CRM already holds the move's values (the date aside) and nothing else is to
    be written on the contact."""
    if options.segment_changed_property and moved_on is None:
        raise ValueError("segment_changed_property is set: the plan needs moved_on")
    writing = {write.contact_id for write in writes}
    values = {move.contact_id: _move_values(move, options, moved_on) for move in moves}
    held = _held(moves, values, current, writing, options.segment_changed_property)
    held_ids = {move.contact_id for move in held}
    extra = {cid: moved for cid, moved in values.items() if cid not in held_ids}
    merged = [
        PropertyWrite(write.contact_id, {**write.values, **extra.pop(write.contact_id, {})})
        for write in writes
    ]
    return MovePlan(
        writes=tuple(merged + [PropertyWrite(cid, moved) for cid, moved in extra.items()]),
        written=tuple(move for move in moves if move.contact_id not in held_ids),
        held=held,
    )


def _held(
    moves: Sequence[SegmentMove],
    values: Mapping[str, Mapping[str, str]],
    current: pd.DataFrame,
    writing: set[str],
    date_field: str,
) -> tuple[SegmentMove, ...]:
    """The moves whose values the CRM holds already, on contacts with nothing else to write."""
    candidates = [move for move in moves if move.contact_id not in writing]
    if not candidates:
        return ()
    names = [name for name in values[candidates[0].contact_id] if name != date_field]
    holds = _text(current.reindex(index=[m.contact_id for m in candidates], columns=names))
    return tuple(
        move
        for move, row in zip(candidates, holds.itertuples(index=False), strict=True)
        if all(held == values[move.contact_id][name] for name, held in zip(names, row, strict=True))
    )


def _move_values(
    move: SegmentMove, options: SyncOptions, moved_on: date | None
) -> dict[str, str]:
    values = {options.segment_property: move.segment or ""}
    if options.previous_segment_property:
        values[options.previous_segment_property] = move.previous or ""
    if options.segment_changed_property and moved_on is not None:
        values[options.segment_changed_property] = moved_on.isoformat()
    return values


def _text(values: Frame) -> Frame:
    """Values as the CRM stores them: text, with a missing value as the empty string."""
    return values.astype(object).where(values.notna(), "")
