"""Keep the stored cluster model or refit it: the decision a run makes before it clusters.

A cluster keeps its identity and name from run to run, so a stored model is first measured on
the new contacts (``ClusterSegmenter.drift``): the mean distance of contacts to their nearest
stored centroid against the same figure when it was trained, and the total variation between
the stored and the current cluster shares (a lower bound on the share of contacts that changed
cluster). If neither passes its threshold (``drift_threshold``, ``share_drift_threshold``), and
no refit was asked for, the stored model is kept as is and only predicts: no cluster changes
identity or name. Otherwise a new model is trained from the stored one (``fit(previous=...)``:
matched clusters keep their ids and names). A change of ``n_clusters`` or
``min_category_share`` refits too; a change of the features themselves, or a stored model
``from_state`` refuses, fits afresh, with new ids.

The refresh cadence: with ``refit_every`` (``[[clusters]] refit_every = "90 days"``), a stored
model trained longer ago than that is refit even when it still fits, as the segmentation
literature asks for a periodic refresh; so is one whose fit time is unknown (stored by a
segsync before fit times were kept). Between refits the drift check decides as above. A refit
starts from the stored model either way, so names survive it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from segment_core.cluster_drift import Drift
from segment_core.cluster_state import from_state
from segment_core.clusters import ClusterSegmenter
from segment_core.coerce import CoercedFrame
from segment_core.config_readers import describe_duration
from segment_core.stored import StoredModelError

_MODEL_PARAMS = ("n_clusters", "min_category_share")
"""Parameters that shape the model itself: a change refits even when the data did not drift."""


def refit_or_keep(
    segmenter: ClusterSegmenter,
    frame: CoercedFrame | pd.DataFrame,
    stored: ClusterSegmenter | bytes | str | None,
    *,
    refit: bool = False,
    now: datetime | None = None,
    refit_every: timedelta | None = None,
) -> ClusterSegmenter:
    """``segmenter`` fitted on ``frame``, or keeping ``stored`` (a fitted segmenter or its
    ``to_state``) while it still fits the contacts; ``fit_reason_`` says which and why,
    ``drift_`` what the stored model measured, ``fitted_at_`` when the model was trained
    (``now`` for a new fit). ``refit`` trains even when it still fits, and so does a stored
    model older than ``refit_every`` (which needs ``now``)."""
    segmenter.check_params()
    if refit_every is not None and now is None:
        raise ValueError("refit_every needs now, the time the model's age is measured at")
    previous = _usable(segmenter, stored)
    if isinstance(previous, str):  # no stored model to start from, and why
        return _recorded(segmenter.fit(frame), previous, None, now)
    drift = previous.drift(frame)
    exceeded = drift.exceeds(segmenter.drift_threshold, segmenter.share_drift_threshold)
    changed = [key for key in _MODEL_PARAMS if _param(previous, key) != _param(segmenter, key)]
    due = _refit_due(previous.fitted_at_, now, refit_every)
    if refit:
        reason = "refit requested"
    elif changed:
        reason = f"parameters changed since the stored model: {', '.join(changed)}"
    elif due:
        reason = due
    elif exceeded:
        reason = f"drift: {_figures(drift)}"
    else:
        kept = segmenter.adopt(previous, frame)
        return _recorded(kept, f"stored model kept: {_figures(drift)}", drift, kept.fitted_at_)
    return _recorded(segmenter.fit(frame, previous), reason, drift, now)


def _refit_due(
    fitted_at: datetime | None, now: datetime | None, refit_every: timedelta | None
) -> str | None:
    """Why the refresh cadence refits the stored model now, or None when it does not."""
    if refit_every is None or now is None:
        return None
    every = describe_duration(refit_every)
    if fitted_at is None:
        return (
            f"refit due: the stored model has no fit time (stored by an older segsync) "
            f"and refit_every is {every}"
        )
    if now - fitted_at < refit_every:
        return None
    age = describe_duration(now - fitted_at)
    return f"refit due: the stored model is {age} old (refit_every {every})"


def _usable(
    segmenter: ClusterSegmenter, stored: ClusterSegmenter | bytes | str | None
) -> ClusterSegmenter | str:
    """The stored model to start from, or why there is none (the fit's reason)."""
    if stored is None:
        return "no stored model"
    if isinstance(stored, ClusterSegmenter):
        previous = stored
    else:
        try:
            previous = from_state(stored)
        except StoredModelError as error:
            return f"the stored model was refused ({error}); fitted afresh"
    if previous.features() != segmenter.features():
        return "the features changed since the stored model; fitted afresh"
    return previous


def _recorded(
    model: ClusterSegmenter, reason: str, drift: Drift | None, fitted_at: datetime | None
) -> ClusterSegmenter:
    model.fit_reason_ = reason
    model.drift_ = drift
    model.fitted_at_ = fitted_at
    return model


def _figures(drift: Drift) -> str:
    rise = round(drift.distance_increase * 100)  # contacts may sit closer: a fall, no "+-0%"
    return f"distance {rise:+d}%, share shift {drift.share_shift:.0%}"


def _param(segmenter: ClusterSegmenter, key: str) -> object:
    """A parameter in comparable form (a stored model's came back through JSON as lists)."""
    value = getattr(segmenter, key)
    return tuple(value) if isinstance(value, list) else value
