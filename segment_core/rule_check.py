"""Checking a rule against the contact fields: the config errors a parser cannot see alone.

A rule can be well-formed and still be wrong for the CRM it runs against: a misspelt field, an
operator that makes no sense for the field's type, a value that is not of that type. Catching
these when the config is loaded, with the segment named, beats a sync that silently matches no one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from segment_core.coerce import coerce_operand
from segment_core.errors import CoercionError, RuleError
from segment_core.fields import FieldType
from segment_core.rules import Condition, Op, Rule, iter_conditions
from segment_core.syntax import format_scalar

_EQUALITY = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN})
_PRESENCE = frozenset({Op.IS_SET, Op.IS_EMPTY})
_ORDER = frozenset({Op.LT, Op.LE, Op.GT, Op.GE, Op.BETWEEN})
_TEXT = frozenset({Op.CONTAINS, Op.STARTS_WITH})
_CALENDAR = frozenset({Op.WITHIN, Op.BEFORE, Op.AFTER})

OPERATORS_BY_TYPE: dict[FieldType, frozenset[Op]] = {
    "string": _EQUALITY | _TEXT | _PRESENCE,
    "enumeration": _EQUALITY | _TEXT | _PRESENCE,
    "multi_enumeration": _EQUALITY | {Op.CONTAINS} | _PRESENCE,
    "number": _EQUALITY | _ORDER | _PRESENCE,
    "bool": frozenset({Op.EQ, Op.NE}) | _PRESENCE,
    "date": frozenset({Op.EQ, Op.NE}) | _ORDER | _CALENDAR | _PRESENCE,
    # No equality on instants: `= "2024-05-01"` would match only contacts at exactly midnight.
    "datetime": _ORDER | _CALENDAR | _PRESENCE,
}
"""Which operators make sense on each field type."""


def check_rule(
    segment_name: str | None, rule: Rule, field_types: Mapping[str, FieldType]
) -> None:
    """Raise ``RuleError`` naming ``segment_name`` for the first condition that does not fit.

    Checked per condition: the field exists (else close matches are suggested), the operator
    applies to its type, the values coerce to that type, and a ``between`` has its lower bound
    first.
    """
    for condition in iter_conditions(rule):
        _check_condition(condition, field_types, segment_name)


def _check_condition(
    condition: Condition, field_types: Mapping[str, FieldType], segment_name: str | None
) -> None:
    field, op = condition.field, condition.op
    field_type = field_types.get(field)
    if field_type is None:
        close = difflib.get_close_matches(field, list(field_types))
        raise RuleError(f'unknown field "{field}"', segment=segment_name, suggestions=close)
    allowed = OPERATORS_BY_TYPE[field_type]
    if op not in allowed:
        valid = ", ".join(candidate for candidate in Op if candidate in allowed)
        message = f'"{op}" does not apply to {field_type} field "{field}" (use {valid})'
        raise RuleError(message, segment=segment_name)
    try:
        operand = coerce_operand(condition, field_type)
    except CoercionError as error:
        raise RuleError(str(error), segment=segment_name) from error
    if (
        op is Op.BETWEEN
        and isinstance(operand, tuple)
        and isinstance(condition.value, tuple)
        and operand[0] > operand[1]
    ):
        low, high = map(format_scalar, condition.value)
        message = f'field "{field}": between {low} and {high} matches nothing (low bound first)'
        raise RuleError(message, segment=segment_name)
