"""What each cluster looks like next to all contacts: sizes, feature means, top categories, lift,
and the traits that set it apart (which name the cluster and explain membership).

Effects are standardised differences, so numeric and categorical traits compare on one scale:

- numeric: ``(cluster mean - overall mean) / overall standard deviation`` (population, over
  contacts with a value; 0 when the feature does not vary or the cluster has no values);
- category: ``(share in cluster - overall share) / sqrt(p (1 - p))`` with ``p`` the overall
  share, i.e. the same standardised difference for the category's 0/1 indicator.

Shares of a category are of all the cluster's contacts (a missing value is in no category);
lift is ``share in cluster / overall share``. Statistics use the raw values, before imputation.

Profiles speak the CRM's words (``segment_core.labels``): a feature reads as its configured
label, else its CRM label, else its name; a category as its option's CRM label
("Marketing Qualified Lead", not ``marketingqualifiedlead``), else its value. A category trait
carries that as ``printable`` text (``segment_core.text``): it names the cluster in the CRM
and explains it to sales reps, so a CRM value or label with control characters or of 100 KB
must not reach either as is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd

from segment_core.labels import MAX_LABEL_LENGTH, NO_LABELS, CrmLabels
from segment_core.stored import record
from segment_core.text import printable

MAX_TRAIT_VALUE_LENGTH = MAX_LABEL_LENGTH
"""The longest category a trait shows: three of them still make a short cluster name."""


@dataclass(frozen=True)
class NumericStat:
    """A numeric feature in one cluster: its mean against the overall mean (None: no values)."""

    feature: str
    mean: float | None
    overall_mean: float | None
    effect: float


@dataclass(frozen=True)
class CategoryStat:
    """One category of a categorical feature in one cluster; ``label`` is its option's CRM
    label, printable, or None when the CRM has none (or the profile was stored before
    labels)."""

    feature: str
    value: str
    count: int
    share: float
    overall_share: float
    lift: float
    effect: float
    label: str | None = None

    @property
    def shown(self) -> str:
        """The category as people read it: its label, else its value."""
        return self.label or self.value


@dataclass(frozen=True)
class Trait:
    """A distinguishing trait: a numeric feature high or low, or an over-represented category."""

    feature: str
    label: str
    effect: float
    direction: Literal["high", "low"] | None = None
    value: str | None = None

    @property
    def name_part(self) -> str:
        """How the trait reads in a cluster name: ``high employees`` or ``Healthcare``."""
        return self.value if self.value is not None else f"{self.direction} {self.label}"

    @property
    def reason_part(self) -> str:
        """How the trait reads in a reason: ``employees high`` or ``industry Healthcare``."""
        if self.value is not None:
            return f"{self.label} {self.value}"
        return f"{self.label} {self.direction}"


@dataclass(frozen=True)
class ClusterProfile:
    """One cluster: ``size`` contacts, ``share`` of all, per-feature statistics and traits.

    ``categories`` holds, per categorical feature, its most common categories in the cluster
    (up to ``top_categories``, by count then value); ``traits`` is strongest first.
    """

    cluster_id: int
    size: int
    share: float
    numeric: tuple[NumericStat, ...]
    categories: tuple[CategoryStat, ...]
    traits: tuple[Trait, ...]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (NaN written as None)."""
        return {key: _jsonable(value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, object], path: str = "profile") -> ClusterProfile:
        """The profile ``to_dict`` wrote, every key and type checked (``ConfigError``)."""
        return record(cls, raw, path)


def feature_label(
    feature: str, labels: Mapping[str, str] | None = None, crm_labels: CrmLabels = NO_LABELS
) -> str:
    """The readable name of a feature: its configured label, else its CRM label, else its
    name with underscores as spaces (a derived feature has no CRM label)."""
    if labels and feature in labels:
        return labels[feature]
    return crm_labels.field_label(feature) or feature.replace("_", " ").strip()


