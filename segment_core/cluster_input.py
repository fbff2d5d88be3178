"""What k-means sees of the contacts: the feature columns, their preprocessing, the checks.

A ``ClusterSegmenter`` clusters named numeric and categorical fields. ``design`` turns a contact
frame into those columns (numbers as float64, categories as text), ``CategoryCodes`` turns the
text into integer codes for scikit-learn, ``preprocessor`` is the scikit-learn pipeline that
imputes, scales and one-hot encodes them, and ``check_features`` and ``check_n_clusters`` refuse
parameters a fit could not work with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from segment_core import config_readers as read
from segment_core.coerce import CoercedFrame
from segment_core.fields import CATEGORICAL_TYPES, NUMERIC_TYPES


def design(
    frame: CoercedFrame | pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
) -> pd.DataFrame:
    """The feature columns: numeric as float64, categorical as text (object, NaN missing).

    A ``CoercedFrame``'s field types are checked against the features' kinds.
    """
    data, types = (
        (frame.data, frame.field_types) if isinstance(frame, CoercedFrame) else (frame, None)
    )
    features = [*numeric, *categorical]
    absent = [name for name in features if name not in data.columns]
    if absent:
        raise ValueError(f"the frame has no column(s) {', '.join(absent)} to cluster on")
    if types is not None:
        for name in numeric:
            read.field(name, f"numeric {name}", types, NUMERIC_TYPES, "a numeric feature")
        for name in categorical:
            read.field(
                name, f"categorical {name}", types, CATEGORICAL_TYPES, "a categorical feature"
            )
    columns = {}
    for name in numeric:
        column = data[name]
        if column.dtype == "boolean" or column.dtype == bool:
            column = column.astype("Float64")
        columns[name] = pd.Series(column.to_numpy(dtype="float64", na_value=np.nan), data.index)
    for name in categorical:
        column = data[name]
        if column.dtype == "boolean" or column.dtype == bool:
            text = column.map({True: "true", False: "false"}, na_action="ignore")
        else:
            text = column.astype("str")
        values = np.asarray(text.to_numpy(dtype=object, na_value=np.nan), dtype=object)
        columns[name] = pd.Series(values, data.index, dtype=object)
    return pd.DataFrame(columns, index=data.index)


@dataclass(frozen=True)
class CategoryCodes:
    """Each categorical feature's categories, sorted as Python sorts text, and text as codes.

    scikit-learn's imputer and one-hot encoder handle text one Python object at a time (a
    ``Counter`` of a million strings per column); float codes go through numpy. Sorted as
    scikit-learn sorts text, the codes give the same most frequent value (ties go to the
    smallest), the same categories in the same order and the same rare ones, so the fit is the
    one the text gives, and ``label`` turns what it learned back into that text.
    """

    categories: Mapping[str, tuple[str, ...]]

    @classmethod
    def fit(cls, data: pd.DataFrame, categorical: Sequence[str]) -> CategoryCodes:
        """The categories of ``data``'s categorical columns (text, NaN missing; see ``design``)."""
        return cls({name: _sorted_categories(data[name]) for name in categorical})

    def encode(self, data: pd.DataFrame) -> pd.DataFrame:
        """``data`` with each categorical column as float codes into its categories: NaN where
        missing, -1 for a category ``fit`` did not see (one-hot handles it as unknown)."""
        coded = data.copy(deep=False)
        for name, categories in self.categories.items():
            codes, distinct = pd.factorize(data[name])  # a missing value gets code -1
            positions = pd.Index(categories, dtype=object).get_indexer(distinct)
            coded[name] = np.append(positions.astype("float64"), np.nan)[codes]
        return coded

    def label(self, name: str, code: float) -> str:
        """The category that a code learned for feature ``name`` stands for. A column that was
        all missing has no categories; scikit-learn fills it with 0, as it does text, whose
        model names that "0"."""
        categories, position = self.categories[name], int(code)
        return categories[position] if position < len(categories) else str(position)


def _sorted_categories(column: pd.Series) -> tuple[str, ...]:
    """The distinct values of ``column``, missing ones left out, sorted as Python sorts text."""
    return tuple(sorted(value for value in column.unique() if not pd.isna(value)))


def preprocessor(
    numeric: Sequence[str], categorical: Sequence[str], min_category_share: float
) -> ColumnTransformer:
    """Median imputation and standard scaling for numbers; most-frequent imputation and one-hot
    for categories (as ``CategoryCodes``), those under ``min_category_share`` of contacts
    grouped as one."""
    parts = []
    if numeric:
        numbers = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
            ]
        )
        parts.append(("num", numbers, list(numeric)))
    if categorical:
        categories = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
                (
                    "onehot",
                    OneHotEncoder(
                        min_frequency=min_category_share or None,
                        handle_unknown="infrequent_if_exist",
                        sparse_output=False,
                    ),
                ),
            ]
        )
        parts.append(("cat", categories, list(categorical)))
    return ColumnTransformer(parts)


def check_features(numeric: Sequence[str], categorical: Sequence[str]) -> None:
    """Raise ``ValueError`` unless the features are lists of distinct field names, not empty."""
    for key, value in (("numeric", numeric), ("categorical", categorical)):
        if isinstance(value, str) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"{key} must be a list of field names, got {value!r}")
    features = [*numeric, *categorical]
    if not features:
        raise ValueError("no features to cluster on: give numeric and/or categorical fields")
    if len(set(features)) != len(features):
        raise ValueError(f"each feature may be used once, got {features}")


def check_n_clusters(k: object) -> None:
    """Raise ``ValueError`` unless ``k`` is a whole number >= 2 or a ``(low, high)`` range."""
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
