"""Each cluster of a fitted cluster set as a rule people can read, keep and edit.

A k-means cluster is a region around a centroid in a scaled, one-hot feature space: exact, but
no one can read it. So for each cluster a shallow surrogate decision tree (depth <= 3, this
cluster against the rest, seeded) is fitted on the set's own features, on the contacts' own
scale, and the paths to its positive leaves become an expression of the rule language:

- a numeric split is ``field <= t`` / ``field > t``, with ``t`` rounded to the fewest
  significant digits that move at most 1% of the contacts across it, and two paths that
  differ only in adjacent ranges of one field read as one range;
- a split on a category is ``field = "value"`` or, on the other side, ``field != "value"``
  (several become ``not in``), with the CRM's own values;
- the tree sees what k-means sees: missing values take the model's fill (the median, the most
  frequent category), so where the fill meets a field's conditions, the rule adds
  ``or field is empty`` (a rule condition never matches an empty field by itself).

The rule is then written out, parsed back with the real parser and evaluated on the contacts by
the real evaluator: its precision, recall and agreement with the cluster are those of the
*parsed rule*, not of the tree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from segment_core.cluster_input import design
from segment_core.clusters import ClusterSegmenter
from segment_core.coerce import CoercedFrame
from segment_core.evaluate import evaluate
from segment_core.expression import parse_expression
from segment_core.rules import AllOf, AnyOf, Condition, Op, Rule, Scalar, describe

MAX_DEPTH = 3
"""Deep enough for a cluster that is a box in two or three features, shallow enough to read."""

MIN_LEAF_SHARE = 0.02
"""The smallest leaf, as a share of the contacts: no condition is written for a handful."""

ROUNDING_MOVES = 0.01
"""How many contacts (a share) rounding a threshold to a readable number may move across it."""


@dataclass(frozen=True)
class ClusterRule:
    """One cluster's rule and how well it matches the cluster on the contacts it was fitted on.

    ``precision``: the share of the contacts the rule matches that are in the cluster;
    ``recall``: the share of the cluster the rule matches; ``agreement``: the share of all
    contacts on which rule and cluster agree (both in, or both out).
    """

    cluster_id: int
    name: str
    expression: str
    precision: float
    recall: float
    agreement: float
    size: int

    @property
    def scores(self) -> str:
        """The figures as a person reads them, e.g. ``precision 96%, recall 93%``."""
        return f"precision {self.precision:.0%}, recall {self.recall:.0%}"


@dataclass(frozen=True)
class _Column:
    """One column the tree splits on: a numeric field, or one category of a categorical field."""

    field: str
    fill: float | str
    category: str | None = None
    is_bool: bool = False


@dataclass(frozen=True)
class _Split:
    """One step of a path: the column, its threshold, and which side (``above``: > threshold)."""

    column: int
    threshold: float
    above: bool


def cluster_rules(
    segmenter: ClusterSegmenter,
    frame: CoercedFrame,
    labels: pd.Series,
    now: datetime,
    *,
    max_depth: int = MAX_DEPTH,
) -> tuple[ClusterRule, ...]:
    """A rule per cluster of the fitted ``segmenter``, for the contacts of ``frame`` whose
    cluster ids are ``labels`` (same index); ``now`` anchors the evaluation (the rules have no
    date conditions, but the evaluator needs a time)."""
    segmenter.check_fitted()
    columns, matrix = _tree_input(segmenter, frame)
    rules = []
    for cluster_id in sorted(segmenter.cluster_ids_):
        target = (labels == cluster_id).to_numpy()
        rule = _surrogate_rule(columns, matrix, target, max_depth, segmenter.random_state)
        expression = describe(rule) if rule is not None else ""
        name = segmenter.names_[cluster_id]
        rules.append(_scored(cluster_id, name, expression, frame, target, now))
    return tuple(rules)


def _scored(
    cluster_id: int,
    name: str,
    expression: str,
    frame: CoercedFrame,
    target: np.ndarray,
    now: datetime,
) -> ClusterRule:
    """The rule's figures, from evaluating its parsed text on the contacts."""
    if expression:
        matched = evaluate(parse_expression(expression), frame, now).to_numpy()
    else:
        matched = np.zeros(len(target), dtype=bool)
    both = int((matched & target).sum())
    return ClusterRule(
        cluster_id=cluster_id,
        name=name,
        expression=expression,
        precision=both / int(matched.sum()) if matched.any() else 0.0,
        recall=both / int(target.sum()) if target.any() else 0.0,
        agreement=float((matched == target).mean()) if len(target) else 1.0,
        size=int(target.sum()),
    )


