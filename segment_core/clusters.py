"""Cluster segments: segments discovered by k-means over contact features, stable across runs.

``ClusterSegmenter`` follows scikit-learn's conventions: ``__init__`` only stores parameters,
``fit`` returns ``self``, learned attributes end in ``_``. The pipeline is

    numeric features      -> median imputation -> standard scaling      \\
    categorical features  -> most-frequent imputation -> one-hot        -> k-means
                             (categories under ``min_category_share`` of contacts are grouped,
                              and so are categories first seen after fitting)

with ``KMeans``, or ``MiniBatchKMeans`` from ``minibatch_threshold`` contacts up. ``n_clusters``
is a fixed k, or a ``(low, high)`` range searched by silhouette on a seeded sample of
``sample_size`` contacts (best score wins; ties go to the smaller k). Everything random is
seeded by ``random_state`` with a fixed ``n_init``, so a fit is reproducible.

Stability across runs (``fit(frame, previous=stored)``, ``stored`` from ``to_state``):

- Without ``refit``, the stored model is first measured on the new contacts (``Drift``): the
  mean distance of contacts to their nearest stored centroid against the same figure when it
  was trained, and the total variation between the stored and the current cluster shares (a
  lower bound on the share of contacts that changed cluster). If neither passes its threshold
  (``drift_threshold``, ``share_drift_threshold``), the stored model is kept as is and only
  predicts: no cluster changes identity or name.
- Otherwise (or with ``refit=True``) a new model is trained. When k is unchanged, a run warm
  started from the stored clusters competes with the seeded fresh run and is preferred unless
  its inertia is more than 1% worse, which keeps a cluster where it was when the data allow.
  Then each new cluster is matched to a stored one by the Hungarian assignment
  (``scipy.optimize.linear_sum_assignment``) on the distance, in the stored model's feature
  space, between the new cluster's mean and the stored centroid. A matched cluster keeps its id
  and name; an unmatched one gets a new id and a generated name.
- A change of ``n_clusters`` or ``min_category_share`` refits too (matching ids as above); a
  change of the features themselves fits afresh, with new ids.

Cluster ids: fresh ids are given by size, largest first (0, 1, ...); ids carried over keep their
value, new ones continue after the largest stored id. Names: see ``naming``; the ``names``
parameter overrides them by id (ids with no cluster are ignored).

``to_state`` is JSON (UTF-8 bytes) and plain data only: parameters, ids, names, profiles, the
drift reference and the learned model (``ClusterModel``: imputation, scaling and one-hot
statistics, centroids), which predicts with numpy, never with unpickled objects. The state store
may be a shared database or a restored backup, so ``from_state`` reads the document strictly and
refuses anything else with ``StoredModelError``, version 1 documents included (they held a
pickled pipeline); ``fit`` then trains afresh and says why in ``fit_reason_``.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from segment_core import options
from segment_core.cluster_config import CATEGORICAL_TYPES, NUMERIC_TYPES
from segment_core.cluster_model import ClusterModel
from segment_core.coerce import CoercedFrame
from segment_core.errors import ConfigError
from segment_core.naming import cluster_names
from segment_core.profiles import ClusterProfile, profile_clusters
from segment_core.segments import ClusterSegment
from segment_core.stored import StoredModelError, items, mapping, refusing
from segment_core.syntax import describe_value

STATE_FORMAT = "segsync.cluster_segmenter"
STATE_VERSION = 2
PICKLED_STATE_VERSION = 1
"""The first format, which held a pickled scikit-learn pipeline: never loaded."""
STABILITY_TOLERANCE = 0.01
"""How much worse (relative inertia) a warm-started refit may be and still be preferred."""

T = TypeVar("T")

_MINIBATCH_SIZE = 4096
_MODEL_PARAMS = ("n_clusters", "min_category_share")
"""Parameters that shape the model itself: a change refits even when the data did not drift."""


@dataclass(frozen=True)
class Drift:
    """How well a stored model fits new contacts.

    ``mean_distance``: mean distance of the contacts to their nearest stored centroid (in the
    stored model's feature space); ``reference_distance``: the same when the model was trained;
    ``share_shift``: total variation distance between the cluster shares then and now.
    """

    mean_distance: float
    reference_distance: float
    share_shift: float

    @property
    def distance_increase(self) -> float:
        """Relative rise of the mean distance (0.25: contacts are 25% further from centroids)."""
        if self.reference_distance == 0:
            return 0.0 if self.mean_distance == 0 else math.inf
        return self.mean_distance / self.reference_distance - 1.0

    def exceeds(self, distance_threshold: float, share_threshold: float) -> bool:
        return self.distance_increase > distance_threshold or self.share_shift > share_threshold

    def to_dict(self) -> dict[str, float]:
        return {
            "mean_distance": self.mean_distance,
            "reference_distance": self.reference_distance,
            "distance_increase": self.distance_increase,
            "share_shift": self.share_shift,
        }


class ClusterSegmenter(BaseEstimator):
    """K-means cluster segments over named numeric and categorical contact fields.

    Parameters (stored as given; checked by ``fit``):

    - ``numeric``, ``categorical``: the feature fields (number or bool; string, enumeration or
      bool). A ``CoercedFrame``'s field types are checked against these.
    - ``n_clusters``: k, or ``(low, high)`` to choose k by silhouette.
    - ``names``: cluster id -> name overrides. ``feature_labels``: field -> readable label used
      in generated names and reasons (default: the field name with spaces for underscores).
    - ``min_category_share``: categories rarer than this share are grouped as one.
    - ``minibatch_threshold``: from this many contacts, ``MiniBatchKMeans``.
    - ``sample_size``: contacts used to choose k. ``n_init``, ``random_state``: k-means restarts
      and seed.
    - ``drift_threshold``, ``share_drift_threshold``: when a stored model is replaced (``Drift``).
    - ``max_name_traits``, ``min_trait_effect``: traits in a generated name, and the smallest
      standardised difference that counts as a trait (see ``profiles``).

    Learned attributes: ``model_`` (the learned preprocessing and centroids, as plain data:
    ``ClusterModel``), ``cluster_ids_`` (the id of each centroid row), ``cluster_centers_``,
    ``feature_names_out_``, ``n_clusters_``, ``k_scores_`` (silhouette per k tried), ``names_``
    (id -> name), ``profiles_`` (id -> ``ClusterProfile``, of the contacts last fitted),
    ``labels_`` (cluster id per fitted contact), ``refitted_`` (whether this fit trained a
    model), ``drift_`` (the stored model's ``Drift`` on these contacts, or None),
    ``fit_reason_`` (why it trained or not), ``reference_distance_`` and ``reference_shares_``
    (the drift reference from the last training).
    """

    def __init__(
        self,
        numeric: Sequence[str] = (),
        categorical: Sequence[str] = (),
        n_clusters: int | tuple[int, int] = 5,
        *,
        names: Mapping[int, str] | None = None,
        feature_labels: Mapping[str, str] | None = None,
        min_category_share: float = 0.01,
        minibatch_threshold: int = 100_000,
        sample_size: int = 5_000,
        n_init: int = 10,
        random_state: int = 0,
        drift_threshold: float = 0.25,
        share_drift_threshold: float = 0.10,
        max_name_traits: int = 3,
        min_trait_effect: float = 0.5,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.n_clusters = n_clusters
        self.names = names
        self.feature_labels = feature_labels
        self.min_category_share = min_category_share
        self.minibatch_threshold = minibatch_threshold
        self.sample_size = sample_size
        self.n_init = n_init
        self.random_state = random_state
        self.drift_threshold = drift_threshold
        self.share_drift_threshold = share_drift_threshold
        self.max_name_traits = max_name_traits
        self.min_trait_effect = min_trait_effect

    # --- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        frame: CoercedFrame | pd.DataFrame,
        previous: ClusterSegmenter | bytes | str | None = None,
        refit: bool = False,
    ) -> ClusterSegmenter:
        """Cluster the contacts of ``frame``, keeping ``previous``'s clusters where possible.

        ``previous`` is a fitted segmenter or its ``to_state``. Without ``refit`` and while the
        drift stays under the thresholds, the stored model is kept and only predicts. Stored
        state that ``from_state`` refuses is not used: the model is trained afresh, and
        ``fit_reason_`` says why.
        """
        self._check_params()
        data = self._design(frame)
        if len(data) == 0:
            raise ValueError("cannot cluster an empty frame")
        prev, refused = previous, None
        if isinstance(previous, (bytes, str)):
            try:
                prev = ClusterSegmenter.from_state(previous)
            except StoredModelError as error:
                prev, refused = None, error
        self.drift_ = None
        if refused is not None:
            reason = f"the stored model was refused ({refused}); fitted afresh"
        elif prev is not None and self._features(prev) != self._features(self):
            prev, reason = None, "the features changed since the stored model; fitted afresh"
        elif prev is not None:
            self.drift_ = prev._drift(data)
            exceeded = self.drift_.exceeds(self.drift_threshold, self.share_drift_threshold)
            changed = [key for key in _MODEL_PARAMS if _param(prev, key) != _param(self, key)]
            if not (refit or exceeded or changed):
                return self._adopt(prev, data)
            if refit:
                reason = "refit requested"
            elif changed:
                reason = f"parameters changed since the stored model: {', '.join(changed)}"
            else:
                reason = (
                    f"drift: distance +{self.drift_.distance_increase:.0%}, "
                    f"share shift {self.drift_.share_shift:.0%}"
                )
        else:
            reason = "no stored model"
        self._train(data, prev)
        self.fit_reason_ = reason
        return self

    def fit_predict(
        self,
        frame: CoercedFrame | pd.DataFrame,
        previous: ClusterSegmenter | bytes | str | None = None,
        refit: bool = False,
    ) -> pd.Series:
        return self.fit(frame, previous, refit).labels_

    def predict(self, frame: CoercedFrame | pd.DataFrame) -> pd.Series:
        """The cluster id of each contact (int64, on the frame's index)."""
        self._check_fitted()
        data = self._design(frame)
        return pd.Series(self._assign(data), index=data.index, dtype="int64", name="cluster")

    def drift(self, frame: CoercedFrame | pd.DataFrame) -> Drift:
        """How well this fitted model fits the contacts of ``frame`` (see ``Drift``)."""
        self._check_fitted()
        return self._drift(self._design(frame))

    def segments(self, priority: int, set_name: str = "") -> tuple[ClusterSegment, ...]:
        """One ``ClusterSegment`` per cluster, by id, each with its traits as reason."""
        self._check_fitted()
        return tuple(
            ClusterSegment(
                name=self.names_[cluster_id],
                priority=priority,
                cluster_id=cluster_id,
                traits=tuple(
                    trait.reason_part
                    for trait in self.profiles_[cluster_id].traits[: self.max_name_traits]
                ),
                set_name=set_name,
            )
            for cluster_id in sorted(self.cluster_ids_)
        )

    def _train(self, data: pd.DataFrame, prev: ClusterSegmenter | None) -> None:
        preprocess = self._preprocessor()
        transformed = preprocess.fit_transform(data)
        k = self._choose_k(transformed)
        if len(data) < k:
            raise ValueError(f"{k} clusters need at least {k} contacts, got {len(data)}")
        model = self._kmeans(k, self.n_init, len(data)).fit(transformed)
        if prev is not None and prev.n_clusters_ == k:
            warm = self._warm_start(prev, data, transformed, k)
            if warm is not None and warm.inertia_ <= model.inertia_ * (1 + STABILITY_TOLERANCE):
                model = warm
        self.model_ = ClusterModel.from_fitted(preprocess, model.cluster_centers_)
        distances = self.model_.distances(transformed)
        rows = distances.argmin(axis=1)  # as the stored model predicts them
        if prev is not None:
            ids = self._match(prev, data, rows, k)
        else:
            sizes = np.bincount(rows, minlength=k)
            order = np.argsort(-sizes, kind="stable")
            ids = np.empty(k, dtype=np.int64)
            ids[order] = np.arange(k)
        self.cluster_ids_ = tuple(int(i) for i in ids)
        self.cluster_centers_ = self.model_.centroids
        self.feature_names_out_ = self.model_.feature_names_out
        self.n_clusters_ = k
        self.reference_distance_ = float(distances.min(axis=1).mean())
        shares = np.bincount(rows, minlength=k) / len(rows)
        self.reference_shares_ = {int(ids[r]): float(shares[r]) for r in range(k)}
        self.refitted_ = True
        kept = {} if prev is None else prev._kept_names()
        self._describe(data, ids[rows], kept)

    def _adopt(self, prev: ClusterSegmenter, data: pd.DataFrame) -> ClusterSegmenter:
        """Keep the stored model: same model, ids and names; profiles of the new contacts."""
        for attribute in (
            "model_",
            "cluster_ids_",
            "cluster_centers_",
            "feature_names_out_",
            "n_clusters_",
            "k_scores_",
            "reference_distance_",
            "reference_shares_",
        ):
            setattr(self, attribute, getattr(prev, attribute))
        self.refitted_ = False
        self.fit_reason_ = (
            f"stored model kept: distance +{self.drift_.distance_increase:.0%}, "
            f"share shift {self.drift_.share_shift:.0%}"
        )
        self._describe(data, self._assign(data), prev._kept_names())
        return self

    def _describe(self, data: pd.DataFrame, ids: np.ndarray, kept: Mapping[int, str]) -> None:
        self.labels_ = pd.Series(ids, index=data.index, dtype="int64", name="cluster")
        self.profiles_ = profile_clusters(
            data,
            ids,
            list(self.numeric),
            list(self.categorical),
            self.cluster_ids_,
            feature_labels=self.feature_labels,
            min_effect=self.min_trait_effect,
        )
        self.names_ = cluster_names(
            self.profiles_,
            overrides=_override_names(self.names),
            kept=kept,
            max_traits=self.max_name_traits,
        )

    def _kept_names(self) -> dict[int, str]:
        """The names a refit carries over: this model's, except those its config overrode."""
        overridden = _override_names(self.names)
        return {cid: name for cid, name in self.names_.items() if cid not in overridden}

    def _choose_k(self, transformed: np.ndarray) -> int:
        if isinstance(self.n_clusters, int):
            self.k_scores_ = {}
            return self.n_clusters
        low, high = self.n_clusters  # checked: a pair of whole numbers
        rng = np.random.default_rng(self.random_state)
        size = min(len(transformed), self.sample_size)
        sample = transformed[np.sort(rng.choice(len(transformed), size=size, replace=False))]
        scores: dict[int, float] = {}
        for k in range(low, high + 1):
            if k >= len(sample):
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # fewer distinct points than k: scored below
                labels = KMeans(k, n_init=self.n_init, random_state=self.random_state).fit_predict(
                    sample
                )
            distinct = len(np.unique(labels))
            scores[k] = (
                float(silhouette_score(sample, labels)) if 1 < distinct < len(sample) else -1.0
            )
        if not scores:
            raise ValueError(f"n_clusters {low}..{high} needs more than {low} contacts")
        self.k_scores_ = scores
        return max(scores, key=lambda k: (scores[k], -k))

    def _kmeans(
        self, k: int, n_init: int, rows: int, init: Any = "k-means++"
    ) -> KMeans | MiniBatchKMeans:
        if rows >= self.minibatch_threshold:
            return MiniBatchKMeans(
                k,
                init=init,
                n_init=n_init,
                random_state=self.random_state,
                batch_size=_MINIBATCH_SIZE,
            )
        return KMeans(k, init=init, n_init=n_init, random_state=self.random_state)

    def _warm_start(
        self, prev: ClusterSegmenter, data: pd.DataFrame, transformed: np.ndarray, k: int
    ) -> KMeans | MiniBatchKMeans | None:
        """K-means started from the stored clusters' members, located in the new feature space."""
        previous_rows = prev.model_.rows(prev.model_.transform(data))
        means, counts = _cluster_means(previous_rows, transformed, k)
        if (counts == 0).any():
            return None  # a stored cluster lost every contact: no start point for it
        return self._kmeans(k, 1, len(data), init=means).fit(transformed)

    def _match(
        self, prev: ClusterSegmenter, data: pd.DataFrame, rows: np.ndarray, k: int
    ) -> np.ndarray:
        """Cluster ids for the new centroid rows: the stored id of the matched stored cluster."""
        in_old_space = prev.model_.transform(data)
        means, counts = _cluster_means(rows, in_old_space, k)
        cost = cdist(means, prev.cluster_centers_)
        cost[counts == 0] = cost.max() + 1.0  # an empty new cluster matches last
        new_rows, old_rows = linear_sum_assignment(cost)
        ids = np.full(k, -1, dtype=np.int64)
        ids[new_rows] = np.asarray(prev.cluster_ids_)[old_rows]
        next_id = max(prev.cluster_ids_) + 1
        for row in np.argsort(-counts, kind="stable"):
            if ids[row] < 0:
                ids[row], next_id = next_id, next_id + 1
        return ids

    def _assign(self, data: pd.DataFrame) -> np.ndarray:
        rows = self.model_.rows(self.model_.transform(data))
        return np.asarray(self.cluster_ids_, dtype=np.int64)[rows]

    def _drift(self, data: pd.DataFrame) -> Drift:
        distances = self.model_.distances(self.model_.transform(data))
        rows = distances.argmin(axis=1)
        k = len(self.cluster_ids_)
        shares = np.bincount(rows, minlength=k) / len(rows)
        reference = np.array([self.reference_shares_[cid] for cid in self.cluster_ids_])
        return Drift(
            mean_distance=float(distances.min(axis=1).mean()),
            reference_distance=self.reference_distance_,
            share_shift=float(0.5 * np.abs(shares - reference).sum()),
        )

    # --- input -----------------------------------------------------------------------------

    def _preprocessor(self) -> ColumnTransformer:
        parts = []
        if self.numeric:
            numeric = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                    ("scale", StandardScaler()),
                ]
            )
            parts.append(("num", numeric, list(self.numeric)))
        if self.categorical:
            categorical = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
                    (
                        "onehot",
                        OneHotEncoder(
                            min_frequency=self.min_category_share or None,
                            handle_unknown="infrequent_if_exist",
                            sparse_output=False,
                        ),
                    ),
                ]
            )
            parts.append(("cat", categorical, list(self.categorical)))
        return ColumnTransformer(parts)

    def _design(self, frame: CoercedFrame | pd.DataFrame) -> pd.DataFrame:
        """The feature columns: numeric as float64, categorical as text (object, NaN missing)."""
        data, types = (
            (frame.data, frame.field_types) if isinstance(frame, CoercedFrame) else (frame, None)
        )
        features = [*self.numeric, *self.categorical]
        absent = [name for name in features if name not in data.columns]
        if absent:
            raise ValueError(f"the frame has no column(s) {', '.join(absent)} to cluster on")
        if types is not None:
            for name in self.numeric:
                options.field(name, f"numeric {name}", types, NUMERIC_TYPES, "a numeric feature")
            for name in self.categorical:
                options.field(
                    name, f"categorical {name}", types, CATEGORICAL_TYPES, "a categorical feature"
                )
        columns = {}
        for name in self.numeric:
            column = data[name]
            if column.dtype == "boolean" or column.dtype == bool:
                column = column.astype("Float64")
            columns[name] = pd.Series(column.to_numpy(dtype="float64", na_value=np.nan), data.index)
        for name in self.categorical:
            column = data[name]
            if column.dtype == "boolean" or column.dtype == bool:
                text = column.map({True: "true", False: "false"}, na_action="ignore")
            else:
                text = column.astype("str")
            values = np.asarray(text.to_numpy(dtype=object, na_value=np.nan), dtype=object)
            columns[name] = pd.Series(values, data.index, dtype=object)
        return pd.DataFrame(columns, index=data.index)

    def _check_params(self) -> None:
        for key in ("numeric", "categorical"):
            value = getattr(self, key)
            if isinstance(value, str) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"{key} must be a list of field names, got {value!r}")
        features = [*self.numeric, *self.categorical]
        if not features:
            raise ValueError("no features to cluster on: give numeric and/or categorical fields")
        if len(set(features)) != len(features):
            raise ValueError(f"each feature may be used once, got {features}")
        k = self.n_clusters
        if isinstance(k, bool) or not (
            (isinstance(k, int) and k >= 2)
            or (
                isinstance(k, (tuple, list))
                and len(k) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in k)
                and 2 <= k[0] <= k[1]
            )
        ):
            raise ValueError(
                f"n_clusters must be a whole number >= 2 or a (low, high) range, got {k!r}"
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ValueError("this ClusterSegmenter is not fitted yet: call fit first")

    @staticmethod
    def _features(segmenter: ClusterSegmenter) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(segmenter.numeric), tuple(segmenter.categorical)

    # --- state -----------------------------------------------------------------------------

    def to_state(self) -> bytes:
        """The fitted model as UTF-8 JSON bytes of plain data, for the sync layer's state store."""
        self._check_fitted()
        document = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "params": _jsonable(self.get_params()),
            "cluster_ids": list(self.cluster_ids_),
            "names": {str(cid): name for cid, name in self.names_.items()},
            "k_scores": {str(k): score for k, score in self.k_scores_.items()},
            "reference": {
                "mean_distance": self.reference_distance_,
                "shares": {str(cid): share for cid, share in self.reference_shares_.items()},
            },
            "profiles": [self.profiles_[cid].to_dict() for cid in sorted(self.profiles_)],
            "model": self.model_.to_dict(),
        }
        return json.dumps(document, allow_nan=False).encode("utf-8")

    @classmethod
    def from_state(cls, state: bytes | str | Mapping[str, Any]) -> ClusterSegmenter:
        """A fitted segmenter from ``to_state`` output (without ``labels_``: predict for those).

        Anything else raises ``StoredModelError``, one line: not JSON, another format or
        version, or not exactly the document ``to_state`` writes (a key, a type, a shape, a
        number that is not finite).
        """
        document = _state_document(state)
        with refusing():
            options.table(document, "", _STATE_KEYS, _STATE_KEYS)
            model = ClusterModel.from_dict(document["model"])
            segmenter = cls(**_stored_params(document["params"], model))
            try:
                segmenter._check_params()
            except ValueError as error:
                raise ConfigError(str(error), path="params") from None
            segmenter.model_ = model
            segmenter.cluster_ids_ = _cluster_ids(document["cluster_ids"], len(model.centroids))
            ids = segmenter.cluster_ids_
            segmenter.names_ = _per_cluster(document["names"], "names", ids, _cluster_name)
            if len(set(segmenter.names_.values())) != len(ids):
                raise ConfigError("two clusters have one name", path="names")
            reference = options.table(
                document["reference"], "reference", _REFERENCE_KEYS, _REFERENCE_KEYS
            )
            segmenter.reference_distance_ = options.number(
                reference["mean_distance"], "reference.mean_distance", 0.0
            )
            segmenter.reference_shares_ = _per_cluster(
                reference["shares"], "reference.shares", ids, _share
            )
            segmenter.k_scores_ = _whole_keys(
                mapping(document["k_scores"], "k_scores", options.number), "k_scores"
            )
            profiles = [
                ClusterProfile.from_dict(item, options.join("profiles", i))
                for i, item in enumerate(items(document["profiles"], "profiles"))
            ]
            segmenter.profiles_ = {profile.cluster_id: profile for profile in profiles}
            if sorted(segmenter.profiles_) != sorted(ids) or len(profiles) != len(ids):
                raise ConfigError("expected one profile per cluster id", path="profiles")
        segmenter.cluster_centers_ = model.centroids
        segmenter.feature_names_out_ = model.feature_names_out
        segmenter.n_clusters_ = len(ids)
        segmenter.refitted_ = False
        segmenter.drift_ = None
        segmenter.fit_reason_ = "loaded from stored state"
        return segmenter


