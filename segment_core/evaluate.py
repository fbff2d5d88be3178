"""Evaluating a rule over every contact at once: boolean masks, no per-contact Python.

Semantics, chosen so a rule never matches a contact on the strength of data it does not have:

- Missing values: a condition never matches a contact whose field is missing, and that includes
  ``!=`` and ``not in``, which read as "has a value, and not this one". Only ``is empty`` matches
  them. ``not`` is plain negation, so ``not country = "US"`` does include contacts without a
  country; write ``country != "US"`` to leave them out.
- Text: ``=``, ``!=``, ``in`` and ``not in`` compare exactly; ``contains`` and ``starts with``
  ignore case.
- Multi-select: ``=`` and ``in`` mean "has any of these options", ``!=`` and ``not in`` "has
  none of them", ``contains`` "has this option" (ignoring case).
- Dates: ``before``/``after`` are strict. ``within N days`` means from N days before ``now`` up
  to ``now`` (future values do not match); for date fields both ends are whole days in UTC.

Text tests (``contains``, ``starts with`` and every multi-select operator) run in Arrow's string
kernels, on a column's distinct values or, where nearly every value differs, over all of them
(``segment_core.text_conditions``). A rule prepares each such field once, however many
conditions read it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from segment_core.coerce import CoercedFrame, CoercedOperand, CoercedScalar, coerce_operand
from segment_core.fields import FieldType
from segment_core.rule_check import check_rule
from segment_core.rules import AllOf, AnyOf, Condition, Not, Op, Rule
from segment_core.text_conditions import ColumnText, match_text

COMPARISONS: dict[Op, Callable[[pd.Series, CoercedScalar], pd.Series]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
    Op.BEFORE: operator.lt,
    Op.AFTER: operator.gt,
}
"""The comparison behind each ordering operator; on a column it compares every row at once,
and the benchmark's row-by-row baseline applies the same table to single values."""


def evaluate(rule: Rule, frame: CoercedFrame, now: datetime) -> pd.Series:
    """Which contacts in ``frame`` match ``rule``: a bool Series on the frame's index.

    ``now`` anchors ``within`` and must be timezone-aware (a naive one is ambiguous). Raises
    ``RuleError`` when the rule does not fit the frame's fields (see ``check_rule``).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    check_rule(None, rule, frame.field_types)
    mask = _mask(rule, frame, pd.Timestamp(now).tz_convert("UTC"), {})
    return pd.Series(mask, index=frame.data.index, dtype=bool)


def _mask(
    rule: Rule, frame: CoercedFrame, now: pd.Timestamp, texts: dict[str, ColumnText]
) -> np.ndarray:
    match rule:
        case Condition():
            return _condition_mask(rule, frame, now, texts)
        case Not(inner):
            return ~_mask(inner, frame, now, texts)
        case AllOf(rules):
            every: np.ndarray = np.logical_and.reduce([_mask(m, frame, now, texts) for m in rules])
            return every
        case AnyOf(rules):
            some: np.ndarray = np.logical_or.reduce([_mask(m, frame, now, texts) for m in rules])
            return some


def _condition_mask(
    condition: Condition,
    frame: CoercedFrame,
    now: pd.Timestamp,
    texts: dict[str, ColumnText],
) -> np.ndarray:
    field, op = condition.field, condition.op
    column, field_type = frame.data[field], frame.field_types[field]
    present: npt.NDArray[np.bool_] = column.notna().to_numpy()
    if op is Op.IS_SET:
        return present
    if op is Op.IS_EMPTY:
        return ~present
    operand = coerce_operand(condition, field_type)
    if field_type == "multi_enumeration" or op in (Op.CONTAINS, Op.STARTS_WITH):
        if field not in texts:
            texts[field] = ColumnText(column)
        return present & match_text(op, operand, texts[field], field_type)
    matched: npt.NDArray[np.bool_] = _match_values(op, operand, column, field_type, now).to_numpy(
        dtype=bool, na_value=False
    )
    return present & matched


def _match_values(
    op: Op, operand: CoercedOperand, column: pd.Series, field_type: FieldType, now: pd.Timestamp
) -> pd.Series:
    """The operator over the values: a pair, a list, days or one value, as ``op`` takes."""
    if isinstance(operand, tuple):
        if op is Op.BETWEEN:
            low, high = operand
            return (column >= low) & (column <= high)
        return column.isin(operand) if op is Op.IN else ~column.isin(operand)
    if op is Op.WITHIN and isinstance(operand, int):
        return _within(column, operand, field_type, now)
    if operand is None:
        raise ValueError(f'"{op}" compares against a value, and the condition has none')
    return COMPARISONS[op](column, operand)


def _within(column: pd.Series, days: int, field_type: FieldType, now: pd.Timestamp) -> pd.Series:
    end = now if field_type == "datetime" else now.normalize()
    try:
        start = end - pd.Timedelta(days=days)
    except (OverflowError, ValueError):  # reaches past the representable calendar: no bound
        return column <= end
    return (column >= start) & (column <= end)