def _tree_input(
    segmenter: ClusterSegmenter, frame: CoercedFrame
) -> tuple[list[_Column], np.ndarray]:
    """The columns the trees split on and their values: numeric fields on their own scale and
    one 0/1 column per category the model kept, missing values filled as the model fills them."""
    data = design(frame, segmenter.numeric, segmenter.categorical)
    columns: list[_Column] = []
    values: list[np.ndarray] = []
    for numeric in segmenter.model_.numeric:
        is_bool = frame.field_types[numeric.name] == "bool"
        columns.append(_Column(numeric.name, numeric.median, is_bool=is_bool))
        values.append(data[numeric.name].fillna(numeric.median).to_numpy(dtype="float64"))
    for categorical in segmenter.model_.categorical:
        is_bool = frame.field_types[categorical.name] == "bool"
        filled = data[categorical.name].where(data[categorical.name].notna(), categorical.fill)
        for category in categorical.categories:
            columns.append(_Column(categorical.name, categorical.fill, category, is_bool))
            values.append((filled == category).to_numpy(dtype="float64"))
    return columns, np.column_stack(values)


def _surrogate_rule(
    columns: Sequence[_Column],
    matrix: np.ndarray,
    target: np.ndarray,
    max_depth: int,
    seed: int,
) -> Rule | None:
    """The rule of the paths to the positive leaves of a tree fitted to ``target``; None when
    the tree finds no positive leaf (or the cluster has every contact, or none)."""
    if target.all() or not target.any():
        return None
    tree = DecisionTreeClassifier(
        max_depth=max_depth,
        min_samples_leaf=max(1, round(MIN_LEAF_SHARE * len(target))),
        random_state=seed,
    ).fit(matrix, target)
    boxes = _merged([_box(path, columns, matrix) for path in _positive_paths(tree)], columns)
    paths = [AllOf(_path_conditions(columns, matrix, box)) for box in boxes]
    if not paths:
        return None
    return AnyOf(tuple(paths)) if len(paths) > 1 else paths[0]


def _positive_paths(tree: DecisionTreeClassifier) -> Iterator[list[_Split]]:
    """The path to each subtree whose leaves all predict the cluster (a whole positive subtree
    is one path, not one per leaf)."""
    nodes = tree.tree_
    positive = list(tree.classes_).index(True)

    def all_positive(node: int) -> bool:
        if nodes.children_left[node] < 0:
            counts = nodes.value[node][0]
            return bool(counts[positive] > counts.sum() / 2)
        return all_positive(nodes.children_left[node]) and all_positive(
            nodes.children_right[node]
        )

    def walk(node: int, path: list[_Split]) -> Iterator[list[_Split]]:
        if all_positive(node):
            yield path
            return
        if nodes.children_left[node] < 0:
            return
        column, threshold = int(nodes.feature[node]), float(nodes.threshold[node])
        yield from walk(nodes.children_left[node], [*path, _Split(column, threshold, False)])
        yield from walk(nodes.children_right[node], [*path, _Split(column, threshold, True)])

    yield from walk(0, [])


_Box = dict[str, tuple[_Split, ...]]
"""A path as the splits it makes on each field, fields in the order the path first uses them;
a numeric field's splits are its tightest lower and upper bound only, rounded to be read."""


def _box(path: Sequence[_Split], columns: Sequence[_Column], matrix: np.ndarray) -> _Box:
    fields = dict.fromkeys(columns[split.column].field for split in path)
    box = {}
    for field in fields:
        splits = tuple(split for split in path if columns[split.column].field == field)
        if columns[splits[0].column].category is None:
            values = matrix[:, splits[0].column]
            low, high = (_readable(bound, values) for bound in _bounds(splits))
            splits = _bound_splits(splits[0].column, low, high)
        box[field] = splits
    return box


def _bounds(splits: Sequence[_Split]) -> tuple[float, float]:
    """The range ``(low, high]`` that numeric ``splits`` of one field leave."""
    low = max((s.threshold for s in splits if s.above), default=-np.inf)
    high = min((s.threshold for s in splits if not s.above), default=np.inf)
    return low, high


def _bound_splits(column: int, low: float, high: float) -> tuple[_Split, ...]:
    below = (_Split(column, low, True),) if low > -np.inf else ()
    return below + ((_Split(column, high, False),) if high < np.inf else ())