@dataclass(frozen=True, eq=False)
class ClusterSegmentSet:
    """A fitted ``ClusterSegmenter`` as segments: one per cluster, all at ``priority``.

    ``fitted_on`` is the frame the segmenter was just fitted on, when it was: the memberships
    of that very frame are the fit's ``labels_``, not a second prediction of every contact.
    """

    name: str
    priority: int
    segmenter: ClusterSegmenter
    fitted_on: CoercedFrame | pd.DataFrame | None = field(default=None, repr=False)

    @property
    def segments(self) -> tuple[ClusterSegment, ...]:
        return self.segmenter.segments(self.priority, self.name)

    def memberships(self, frame: CoercedFrame | pd.DataFrame) -> pd.DataFrame:
        """One bool column per cluster (by id), named after it; each contact in exactly one."""
        ids = self.labels(frame)
        labels = ids.to_numpy()
        columns = {segment.name: labels == segment.cluster_id for segment in self.segments}
        return pd.DataFrame(columns, index=ids.index, dtype=bool)

    def labels(self, frame: CoercedFrame | pd.DataFrame) -> pd.Series:
        """The cluster id of each contact of ``frame``: the fit's own when it is ``fitted_on``."""
        if frame is self.fitted_on:
            return self.segmenter.labels_
        return self.segmenter.predict(frame)


