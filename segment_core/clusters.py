"""Cluster segments: segments discovered by k-means over contact features, stable across runs.

``ClusterSegmenter`` follows scikit-learn's conventions: ``__init__`` only stores parameters,
``fit`` learns from the data and returns ``self``, learned attributes end in ``_``. The pipeline
is

    numeric features      -> median imputation -> standard scaling      \\
    categorical features  -> most-frequent imputation -> one-hot        -> k-means
                             (categories under ``min_category_share`` of contacts are grouped,
                              and so are categories first seen after fitting)

with ``KMeans``, or ``MiniBatchKMeans`` from ``minibatch_threshold`` contacts up. ``n_clusters``
is a fixed k, or a ``(low, high)`` range searched by silhouette on a seeded sample of
``sample_size`` contacts (best score wins; ties go to the smaller k). Everything random is
seeded by ``random_state`` with a fixed ``n_init``, so a fit is reproducible.

``fit(frame, previous=stored)`` keeps a cluster where it was when the data allow. When k is
unchanged, a run warm started from the stored clusters competes with the seeded fresh run and
is preferred unless its inertia is more than 1% worse. Then each new cluster is matched to a
stored one by the Hungarian assignment (``scipy.optimize.linear_sum_assignment``) on the
distance, in the stored model's feature space, between the new cluster's mean and the stored
centroid. A matched cluster keeps its id and name; an unmatched one gets a new id and a
generated name. ``adopt(stored, frame)`` keeps the stored model without training.

Cluster ids: fresh ids are given by size, largest first (0, 1, ...); ids carried over keep their
value, new ones continue after the largest stored id. Names: see ``naming``; the ``names``
parameter overrides them by id (ids with no cluster are ignored).

Beside the estimator: ``cluster_refit`` decides whether a stored model is kept or refit (its
``Drift`` on the new contacts), ``cluster_state`` stores a fitted model as JSON and reads it
back.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.compose import ColumnTransformer
from sklearn.metrics import silhouette_score

from segment_core.cluster_drift import Drift
from segment_core.cluster_input import (
    CategoryCodes,
    check_features,
    check_n_clusters,
    design,
    preprocessor,
)
from segment_core.cluster_model import ClusterModel
from segment_core.coerce import CoercedFrame
from segment_core.labels import NO_LABELS, CrmLabels
from segment_core.naming import cluster_names
from segment_core.profiles import ClusterProfile, profile_clusters
from segment_core.segments import ClusterSegment

STABILITY_TOLERANCE = 0.01
"""How much worse (relative inertia) a warm-started refit may be and still be preferred."""

_MINIBATCH_SIZE = 4096
_EMPTY = "cannot cluster an empty frame"


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
    model: ``fit``, or ``adopt``), ``reference_distance_`` and ``reference_shares_`` (the drift
    reference from the last training). ``drift_`` (the stored model's ``Drift`` on these
    contacts, or None), ``fit_reason_`` (why it trained or not) and ``fitted_at_`` (when the
    model was last trained, None when unknown) record the decision of
    ``cluster_refit.refit_or_keep``, which knows the time.
    """

    model_: ClusterModel
    cluster_ids_: tuple[int, ...]
    cluster_centers_: np.ndarray
    feature_names_out_: tuple[str, ...]
    n_clusters_: int
    k_scores_: dict[int, float]
    names_: dict[int, str]
    profiles_: dict[int, ClusterProfile]
    labels_: pd.Series
    refitted_: bool
    drift_: Drift | None
    fit_reason_: str
    fitted_at_: datetime | None
    reference_distance_: float
    reference_shares_: dict[int, float]
    crm_labels: CrmLabels = NO_LABELS

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

    def labelled(self, labels: CrmLabels) -> ClusterSegmenter:
        """``self``, describing clusters in the CRM's ``labels`` from its next fit on: an input,
        not a parameter, so a stored model neither keeps nor depends on them."""
        self.crm_labels = labels
        return self

    # --- fitting ---------------------------------------------------------------------------

    def fit(
        self, frame: CoercedFrame | pd.DataFrame, previous: ClusterSegmenter | None = None
    ) -> ClusterSegmenter:
        """Train on the contacts of ``frame``; returns ``self``.

        With ``previous``, a fitted segmenter over the same features (the stored model), the
        clusters stay where they were when the data allow: when k is unchanged, a run warm
        started from its clusters competes with the seeded fresh run, and each new cluster takes
        the id and name of the stored cluster it matches. Whether to train at all, rather than
        keep ``previous``, is ``refit_or_keep``'s decision.
        """
        data = self._checked_design(frame)
        if previous is not None and previous.features() != self.features():
            raise ValueError("the previous model clusters on other features: fit without it")
        self._train(data, previous)
        self.refitted_ = True
        self.drift_ = None
        self.fitted_at_ = None
        self.fit_reason_ = "no stored model" if previous is None else "fitted from the stored model"
        return self

    def adopt(
        self, previous: ClusterSegmenter, frame: CoercedFrame | pd.DataFrame
    ) -> ClusterSegmenter:
        """Take ``previous``'s learned model as is, without training, and describe the contacts
        of ``frame`` with it: same ids and names; labels and profiles of these contacts."""
        data = self._checked_design(frame)
        previous.check_fitted()
        for attribute in (
            "model_",
            "cluster_ids_",
            "cluster_centers_",
            "feature_names_out_",
            "n_clusters_",
            "k_scores_",
            "reference_distance_",
            "reference_shares_",
            "fitted_at_",
        ):
            setattr(self, attribute, getattr(previous, attribute))
        self.refitted_ = False
        self.drift_ = None
        self.fit_reason_ = "stored model kept"
        self._describe(data, self._assign(data), previous._kept_names())
        return self

    def fit_predict(
        self, frame: CoercedFrame | pd.DataFrame, previous: ClusterSegmenter | None = None
    ) -> pd.Series:
        return self.fit(frame, previous).labels_

    def predict(self, frame: CoercedFrame | pd.DataFrame) -> pd.Series:
        """The cluster id of each contact (int64, on the frame's index)."""
        self.check_fitted()
        data = self._design(frame)
        return pd.Series(self._assign(data), index=data.index, dtype="int64", name="cluster")

    def drift(self, frame: CoercedFrame | pd.DataFrame) -> Drift:
        """How well this fitted model fits the contacts of ``frame`` (see ``Drift``)."""
        self.check_fitted()
        data = self._design(frame)
        if len(data) == 0:
            raise ValueError(_EMPTY)
        return self._drift(data)

    def segments(self, priority: int, set_name: str = "") -> tuple[ClusterSegment, ...]:
        """One ``ClusterSegment`` per cluster, by id, each with its traits as reason."""
        self.check_fitted()
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
        codes = CategoryCodes.fit(data, self.categorical)
        preprocess = self._preprocessor()
        transformed = preprocess.fit_transform(codes.encode(data))
        k = self._choose_k(transformed)
        if len(data) < k:
            raise ValueError(f"{k} clusters need at least {k} contacts, got {len(data)}")
        model = self._kmeans(k, self.n_init, len(data)).fit(transformed)
        if prev is not None and prev.n_clusters_ == k:
            warm = self._warm_start(prev, data, transformed, k)
            if warm is not None and warm.inertia_ <= model.inertia_ * (1 + STABILITY_TOLERANCE):
                model = warm
        self.model_ = ClusterModel.from_fitted(preprocess, model.cluster_centers_, codes)
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
        kept = {} if prev is None else prev._kept_names()
        self._describe(data, ids[rows], kept)

    def _describe(self, data: pd.DataFrame, ids: np.ndarray, kept: Mapping[int, str]) -> None:
        self.labels_ = pd.Series(ids, index=data.index, dtype="int64", name="cluster")
        self.profiles_ = profile_clusters(
            data,
            ids,
            list(self.numeric),
            list(self.categorical),
            self.cluster_ids_,
            feature_labels=self.feature_labels,
            crm_labels=self.crm_labels,
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
        ids: np.ndarray = np.asarray(self.cluster_ids_, dtype=np.int64)[rows]
        return ids

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
        return preprocessor(self.numeric, self.categorical, self.min_category_share)

    def _design(self, frame: CoercedFrame | pd.DataFrame) -> pd.DataFrame:
        return design(frame, self.numeric, self.categorical)

    def check_params(self) -> None:
        """Raise ``ValueError`` for parameters ``fit`` cannot work with."""
        check_features(self.numeric, self.categorical)
        check_n_clusters(self.n_clusters)

    def check_fitted(self) -> None:
        """Raise ``ValueError`` unless ``fit`` (or ``adopt``) ran."""
        if not hasattr(self, "model_"):
            raise ValueError("this ClusterSegmenter is not fitted yet: call fit first")

    def features(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The numeric and the categorical feature fields, as tuples."""
        return tuple(self.numeric), tuple(self.categorical)

    def _checked_design(self, frame: CoercedFrame | pd.DataFrame) -> pd.DataFrame:
        """The design of ``frame``, once the parameters are checked and if it has contacts."""
        self.check_params()
        data = self._design(frame)
        if len(data) == 0:
            raise ValueError(_EMPTY)
        return data


def _cluster_means(rows: np.ndarray, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean point of each of ``k`` clusters (0 for an empty one) and the cluster sizes."""
    counts = np.bincount(rows, minlength=k)
    sums = np.column_stack(
        [np.bincount(rows, weights=points[:, j], minlength=k) for j in range(points.shape[1])]
    )
    return sums / np.maximum(counts, 1)[:, None], counts


def _override_names(names: Mapping[Any, str] | None) -> dict[int, str]:
    """Overrides keyed by int id (state and TOML give string keys)."""
    return {int(cid): name for cid, name in (names or {}).items()}
