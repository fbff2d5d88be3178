"""From rule matches to one primary segment per contact, with the reason a sales rep sees.

Rule segments and cluster segments (``ClusterSegmentSet``: one segment per cluster, every
contact in exactly one cluster of a set, all clusters at the set's priority) resolve together:
``membership_table`` takes the cluster sets alongside the rule segments and ``resolve`` ranks
both kinds by priority. The reason names the primary segment and why the contact is in it,
then the other segments it is in::

    Enterprise Healthcare: industry in ("Healthcare") and employees >= 1000; also in At risk
    Cluster 'Enterprise · Healthcare': employees high, industry Healthcare; also in At risk

Resolution is vectorised over membership *patterns* (which segments a contact is in) rather than
contacts: ten segments allow at most 1,024 patterns however many contacts there are, so the
per-pattern Python below runs a bounded number of times and everything per-contact is numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segment_core.coerce import CoercedFrame
from segment_core.errors import RuleError
from segment_core.evaluate import evaluate
from segment_core.rules import describe
from segment_core.segments import ClusterSegment, RuleSegment, Segment

if TYPE_CHECKING:
    from segment_core.cluster_set import ClusterSegmentSet

NO_MATCH_REASON = "no segment matched"


def membership_table(
    segments: Sequence[RuleSegment],
    frame: CoercedFrame,
    now: datetime,
    cluster_sets: Sequence[ClusterSegmentSet] = (),
) -> pd.DataFrame:
    """Which contacts are in which segments: one bool column per segment, in config order.

    The rule segments come first, then each cluster set's clusters (by cluster id), so the
    columns line up with ``all_segments(segments, cluster_sets)``. Raises ``RuleError`` naming
    the segment whose rule does not fit the frame's fields, and ``ValueError`` when two
    segments (rule or cluster) share a name.
    """
    _check_unique_names(all_segments(segments, cluster_sets))
    columns = {}
    for segment in segments:
        try:
            columns[segment.name] = evaluate(segment.rule, frame, now)
        except RuleError as error:
            raise error.with_segment(segment.name) from None
    table = pd.DataFrame(columns, index=frame.data.index, dtype=bool)
    if not cluster_sets:
        return table
    clustered = [cluster_set.memberships(frame) for cluster_set in cluster_sets]
    return pd.concat([table, *clustered], axis=1)


def all_segments(
    segments: Sequence[RuleSegment], cluster_sets: Sequence[ClusterSegmentSet] = ()
) -> list[Segment]:
    """The rule segments, then every cluster set's cluster segments: what ``resolve`` ranks."""
    return [*segments, *(segment for s in cluster_sets for segment in s.segments)]


def segment_reason(segment: Segment) -> str:
    """Why a contact is in ``segment``: ``"<name>: <rule as text>"``, or the cluster's traits."""
    if isinstance(segment, ClusterSegment):
        return segment.reason
    return f"{segment.name}: {describe(segment.rule)}"


def resolve(
    memberships: pd.DataFrame, segments: Sequence[Segment], fallback: str | None = None
) -> pd.DataFrame:
    """Each contact's primary segment, all its segments and why, from ``membership_table``.

    The primary segment is the matched one with the highest priority; ties go to the segment
    declared first in the config, so the outcome is deterministic and the config author controls
    it by ordering. A contact in no segment gets ``fallback`` (None by default).

    Returns a frame on the memberships' index with columns:

    - ``primary``: the primary segment's name, or ``fallback``;
    - ``segments``: a tuple of every matched name, by priority (highest first) then config order,
      so it starts with the primary;
    - ``reason``: ``"<primary>: <its rule as text>"`` (for a cluster primary,
      ``"Cluster '<name>': <its traits>"``), then ``"; also in <others>"`` when the contact is
      in other segments, or ``"no segment matched"``.

    ``segments`` may mix ``RuleSegment`` and ``ClusterSegment`` (see ``all_segments``).
    """
    _check_unique_names(segments)
    ranked = sorted(segments, key=lambda segment: -segment.priority)  # stable: ties keep order
    matrix = memberships.loc[:, [segment.name for segment in ranked]].to_numpy(dtype=bool)
    patterns, pattern_of_contact = _unique_rows(matrix)
    why = {segment.name: segment_reason(segment) for segment in ranked}  # once, not per pattern
    primaries, names, reasons = [], [], []
    for pattern in patterns:
        matched = [segment for segment, hit in zip(ranked, pattern, strict=False) if hit]
        primaries.append(matched[0].name if matched else fallback)
        names.append(tuple(segment.name for segment in matched))
        reasons.append(_reason(matched, why))
    index = memberships.index
    return pd.DataFrame(
        {
            "primary": pd.Series(_objects(primaries)[pattern_of_contact], index, dtype=object),
            "segments": pd.Series(_objects(names)[pattern_of_contact], index, dtype=object),
            # Taken as text from the per-pattern reasons: no per-contact conversion to text.
            "reason": pd.Series(pd.array(reasons, dtype="str").take(pattern_of_contact), index),
        }
    )


def _reason(matched: Sequence[Segment], why: dict[str, str]) -> str:
    if not matched:
        return NO_MATCH_REASON
    primary, *others = matched
    reason = why[primary.name]
    if others:
        reason += f"; also in {', '.join(segment.name for segment in others)}"
    return reason


def _unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a bool matrix, and for each row the index of its distinct row.

    Each row is packed to bits, 64 segments to a word, and the words are hashed
    (``pd.factorize``) one after another into one pattern code per row: far faster than
    sorting rows (``np.unique(axis=0)``, or on the packed bytes).
    """
    if matrix.shape[1] == 0:  # no segments: every contact has the same, empty, pattern
        return np.zeros((1, 0), dtype=bool), np.zeros(len(matrix), dtype=np.intp)
    width = -(-matrix.shape[1] // 64) * 8  # bytes per row, whole 64-bit words
    packed = np.zeros((len(matrix), width), dtype=np.uint8)
    packed[:, : -(-matrix.shape[1] // 8)] = np.packbits(matrix, axis=1)
    words = packed.view(np.uint64)
    codes = np.zeros(len(matrix), dtype=np.int64)
    for word in words.T:  # codes < contacts, so code * distinct + word code fits in int64
        word_codes, distinct = pd.factorize(word)
        codes, _ = pd.factorize(codes * len(distinct) + word_codes)
    # Codes number the patterns in order of first appearance: their first rows, in order.
    first = np.flatnonzero(~pd.Index(codes).duplicated())
    return matrix[first], codes


def _objects(items: Sequence[object]) -> np.ndarray:
    """A 1-d object array of ``items``, even when they are tuples numpy would unpack."""
    array = np.empty(len(items), dtype=object)
    for position, item in enumerate(items):
        array[position] = item
    return array


def _check_unique_names(segments: Sequence[Segment]) -> None:
    names = [segment.name for segment in segments]
    if len(set(names)) != len(names):
        raise ValueError(f"segment names must be unique, got {names}")
