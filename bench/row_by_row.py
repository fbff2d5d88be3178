"""The row-by-row baselines that ``segment.py`` measures vectorised rule evaluation against.

Both evaluate the parsed rules over each contact as a dict of plain Python values, rule values
coerced once (``prepare``): ``interpret`` walks the rule AST per contact, and ``compile_rule``
turns each rule once into closures specialised to each operator and value (what hand-written
predicates would be, the stricter baseline). Their semantics are ``segment_core.evaluate``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import pandas as pd

from segment_core import AllOf, AnyOf, CoercedFrame, Condition, FieldType, Not, Op, Rule
from segment_core.coerce import coerce_operand
from segment_core.evaluate import COMPARISONS

Row = Mapping[str, object]
Predicate = Callable[[Row], bool]



def prepare(condition: Condition, field_type: FieldType, now: datetime) -> object:
    """A condition's value, coerced once as plain Python; ``within`` as its (start, end) pair.

    The semantics are ``segment_core.evaluate``'s: ``within`` ends at ``now``, for a date field
    at its midnight (UTC).
    """
    operand = coerce_operand(condition, field_type)
    if condition.op is Op.WITHIN:
        end = pd.Timestamp(now).tz_convert("UTC")
        end = end if field_type == "datetime" else end.normalize()
        operand = (end - pd.Timedelta(days=operand), end)
    if isinstance(operand, tuple):
        return tuple(_python(item) for item in operand)
    return _python(operand)


def _python(value: object) -> object:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def interpret(
    rule: Rule, row: Row, operands: Mapping[int, object], types: Mapping[str, FieldType]
) -> bool:
    """The straightforward interpreter: the AST walked and each operator dispatched per contact
    (``operands``: each condition's ``prepare``d value, by ``id``)."""
    match rule:
        case Not(inner):
            return not interpret(inner, row, operands, types)
        case AllOf(rules):
            return all(interpret(member, row, operands, types) for member in rules)
        case AnyOf(rules):
            return any(interpret(member, row, operands, types) for member in rules)
    op, value = rule.op, row[rule.field]
    if op is Op.IS_SET or op is Op.IS_EMPTY:
        return (value is None) is (op is Op.IS_EMPTY)
    if value is None:
        return False
    operand = operands[id(rule)]
    if types[rule.field] == "multi_enumeration":  # the row holds a frozenset of options
        if op is Op.CONTAINS:
            return any(option.lower() == operand.lower() for option in value)
        has_any = not value.isdisjoint(operand if isinstance(operand, tuple) else (operand,))
        return has_any is (op in (Op.EQ, Op.IN))
    match op:
        case Op.BETWEEN | Op.WITHIN:
            return operand[0] <= value <= operand[1]
        case Op.IN:
            return value in operand
        case Op.NOT_IN:
            return value not in operand
        case Op.CONTAINS:
            return operand.lower() in value.lower()
        case Op.STARTS_WITH:
            return value.lower().startswith(operand.lower())
        case _:
            return COMPARISONS[op](value, operand)


def compile_rule(rule: Rule, types: Mapping[str, FieldType], now: datetime) -> Predicate:
    """``rule`` as nested closures, each specialised to its operator and value: what
    hand-written per-contact Python would be."""
    match rule:
        case Condition():
            return _compile_condition(rule, types[rule.field], now)
        case Not(inner):
            negated = compile_rule(inner, types, now)
            return lambda row: not negated(row)
        case AllOf(rules):
            members = [compile_rule(member, types, now) for member in rules]
            return lambda row: all(member(row) for member in members)
        case AnyOf(rules):
            members = [compile_rule(member, types, now) for member in rules]
            return lambda row: any(member(row) for member in members)


def _compile_condition(condition: Condition, field_type: FieldType, now: datetime) -> Predicate:
    field, op = condition.field, condition.op
    if op is Op.IS_SET:
        return lambda row: row[field] is not None
    if op is Op.IS_EMPTY:
        return lambda row: row[field] is None
    test = _value_test(op, prepare(condition, field_type, now), field_type)
    return lambda row: (value := row[field]) is not None and test(value)


def _value_test(op: Op, operand: object, field_type: FieldType) -> Callable[[object], bool]:
    if field_type == "multi_enumeration":
        if op is Op.CONTAINS:
            lowered = operand.lower()
            return lambda options: any(option.lower() == lowered for option in options)
        wanted = frozenset(operand if isinstance(operand, tuple) else (operand,))
        has_any = op in (Op.EQ, Op.IN)
        return lambda options: wanted.isdisjoint(options) is not has_any
    match op:
        case Op.BETWEEN | Op.WITHIN:
            low, high = operand
            return lambda value: low <= value <= high
        case Op.IN | Op.NOT_IN:
            members, inside = frozenset(operand), op is Op.IN
            return lambda value: (value in members) is inside
        case Op.CONTAINS:
            lowered = operand.lower()
            return lambda value: lowered in value.lower()
        case Op.STARTS_WITH:
            lowered = operand.lower()
            return lambda value: value.lower().startswith(lowered)
        case _:
            compare = COMPARISONS[op]
            return lambda value: compare(value, operand)


def python_rows(frame: CoercedFrame) -> list[dict[str, object]]:
    """Each contact as a dict of plain Python values, None where missing."""
    columns = {}
    for field, field_type in frame.field_types.items():
        column = frame.data[field]
        missing = column.isna().to_numpy()
        values = column.astype(object).to_numpy()
        if field_type in ("date", "datetime"):
            values = [
                None if gap else value.to_pydatetime()
                for value, gap in zip(values, missing, strict=False)
            ]
        elif field_type == "multi_enumeration":
            values = [
                None if gap else frozenset(v.strip(";").split(";"))
                for v, gap in zip(values, missing, strict=False)
            ]
        else:
            values = [None if gap else value for value, gap in zip(values, missing, strict=False)]
        columns[field] = values
    rows = zip(*columns.values(), strict=False)
    return [dict(zip(columns, cells, strict=False)) for cells in rows]
