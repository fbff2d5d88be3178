"""A fitted cluster model as plain data: what predicting a contact's cluster needs, nothing more.

scikit-learn fits the model (``segment_core.clusters``); this keeps only the numbers it
learned and predicts with numpy, exactly as the fitted estimators do:

- a numeric feature: missing values take the training ``median``, then ``(x - mean) / scale``;
- a categorical feature: missing values take the training ``fill`` (its most frequent value),
  then one 0/1 column per frequent category, and, when some categories were rare, one
  ``other`` column for them and for any category first seen after fitting (without one, such
  a value has no column set, as scikit-learn's ``infrequent_if_exist`` does);
- the cluster: the nearest centroid (Euclidean).

Stored models are data a database hands back: a shared PostgreSQL or a restored backup may
hold anything. So they are JSON, never pickle, and ``from_dict`` refuses a document that is not
exactly this shape (``StoredModelError``, one line naming the key) rather than predicting with
it: unknown keys, wrong types, non-finite numbers, centroids of the wrong width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from segment_core import config_readers as read
from segment_core.errors import ConfigError
from segment_core.stored import any_text, items, refusing
from segment_core.syntax import describe_value

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

    from segment_core.cluster_input import CategoryCodes

OTHER_COLUMN = "infrequent_sklearn"
"""scikit-learn's name for the column of rare categories, kept in the output feature names."""

@dataclass(frozen=True)
class NumericColumn:
    """A numeric feature: imputed with ``median``, then standardised by ``mean`` and ``scale``."""

    name: str
    median: float
    mean: float
    scale: float


@dataclass(frozen=True)
class CategoricalColumn:
    """A categorical feature: imputed with ``fill``, then one-hot over ``categories`` (plus an
    ``other`` column when the fit grouped rare categories)."""

    name: str
    fill: str
    categories: tuple[str, ...]
    other: bool

    @property
    def width(self) -> int:
        return len(self.categories) + self.other


@dataclass(frozen=True, eq=False)
class ClusterModel:
    """The learned preprocessing and centroids of one fitted cluster set (one row per cluster)."""

    numeric: tuple[NumericColumn, ...]
    categorical: tuple[CategoricalColumn, ...]
    centroids: np.ndarray

    @classmethod
    def from_fitted(
        cls, preprocess: ColumnTransformer, centroids: np.ndarray, codes: CategoryCodes
    ) -> ClusterModel:
        """The numbers a fitted ``ColumnTransformer`` (see ``ClusterSegmenter._preprocessor``)
        and k-means learned, its categories as the text ``codes`` stand for."""
        numeric: tuple[NumericColumn, ...] = ()
        categorical: tuple[CategoricalColumn, ...] = ()
        for name, steps, features in preprocess.transformers_:
            if name == "num":
                impute, scale = steps.named_steps["impute"], steps.named_steps["scale"]
                numeric = tuple(
                    NumericColumn(feature, float(median), float(mean), float(spread))
                    for feature, median, mean, spread in zip(
                        features, impute.statistics_, scale.mean_, scale.scale_, strict=False
                    )
                )
            elif name == "cat":
                impute, onehot = steps.named_steps["impute"], steps.named_steps["onehot"]
                # Without a minimum share nothing is rare, and scikit-learn has no such list.
                grouped = onehot.min_frequency is not None
                rares = onehot.infrequent_categories_ if grouped else [None] * len(features)
                categorical = tuple(
                    _categorical(feature, codes, fill, seen, rare)
                    for feature, fill, seen, rare in zip(
                        features, impute.statistics_, onehot.categories_, rares, strict=True
                    )
                )
        return cls(numeric, categorical, np.array(centroids, dtype="float64"))

    @property
    def feature_names_out(self) -> tuple[str, ...]:
        """The transformed columns, named as scikit-learn names them."""
        names = [f"num__{column.name}" for column in self.numeric]
        for column in self.categorical:
            names += [f"cat__{column.name}_{category}" for category in column.categories]
            names += [f"cat__{column.name}_{OTHER_COLUMN}"] if column.other else []
        return tuple(names)

    def transform(self, data: pd.DataFrame) -> np.ndarray:
        """The feature matrix of ``data`` (numeric columns as float64, categorical as text with
        NaN for missing, as ``ClusterSegmenter`` prepares them)."""
        parts = [_standardised(data[column.name], column) for column in self.numeric]
        parts += [_one_hot(data[column.name], column) for column in self.categorical]
        return np.column_stack(parts)

    def distances(self, transformed: np.ndarray) -> np.ndarray:
        """Each transformed contact's distance to each centroid (contacts x clusters)."""
        distances: np.ndarray = cdist(transformed, self.centroids)
        return distances

    def rows(self, transformed: np.ndarray) -> np.ndarray:
        """The centroid row nearest each transformed contact."""
        nearest: np.ndarray = self.distances(transformed).argmin(axis=1)
        return nearest

    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric": [
                {"name": c.name, "median": c.median, "mean": c.mean, "scale": c.scale}
                for c in self.numeric
            ],
            "categorical": [
                {
                    "name": c.name,
                    "fill": c.fill,
                    "categories": list(c.categories),
                    "other": c.other,
                }
                for c in self.categorical
            ],
            "centroids": self.centroids.tolist(),
        }

    @classmethod
    def from_dict(cls, raw: object, path: str = "model") -> ClusterModel:
        """The model ``to_dict`` wrote; ``StoredModelError`` for anything else."""
        with refusing():
            keys = ("numeric", "categorical", "centroids")
            document = read.table(raw, path, keys, keys)
            where = read.join(path, "numeric")
            numeric = tuple(
                _numeric_column(item, read.join(where, i))
                for i, item in enumerate(items(document["numeric"], where))
            )
            where = read.join(path, "categorical")
            categorical = tuple(
                _categorical_column(item, read.join(where, i))
                for i, item in enumerate(items(document["categorical"], where))
            )
            if not numeric and not categorical:
                raise ConfigError("expected at least one feature", path=path)
            names = [*(c.name for c in numeric), *(c.name for c in categorical)]
            read.names(names, f"{path} features")
            width = len(numeric) + sum(column.width for column in categorical)
            centroids = _centroids(document["centroids"], read.join(path, "centroids"), width)
        return cls(numeric, categorical, centroids)


