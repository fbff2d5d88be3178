"""A fitted ``ClusterSegmenter`` as stored state, and back: how cluster models outlive a run.

``to_state`` is JSON (UTF-8 bytes) and plain data only: parameters, ids, names, profiles, the
drift reference and the learned model (``ClusterModel``: imputation, scaling and one-hot
statistics, centroids), which predicts with numpy, never with unpickled objects. The state store
may be a shared database or a restored backup, so ``from_state`` reads the document strictly and
refuses anything else with ``StoredModelError``, version 1 documents included (they held a
pickled pipeline); ``refit_or_keep`` then trains afresh and says why in ``fit_reason_``.
Version 3 added ``fitted_at``, when the model was last trained (ISO 8601, or null when that is
unknown); a version 2 document still loads, as a model fitted at an unknown time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import numpy as np

from segment_core import config_readers as read
from segment_core.cluster_model import ClusterModel
from segment_core.clusters import ClusterSegmenter
from segment_core.errors import ConfigError
from segment_core.profiles import ClusterProfile
from segment_core.stored import StoredModelError, items, mapping, refusing
from segment_core.syntax import describe_value

STATE_FORMAT = "segsync.cluster_segmenter"
STATE_VERSION = 3
PICKLED_STATE_VERSION = 1
"""The first format, which held a pickled scikit-learn pipeline: never loaded."""
UNTIMED_STATE_VERSION = 2
"""The format before the fit time was stored: it loads, fitted at an unknown time (None)."""

T = TypeVar("T")


def to_state(segmenter: ClusterSegmenter) -> bytes:
    """The fitted ``segmenter`` as UTF-8 JSON bytes of plain data, for the state store."""
    segmenter.check_fitted()
    document = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "params": _jsonable(segmenter.get_params()),
        "cluster_ids": list(segmenter.cluster_ids_),
        "names": {str(cid): name for cid, name in segmenter.names_.items()},
        "k_scores": {str(k): score for k, score in segmenter.k_scores_.items()},
        "reference": {
            "mean_distance": segmenter.reference_distance_,
            "shares": {str(cid): share for cid, share in segmenter.reference_shares_.items()},
        },
        "profiles": [segmenter.profiles_[cid].to_dict() for cid in sorted(segmenter.profiles_)],
        "model": segmenter.model_.to_dict(),
        "fitted_at": None if segmenter.fitted_at_ is None else segmenter.fitted_at_.isoformat(),
    }
    return json.dumps(document, allow_nan=False).encode("utf-8")


def from_state(state: bytes | str | Mapping[str, Any]) -> ClusterSegmenter:
    """A fitted segmenter from ``to_state`` output (without ``labels_``: predict for those).

    Anything else raises ``StoredModelError``, one line: not JSON, another format or version,
    or not exactly the document ``to_state`` writes (a key, a type, a shape, a number that is
    not finite).
    """
    document = _state_document(state)
    with refusing():
        keys = _STATE_KEYS if document["version"] == STATE_VERSION else _UNTIMED_STATE_KEYS
        read.table(document, "", keys, keys)
        model = ClusterModel.from_dict(document["model"])
        segmenter = ClusterSegmenter(**_stored_params(document["params"], model))
        try:
            segmenter.check_params()
        except ValueError as error:
            raise ConfigError(str(error), path="params") from None
        segmenter.model_ = model
        segmenter.cluster_ids_ = _cluster_ids(document["cluster_ids"], len(model.centroids))
        ids = segmenter.cluster_ids_
        segmenter.names_ = _per_cluster(document["names"], "names", ids, _cluster_name)
        if len(set(segmenter.names_.values())) != len(ids):
            raise ConfigError("two clusters have one name", path="names")
        reference = read.table(
            document["reference"], "reference", _REFERENCE_KEYS, _REFERENCE_KEYS
        )
        segmenter.reference_distance_ = read.number(
            reference["mean_distance"], "reference.mean_distance", 0.0
        )
        segmenter.reference_shares_ = _per_cluster(
            reference["shares"], "reference.shares", ids, _share
        )
        segmenter.k_scores_ = _whole_keys(
            mapping(document["k_scores"], "k_scores", read.number), "k_scores"
        )
        profiles = [
            ClusterProfile.from_dict(item, read.join("profiles", i))
            for i, item in enumerate(items(document["profiles"], "profiles"))
        ]
        segmenter.profiles_ = {profile.cluster_id: profile for profile in profiles}
        if sorted(segmenter.profiles_) != sorted(ids) or len(profiles) != len(ids):
            raise ConfigError("expected one profile per cluster id", path="profiles")
        segmenter.fitted_at_ = _fit_time(document.get("fitted_at"), "fitted_at")
    segmenter.cluster_centers_ = model.centroids
    segmenter.feature_names_out_ = model.feature_names_out
    segmenter.n_clusters_ = len(ids)
    segmenter.refitted_ = False
    segmenter.drift_ = None
    segmenter.fit_reason_ = "loaded from stored state"
    return segmenter


def _fit_time(raw: object, path: str) -> datetime | None:
    """A timezone-aware ISO 8601 time, or None (null, or absent from a version 2 document)."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(read.text(raw, path, "an ISO 8601 time"))
    except ValueError:
        message = f"expected an ISO 8601 time, got {describe_value(raw)}"
        raise ConfigError(message, path=path) from None
    if moment.tzinfo is None:
        raise ConfigError("expected a time with its UTC offset", path=path)
    return moment


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