def profile_clusters(
    data: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    numeric: Sequence[str],
    categorical: Sequence[str],
    cluster_ids: Sequence[int],
    *,
    feature_labels: Mapping[str, str] | None = None,
    crm_labels: CrmLabels = NO_LABELS,
    min_effect: float = 0.5,
    min_category_share: float = 0.5,
    top_categories: int = 3,
) -> dict[int, ClusterProfile]:
    """A profile per cluster id (empty clusters included), from raw feature values and cluster
    ``labels``; ``feature_labels`` (configured) and ``crm_labels`` name features and categories.

    A trait is a numeric feature whose effect is at least ``min_effect`` in size ("high" or
    "low"), or, per categorical feature, the category with the largest effect among those at
    least ``min_effect`` that hold at least ``min_category_share`` of the cluster (so a cluster
    named "Healthcare" is mostly Healthcare). Traits are ordered by effect size, strongest
    first, then by feature order (numeric features first).
    """
    labels = np.asarray(labels)
    total = len(labels)
    ids = np.asarray(sorted(cluster_ids))
    sizes = pd.Series(labels).value_counts().reindex(ids, fill_value=0)
    numeric_stats = _numeric_stats(data, labels, numeric, ids)
    category_stats = _category_stats(data, labels, categorical, ids, sizes, total, crm_labels)
    label_of = partial(feature_label, labels=feature_labels, crm_labels=crm_labels)
    profiles = {}
    for cluster_id in ids.tolist():
        stats = numeric_stats[cluster_id]
        categories = category_stats[cluster_id]
        traits = _traits(stats, categories, label_of, min_effect, min_category_share)
        shown = tuple(
            stat
            for feature in categorical
            for stat in sorted(
                (c for c in categories if c.feature == feature), key=lambda c: (-c.count, c.value)
            )[:top_categories]
        )
        size = int(sizes[cluster_id])
        profiles[cluster_id] = ClusterProfile(
            cluster_id=cluster_id,
            size=size,
            share=size / total if total else 0.0,
            numeric=tuple(stats),
            categories=shown,
            traits=traits,
        )
    return profiles


def _numeric_stats(
    data: pd.DataFrame, labels: np.ndarray, numeric: Sequence[str], ids: np.ndarray
) -> dict[int, list[NumericStat]]:
    stats: dict[int, list[NumericStat]] = {int(i): [] for i in ids}
    if not numeric:
        return stats
    values = data[list(numeric)].astype("float64")
    means = values.groupby(labels).mean().reindex(ids)
    overall_mean = values.mean()
    overall_std = values.std(ddof=0)
    for feature in numeric:
        mu, sigma = overall_mean[feature], overall_std[feature]
        for cluster_id in ids.tolist():
            mean = means.at[cluster_id, feature]
            usable = not (pd.isna(mean) or pd.isna(sigma) or sigma == 0)
            effect = float((mean - mu) / sigma) if usable else 0.0
            stats[cluster_id].append(NumericStat(feature, _number(mean), _number(mu), effect))
    return stats


def _category_stats(
    data: pd.DataFrame,
    labels: np.ndarray,
    categorical: Sequence[str],
    ids: np.ndarray,
    sizes: pd.Series,
    total: int,
    crm_labels: CrmLabels,
) -> dict[int, list[CategoryStat]]:
    stats: dict[int, list[CategoryStat]] = {int(i): [] for i in ids}
    for feature in categorical:
        column = data[feature]
        present = column.notna().to_numpy()
        if not present.any():
            continue
        values = column.to_numpy()[present].astype(str)
        counts = pd.crosstab(labels[present], values).reindex(ids, fill_value=0)
        overall = counts.sum(axis=0) / total
        for cluster_id in ids.tolist():
            size = int(sizes[cluster_id])
            row = counts.loc[cluster_id]
            for value in counts.columns[row.to_numpy() > 0]:
                count = int(row[value])
                share = count / size
                p = float(overall[value])
                spread = math.sqrt(p * (1 - p))
                stats[cluster_id].append(
                    CategoryStat(
                        feature=feature,
                        value=str(value),
                        count=count,
                        share=share,
                        overall_share=p,
                        lift=share / p,
                        effect=(share - p) / spread if spread > 0 else 0.0,
                        label=crm_labels.option_label(feature, str(value)),
                    )
                )
    return stats


def _traits(
    numeric: Sequence[NumericStat],
    categories: Sequence[CategoryStat],
    label_of: Callable[[str], str],
    min_effect: float,
    min_category_share: float,
) -> tuple[Trait, ...]:
    found: list[Trait] = []
    for stat in numeric:
        if abs(stat.effect) >= min_effect:
            direction: Literal["high", "low"] = "high" if stat.effect > 0 else "low"
            found.append(
                Trait(
                    stat.feature,
                    label_of(stat.feature),
                    stat.effect,
                    direction=direction,
                )
            )
    qualifying = [
        stat
        for stat in categories
        if stat.effect >= min_effect and stat.share >= min_category_share
    ]
    best: dict[str, CategoryStat] = {}
    for category in sorted(qualifying, key=lambda stat: (-stat.effect, stat.value)):
        best.setdefault(category.feature, category)  # the strongest category of each feature
    for category in categories:  # in feature order
        if best.get(category.feature) is category:
            label = label_of(category.feature)
            value = printable(category.shown, MAX_TRAIT_VALUE_LENGTH)
            found.append(Trait(category.feature, label, category.effect, value=value))
    order = {trait.feature: position for position, trait in enumerate(found)}
    return tuple(sorted(found, key=lambda t: (-abs(t.effect), order[t.feature])))


def _number(value: float) -> float | None:
    """A mean as JSON has it: None when there is none (NaN)."""
    return None if pd.isna(value) else float(value)


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value
