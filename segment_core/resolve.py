"""From rule matches to one primary segment per contact, with the reason a sales rep sees.

Resolution is vectorised over membership *patterns* (which segments a contact is in) rather than
contacts: ten segments allow at most 1,024 patterns however many contacts there are, so the
per-pattern Python below runs a bounded number of times and everything per-contact is numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from segment_core.coerce import CoercedFrame
from segment_core.errors import RuleError
from segment_core.evaluate import evaluate
from segment_core.rules import describe
from segment_core.segments import RuleSegment

NO_MATCH_REASON = "no segment matched"


def membership_table(
    segments: Sequence[RuleSegment], frame: CoercedFrame, now: datetime
) -> pd.DataFrame:
    """Which contacts are in which segments: one bool column per segment, in config order.

    Raises ``RuleError`` naming the segment whose rule does not fit the frame's fields.
    """
    _check_unique_names(segments)
    columns = {}
    for segment in segments:
        try:
            columns[segment.name] = evaluate(segment.rule, frame, now)
        except RuleError as error:
            raise error.with_segment(segment.name) from None
    return pd.DataFrame(columns, index=frame.data.index, dtype=bool)


def resolve(
    memberships: pd.DataFrame, segments: Sequence[RuleSegment], fallback: str | None = None
) -> pd.DataFrame:
    """Each contact's primary segment, all its segments and why, from ``membership_table``.

    The primary segment is the matched one with the highest priority; ties go to the segment
    declared first in the config, so the outcome is deterministic and the config author controls
    it by ordering. A contact in no segment gets ``fallback`` (None by default).

    Returns a frame on the memberships' index with columns:

    - ``primary``: the primary segment's name, or ``fallback``;
    - ``segments``: a tuple of every matched name, by priority (highest first) then config order,
      so it starts with the primary;
    - ``reason``: ``"<primary>: <its rule as text>"``, then ``"; also in <others>"`` when the
      contact is in other segments, or ``"no segment matched"``.
    """
    _check_unique_names(segments)
    ranked = sorted(segments, key=lambda segment: -segment.priority)  # stable: ties keep order
    matrix = memberships.loc[:, [segment.name for segment in ranked]].to_numpy(dtype=bool)
    patterns, pattern_of_contact = _unique_rows(matrix)
    primaries, names, reasons = [], [], []
    for pattern in patterns:
        matched = [segment for segment, hit in zip(ranked, pattern) if hit]
        primaries.append(matched[0].name if matched else fallback)
        names.append(tuple(segment.name for segment in matched))
        reasons.append(_reason(matched))
    index = memberships.index
    return pd.DataFrame(
        {
            "primary": pd.Series(_objects(primaries)[pattern_of_contact], index, dtype=object),
            "segments": pd.Series(_objects(names)[pattern_of_contact], index, dtype=object),
            "reason": pd.Series(_objects(reasons)[pattern_of_contact], index, dtype="str"),
        }
    )


def _reason(matched: Sequence[RuleSegment]) -> str:
    if not matched:
        return NO_MATCH_REASON
    primary, *others = matched
    reason = f"{primary.name}: {describe(primary.rule)}"
    if others:
        reason += f"; also in {', '.join(segment.name for segment in others)}"
    return reason


def _unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a bool matrix, and for each row the index of its distinct row.

    Rows are packed to bytes and compared as one opaque value each, which is far faster than
    ``np.unique(axis=0)``.
    """
    if matrix.shape[1] == 0:  # no segments: every contact has the same, empty, pattern
        return np.zeros((1, 0), dtype=bool), np.zeros(len(matrix), dtype=np.intp)
    packed = np.ascontiguousarray(np.packbits(matrix, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return matrix[first], inverse


def _objects(items: Sequence[object]) -> np.ndarray:
    """A 1-d object array of ``items``, even when they are tuples numpy would unpack."""
    array = np.empty(len(items), dtype=object)
    for position, item in enumerate(items):
        array[position] = item
    return array


def _check_unique_names(segments: Sequence[RuleSegment]) -> None:
    names = [segment.name for segment in segments]
    if len(set(names)) != len(names):
        raise ValueError(f"segment names must be unique, got {names}")