def _merged(boxes: list[_Box], columns: Sequence[_Column]) -> list[_Box]:
    """``boxes`` with any two that differ only in adjacent ranges of one numeric field joined
    into one (a tree often splits a range it then sends to the cluster on both sides)."""
    for i, first in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            joined = _joined(first, boxes[j], columns)
            if joined is not None:
                rest = [box for k, box in enumerate(boxes) if k not in (i, j)]
                return _merged([joined, *rest], columns)
    return boxes


def _joined(first: _Box, second: _Box, columns: Sequence[_Column]) -> _Box | None:
    if first.keys() != second.keys():
        return None
    differing = [field for field in first if first[field] != second[field]]
    if len(differing) != 1 or columns[first[differing[0]][0].column].category is not None:
        return None
    field = differing[0]
    (low1, high1), (low2, high2) = _bounds(first[field]), _bounds(second[field])
    if high1 != low2 and high2 != low1:
        return None
    column = first[field][0].column
    return {**first, field: _bound_splits(column, min(low1, low2), max(high1, high2))}


def _path_conditions(
    columns: Sequence[_Column], matrix: np.ndarray, box: _Box
) -> tuple[Rule, ...]:
    """The conditions of one path, one group per field."""
    return tuple(_field_rule(field, splits, columns, matrix) for field, splits in box.items())


def _field_rule(
    field: str, splits: Sequence[_Split], columns: Sequence[_Column], matrix: np.ndarray
) -> Rule:
    """What one path asks of one field, with ``or field is empty`` when the model's fill for a
    missing value meets it (k-means put the field's empty contacts where the fill is)."""
    column = columns[splits[0].column]
    if column.category is None:
        conditions, fill_meets = _numeric_conditions(column, splits, matrix)
    else:
        conditions, fill_meets = _category_conditions(column, splits, columns)
    rule: Rule = AllOf(conditions) if len(conditions) > 1 else conditions[0]
    return AnyOf((rule, Condition(field, Op.IS_EMPTY))) if fill_meets else rule


def _numeric_conditions(
    column: _Column, splits: Sequence[_Split], matrix: np.ndarray
) -> tuple[tuple[Condition, ...], bool]:
    """``field > low`` and/or ``field <= high`` (``= true``/``= false`` for a bool field),
    with readable bounds, and whether the fill lies within them."""
    low, high = _bounds(splits)
    fill = float(column.fill)
    fill_meets = low < fill <= high
    if column.is_bool:  # the only threshold between 0 and 1 is 0.5
        return (Condition(column.field, Op.EQ, bool(low > -np.inf)),), fill_meets
    conditions = []
    if low > -np.inf:
        conditions.append(Condition(column.field, Op.GT, _number(low)))
    if high < np.inf:
        conditions.append(Condition(column.field, Op.LE, _number(high)))
    return tuple(conditions), fill_meets


def _category_conditions(
    column: _Column, splits: Sequence[_Split], columns: Sequence[_Column]
) -> tuple[tuple[Condition, ...], bool]:
    """``field = value`` when the path requires a category, else ``field != value`` or
    ``field not in (...)`` for the categories it rules out; and whether the fill meets it."""
    required = [columns[s.column].category for s in splits if s.above]
    excluded = [columns[s.column].category for s in splits if not s.above]
    if required:
        value = required[0]
        return (Condition(column.field, Op.EQ, _value(value, column)),), column.fill == value
    values = tuple(_value(value, column) for value in dict.fromkeys(excluded))
    fill_meets = column.fill not in excluded
    if len(values) == 1:
        return (Condition(column.field, Op.NE, values[0]),), fill_meets
    return (Condition(column.field, Op.NOT_IN, values),), fill_meets


def _value(category: str | None, column: _Column) -> Scalar:
    """A category as the rule writes it: the CRM's text, or true/false for a bool field."""
    text = str(category)
    return text == "true" if column.is_bool else text


def _readable(threshold: float, values: np.ndarray) -> float:
    """The roundest number (fewest significant digits) that moves at most ``ROUNDING_MOVES`` of
    ``values`` to the other side of the split at ``threshold`` (an infinite one stays)."""
    if np.isinf(threshold):
        return threshold
    allowed = ROUNDING_MOVES * len(values)
    for digits in range(1, 16):
        candidate = float(f"{threshold:.{digits}g}")
        low, high = sorted((candidate, threshold))
        if ((values > low) & (values <= high)).sum() <= allowed:
            return candidate
    return threshold


def _number(value: float) -> int | float:
    """A bound as the rule writes it: 500, not 500.0."""
    return int(value) if value.is_integer() else value
