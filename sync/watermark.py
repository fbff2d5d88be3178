"""Where the next incremental pull starts: the rule that decides which changes are re-read."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

WATERMARK_OVERLAP = timedelta(minutes=5)
"""Re-read this much before the newest change seen, on top of the pull's own duration: a
contact edited while a long pull was running may carry an older time than one read later."""


def next_watermark(
    pulled: pd.Series,
    *,
    started: datetime,
    finished: datetime,
    previous: datetime | None,
    crm_started: datetime | None,
) -> datetime:
    """Where the next incremental pull starts: the newest change seen (``pulled``: the
    modification times the pull read), minus the pull's duration (``started`` to ``finished``,
    by this machine's clock) and a safety overlap; or, when later, the CRM's own time at pull
    start (``crm_started``, None when unknown) minus the overlap. A pull that saw no change
    keeps the ``previous`` cursor, or starts from the pull's start minus the overlap: by the
    CRM's clock when known, since this machine's may run ahead of the CRM's stamps.

    Every change the CRM stamped before the pull started was there to read (the overlap covers
    its search index trailing writes), so the next pull need not go further back: a quiet
    portal is not re-read since its last change on every run.
    """
    newest = pulled.dropna().max() if len(pulled) else None
    if newest is None or pd.isna(newest):
        since_seen = previous or (crm_started or started) - WATERMARK_OVERLAP
    else:
        pull_took = finished - started
        since_seen = newest.to_pydatetime() - pull_took - WATERMARK_OVERLAP
    if crm_started is None:
        return since_seen
    return max(since_seen, crm_started - WATERMARK_OVERLAP)
