"""What a run adds to the holdout record (``sync.state.holdouts``): pure, from the run's
segmentation and what the record already holds.

A segment with ``holdout > 0`` keeps a stable, hash-chosen share of its matching contacts out
of its list (``sync.plan.in_holdout``). To compare the two groups fairly each contact counts
from the run it first matched the segment, in the group it was assigned then; a contact already
converted at that moment can show no effect of the list and is left out of both groups
(recorded, so it is not taken for a newcomer later). Opted-out contacts are in neither group:
the list could never reach them, held out or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from segment_core.segmenter import Segmentation
from sync.config.models import ReportOptions
from sync.conversion import Conversion, converted
from sync.plan import in_holdout
from sync.state.holdouts import HoldoutEntry, HoldoutUpdate


def holdout_update(
    report: ReportOptions,
    segmentation: Segmentation,
    holdouts: Mapping[str, float],
    opted_out: set[str],
    recorded: Mapping[str, set[str]],
    *,
    run_id: int,
    now: datetime,
) -> HoldoutUpdate | None:
    """The run's additions to the record; None when there is nothing to measure (no segment
    keeps a holdout, or no conversion is configured: without one, entries would lack whether
    their contact had converted on entry)."""
    data = segmentation.frame.data
    held_segments = [name for name, share in holdouts.items() if share > 0]
    if not held_segments or report.conversion_field not in data:
        return None
    assert report.conversion_field is not None
    conversion = Conversion(report.conversion_field, frozenset(report.conversion_values))
    is_converted = converted(data, conversion)
    converted_now = frozenset(str(cid) for cid in is_converted.index[is_converted.to_numpy()])
    entries = tuple(
        HoldoutEntry(
            segment=segment,
            contact_id=contact_id,
            run_id=run_id,
            entered_at=now,
            held_out=in_holdout(contact_id, segment, holdouts[segment]),
            converted_on_entry=contact_id in converted_now,
        )
        for segment in held_segments
        for contact_id in _newcomers(
            segmentation.memberships, segment, recorded.get(segment, set()) | opted_out
        )
    )
    # Only recorded contacts can convert since entering: the others need no update.
    known = frozenset().union(*recorded.values())
    return HoldoutUpdate(entries, converted_now & known, now)


def _newcomers(memberships: pd.DataFrame, segment: str, known: set[str]) -> list[str]:
    """The contacts matching ``segment`` that are not in ``known``, in id order."""
    if segment not in memberships:
        return []
    matching = memberships.index[memberships[segment].to_numpy(dtype=bool)]
    return sorted(str(cid) for cid in matching if str(cid) not in known)
