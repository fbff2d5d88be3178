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
"""

from __future__ import annotations

import pandas as pd

from segment_core.cluster_drift import Drift
from segment_core.cluster_state import from_state
from segment_core.clusters import ClusterSegmenter
from segment_core.coerce import CoercedFrame
from segment_core.stored import StoredModelError

_MODEL_PARAMS = ("n_clusters", "min_category_share")
"""Parameters that shape the model itself: a change refits even when the data did not drift."""


def refit_or_keep(
    segmenter: ClusterSegmenter,
    frame: CoercedFrame | pd.DataFrame,
    stored: ClusterSegmenter | bytes | str | None,
    *,
    refit: bool = False,
) -> ClusterSegmenter:
    """``segmenter`` fitted on ``frame``, or keeping ``stored`` (a fitted segmenter or its
    ``to_state``) while it still fits the contacts; ``fit_reason_`` says which and why,
    ``drift_`` what the stored model measured. ``refit`` trains even when it still fits."""
    segmenter.check_params()
    previous = _usable(segmenter, stored)
    if isinstance(previous, str):  # no stored model to start from, and why
        return _recorded(segmenter.fit(frame), previous, None)
    drift = previous.drift(frame)
    exceeded = drift.exceeds(segmenter.drift_threshold, segmenter.share_drift_threshold)
    changed = [key for key in _MODEL_PARAMS if _param(previous, key) != _param(segmenter, key)]
    if refit:
        reason = "refit requested"
    elif changed:
        reason = f"parameters changed since the stored model: {', '.join(changed)}"
    elif exceeded:
        reason = f"drift: {_figures(drift)}"
    else:
        kept = segmenter.adopt(previous, frame)
        return _recorded(kept, f"stored model kept: {_figures(drift)}", drift)
    return _recorded(segmenter.fit(frame, previous), reason, drift)


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


def _recorded(model: ClusterSegmenter, reason: str, drift: Drift | None) -> ClusterSegmenter:
    model.fit_reason_ = reason
    model.drift_ = drift
    return model


def _figures(drift: Drift) -> str:
    return f"distance +{drift.distance_increase:.0%}, share shift {drift.share_shift:.0%}"


def _param(segmenter: ClusterSegmenter, key: str) -> object:
    """A parameter in comparable form (a stored model's came back through JSON as lists)."""
    value = getattr(segmenter, key)
    return tuple(value) if isinstance(value, list) else value