_UNTIMED_STATE_KEYS = (
    "format",
    "version",
    "params",
    "cluster_ids",
    "names",
    "k_scores",
    "reference",
    "profiles",
    "model",
)
_STATE_KEYS = (*_UNTIMED_STATE_KEYS, "fitted_at")
_REFERENCE_KEYS = ("mean_distance", "shares")


def _state_document(state: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    """The stored JSON object, if it is one of this format and version."""
    if isinstance(state, Mapping):
        document: object = state
    else:
        try:
            document = json.loads(state)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested without end
            raise StoredModelError("not a JSON document") from None
    if not isinstance(document, Mapping) or document.get("format") != STATE_FORMAT:
        raise StoredModelError("not a stored cluster model (unknown format)")
    version = document.get("version")
    if version == PICKLED_STATE_VERSION:
        raise StoredModelError(
            "it is in the version 1 format, a pickled scikit-learn pipeline, "
            "which segsync no longer loads"
        )
    if version not in (STATE_VERSION, UNTIMED_STATE_VERSION):
        raise StoredModelError(f"unknown format version ({describe_value(version)})")
    return document


def _stored_params(raw: object, model: ClusterModel) -> dict[str, Any]:
    """The stored ``get_params()``, each of its type, the features those of ``model``."""
    params = read.table(raw, "params", _PARAM_READERS, _PARAM_READERS)
    values = {
        key: reader(params[key], read.join("params", key))
        for key, reader in _PARAM_READERS.items()
    }
    for key, columns in (("numeric", model.numeric), ("categorical", model.categorical)):
        if values[key] != [column.name for column in columns]:
            raise ConfigError("expected the features of the model", path=f"params.{key}")
    return values


def _n_clusters(raw: object, path: str) -> int | tuple[int, int]:
    """k, or a ``[low, high]`` range (``fit`` checks their order)."""
    if not isinstance(raw, list):
        return read.whole(raw, path, 2)
    if len(raw) != 2:
        raise ConfigError(
            f"expected a whole number or [low, high], got {describe_value(raw)}", path=path
        )
    low, high = (read.whole(bound, read.join(path, i), 2) for i, bound in enumerate(raw))
    return low, high


def _name_overrides(raw: object, path: str) -> dict[int, str] | None:
    return None if raw is None else _whole_keys(mapping(raw, path, _cluster_name), path)


def _feature_labels(raw: object, path: str) -> dict[str, str] | None:
    return None if raw is None else mapping(raw, path, _cluster_name)


def _cluster_name(raw: object, path: str) -> str:
    return read.text(raw, path, "a name")


def _share(raw: object, path: str) -> float:
    return read.number(raw, path, 0.0, 1.0)


_PARAM_READERS: dict[str, Callable[[object, str], Any]] = {
    "numeric": lambda raw, path: list(read.names(raw, path)),
    "categorical": lambda raw, path: list(read.names(raw, path)),
    "n_clusters": _n_clusters,
    "names": _name_overrides,
    "feature_labels": _feature_labels,
    "min_category_share": _share,
    "minibatch_threshold": read.whole,
    "sample_size": read.whole,
    "n_init": read.whole,
    "random_state": read.whole,
    "drift_threshold": read.number,
    "share_drift_threshold": read.number,
    "max_name_traits": read.whole,
    "min_trait_effect": read.number,
}
"""How each stored parameter reads: every ``ClusterSegmenter.__init__`` parameter, no other."""


def _cluster_ids(raw: object, rows: int) -> tuple[int, ...]:
    """Distinct ids >= 0, one per centroid row."""
    ids = tuple(
        read.whole(item, read.join("cluster_ids", i), 0)
        for i, item in enumerate(items(raw, "cluster_ids"))
    )
    if len(ids) != rows or len(set(ids)) != rows:
        raise ConfigError(f"expected {rows} distinct ids, one per centroid", path="cluster_ids")
    return ids


def _whole_keys(values: Mapping[str, T], path: str) -> dict[int, T]:
    """``values`` keyed by the whole numbers their keys spell (JSON keys are strings)."""
    if not all(key.isascii() and key.isdigit() for key in values):
        raise ConfigError("expected whole numbers as keys", path=path)
    return {int(key): value for key, value in values.items()}


def _per_cluster(
    raw: object, path: str, ids: Sequence[int], read_value: Callable[[object, str], T]
) -> dict[int, T]:
    """One value per cluster id, each read by ``read_value``."""
    values = _whole_keys(mapping(raw, path, read_value), path)
    if sorted(values) != sorted(ids):
        raise ConfigError(f"expected one entry per cluster id {sorted(ids)}", path=path)
    return values
