"""The structured form of a rule: the tables a TOML (or JSON, or YAML) config naturally holds.

    {field = "industry", op = "in", value = ["Healthcare", "Biotech"]}
    {all = [...]}    {any = [...]}    {not = {...}}

It parses to the same AST as the string form, so the two are interchangeable. Every error names
the key path of the offending entry, e.g. ``rule.all[1].op``.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Mapping

from segment_core.errors import RuleError
from segment_core.rules import (
    AllOf,
    AnyOf,
    Condition,
    Not,
    Op,
    Rule,
    is_operand_value,
    operand_error,
)
from segment_core.syntax import MAX_NESTING, describe_value

_CONDITION_KEYS = ("field", "op", "value")
_GROUPS: dict[str, type[AllOf] | type[AnyOf]] = {"all": AllOf, "any": AnyOf}
_COMBINATOR_KEYS = (*_GROUPS, "not")
_SHAPES = "{field = ..., op = ..., value = ...}, {all = [...]}, {any = [...]} or {not = {...}}"


def parse_structured(raw: object, path: str = "rule", depth: int = 0) -> Rule:
    """Parse one rule table; ``path`` is where it sits in the config, for error messages.

    A group of one (``{all = [x]}``) is just ``x``, the same rule the string form gives. Tables
    may nest as deep as the expression grammar's parentheses, no deeper.
    """
    if depth > MAX_NESTING:
        raise RuleError(f"the rule nests more than {MAX_NESTING} levels deep", path=path)
    if not isinstance(raw, Mapping):
        raise RuleError(f"expected a table such as {_SHAPES}, got {describe_value(raw)}", path=path)
    for key in raw:
        if key not in (*_CONDITION_KEYS, *_COMBINATOR_KEYS):
            close = difflib.get_close_matches(str(key), (*_CONDITION_KEYS, *_COMBINATOR_KEYS))
            raise RuleError(f'unknown key "{key}"', path=path, suggestions=close)
    combinator = next((key for key in raw if key in _COMBINATOR_KEYS), None)
    if combinator is None:
        return _condition(raw, path)
    other = next((key for key in raw if key != combinator), None)
    if other is not None:
        raise RuleError(f'"{combinator}" cannot share a table with "{other}"', path=path)
    return _combination(combinator, raw[combinator], f"{path}.{combinator}", depth + 1)


def _combination(key: str, raw: object, path: str, depth: int) -> Rule:
    if key == "not":
        return Not(parse_structured(raw, path, depth))
    if not isinstance(raw, (list, tuple)) or not raw:
        raise RuleError(f"expected a non-empty list of rules, got {describe_value(raw)}", path=path)
    rules = tuple(
        parse_structured(item, f"{path}[{index}]", depth) for index, item in enumerate(raw)
    )
    return rules[0] if len(rules) == 1 else _GROUPS[key](rules)


def _condition(raw: Mapping[str, object], path: str) -> Condition:
    for key in ("field", "op"):
        if key not in raw:
            raise RuleError(f'missing key "{key}"', path=path)
    field, op = raw["field"], raw["op"]
    if not isinstance(field, str) or not field:
        raise RuleError(f"expected a field name, got {describe_value(field)}", path=f"{path}.field")
    if not isinstance(op, str):
        raise RuleError(f"expected an operator, got {describe_value(op)}", path=f"{path}.op")
    try:
        op = Op.from_text(op)
    except RuleError as error:
        raise _relocated(error, f"{path}.op") from None
    value = _from_config(raw.get("value"))
    try:
        if not is_operand_value(value):  # a table, or a list in a list: no operator takes it
            raise operand_error(op, value)
        return Condition(field, op, value)
    except RuleError as error:
        raise _relocated(error, f"{path}.value") from None


def _from_config(value: object) -> object:
    """Lists become tuples and TOML's native dates the ISO text the string form would hold."""
    if isinstance(value, (list, tuple)):
        return tuple(_from_config(item) for item in value)
    if isinstance(value, datetime.date):  # also datetime.datetime, a subclass
        return value.isoformat()
    return value


def _relocated(error: RuleError, path: str) -> RuleError:
    return RuleError(error.message, path=path, suggestions=error.suggestions)