def _cluster_means(rows: np.ndarray, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean point of each of ``k`` clusters (0 for an empty one) and the cluster sizes."""
    counts = np.bincount(rows, minlength=k)
    sums = np.column_stack(
        [np.bincount(rows, weights=points[:, j], minlength=k) for j in range(points.shape[1])]
    )
    return sums / np.maximum(counts, 1)[:, None], counts


def _param(segmenter: ClusterSegmenter, key: str) -> Any:
    """A parameter in comparable form (a stored model's came back through JSON as lists)."""
    value = getattr(segmenter, key)
    return tuple(value) if isinstance(value, list) else value


def _override_names(names: Mapping[Any, str] | None) -> dict[int, str]:
    """Overrides keyed by int id (state and TOML give string keys)."""
    return {int(cid): name for cid, name in (names or {}).items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


_STATE_KEYS = (
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
    if version != STATE_VERSION:
        raise StoredModelError(f"unknown format version ({describe_value(version)})")
    return document


def _stored_params(raw: object, model: ClusterModel) -> dict[str, Any]:
    """The stored ``get_params()``, each of its type, the features those of ``model``."""
    params = options.table(raw, "params", _PARAM_READERS, _PARAM_READERS)
    values = {
        key: read(params[key], options.join("params", key)) for key, read in _PARAM_READERS.items()
    }
    for key, columns in (("numeric", model.numeric), ("categorical", model.categorical)):
        if values[key] != [column.name for column in columns]:
            raise ConfigError("expected the features of the model", path=f"params.{key}")
    return values


def _n_clusters(raw: object, path: str) -> int | tuple[int, int]:
    """k, or a ``[low, high]`` range (``fit`` checks their order)."""
    if not isinstance(raw, list):
        return options.whole(raw, path, 2)
    if len(raw) != 2:
        raise ConfigError(
            f"expected a whole number or [low, high], got {describe_value(raw)}", path=path
        )
    low, high = (options.whole(bound, options.join(path, i), 2) for i, bound in enumerate(raw))
    return low, high


def _name_overrides(raw: object, path: str) -> dict[int, str] | None:
    return None if raw is None else _whole_keys(mapping(raw, path, _cluster_name), path)


def _feature_labels(raw: object, path: str) -> dict[str, str] | None:
    return None if raw is None else mapping(raw, path, _cluster_name)


def _cluster_name(raw: object, path: str) -> str:
    return options.text(raw, path, "a name")


def _share(raw: object, path: str) -> float:
    return options.number(raw, path, 0.0, 1.0)


_PARAM_READERS: dict[str, Callable[[object, str], Any]] = {
    "numeric": lambda raw, path: list(options.names(raw, path)),
    "categorical": lambda raw, path: list(options.names(raw, path)),
    "n_clusters": _n_clusters,
    "names": _name_overrides,
    "feature_labels": _feature_labels,
    "min_category_share": _share,
    "minibatch_threshold": options.whole,
    "sample_size": options.whole,
    "n_init": options.whole,
    "random_state": options.whole,
    "drift_threshold": options.number,
    "share_drift_threshold": options.number,
    "max_name_traits": options.whole,
    "min_trait_effect": options.number,
}
"""How each stored parameter reads: every ``ClusterSegmenter.__init__`` parameter, no other."""


def _cluster_ids(raw: object, rows: int) -> tuple[int, ...]:
    """Distinct ids >= 0, one per centroid row."""
    ids = tuple(
        options.whole(item, options.join("cluster_ids", i), 0)
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