def _categorical(
    feature: str, codes: CategoryCodes, fill: float, seen: np.ndarray, rare: np.ndarray | None
) -> CategoricalColumn:
    """A fitted one-hot feature: the categories it kept, and whether it grouped rare ones."""
    rare_set = set() if rare is None else {codes.label(feature, code) for code in rare}
    categories = (codes.label(feature, code) for code in seen)
    frequent = tuple(category for category in categories if category not in rare_set)
    return CategoricalColumn(feature, codes.label(feature, fill), frequent, rare is not None)


def _numeric_column(raw: object, path: str) -> NumericColumn:
    keys = ("name", "median", "mean", "scale")
    document = read.table(raw, path, keys, keys)
    scale = read.number(document["scale"], read.join(path, "scale"))
    if scale <= 0:
        raise ConfigError(
            f"expected a number > 0, got {describe_value(scale)}", path=read.join(path, "scale")
        )
    return NumericColumn(
        read.text(document["name"], read.join(path, "name"), "a field name"),
        read.number(document["median"], read.join(path, "median")),
        read.number(document["mean"], read.join(path, "mean")),
        scale,
    )


def _categorical_column(raw: object, path: str) -> CategoricalColumn:
    keys = ("name", "fill", "categories", "other")
    document = read.table(raw, path, keys, keys)
    where = read.join(path, "categories")
    categories = tuple(
        any_text(item, read.join(where, i))
        for i, item in enumerate(items(document["categories"], where))
    )
    if len(set(categories)) != len(categories):
        raise ConfigError("a category is listed twice", path=where)
    return CategoricalColumn(
        read.text(document["name"], read.join(path, "name"), "a field name"),
        any_text(document["fill"], read.join(path, "fill")),
        categories,
        read.boolean(document["other"], read.join(path, "other")),
    )


def _centroids(raw: object, path: str, width: int) -> np.ndarray:
    rows = items(raw, path)
    if not rows:
        raise ConfigError("expected at least one centroid", path=path)
    for i, row in enumerate(rows):
        values = items(row, read.join(path, i))
        if len(values) != width:
            raise ConfigError(
                f"expected {width} values (one per feature column), got {len(values)}",
                path=read.join(path, i),
            )
        for j, value in enumerate(values):
            read.number(value, read.join(read.join(path, i), j))
    return np.array(rows, dtype="float64")


def _standardised(values: pd.Series, column: NumericColumn) -> np.ndarray:
    numbers: np.ndarray = values.to_numpy(dtype="float64", copy=True)
    numbers[np.isnan(numbers)] = column.median
    return (numbers - column.mean) / column.scale


def _one_hot(values: pd.Series, column: CategoricalColumn) -> np.ndarray:
    filled = values.where(values.notna(), column.fill)
    codes = pd.Index(column.categories, dtype=object).get_indexer(filled)
    encoded = np.zeros((len(values), column.width))
    known = codes >= 0
    encoded[np.flatnonzero(known), codes[known]] = 1.0
    if column.other:
        encoded[~known, -1] = 1.0
    return encoded
