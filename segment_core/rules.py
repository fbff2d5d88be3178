"""The rule AST: conditions on contact fields combined with ``not``, ``and`` and ``or``.

Both configuration forms (the structured table and the compact expression string) parse into
these frozen dataclasses, so everything downstream (validation, evaluation, the "reason" text
shown to sales reps) is written once. A ``Condition`` checks the shape of its value when built,
so a rule that exists is well-formed; whether it fits the contact fields is ``check_rule``'s job.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias, TypeGuard

from segment_core.errors import RuleError
from segment_core.syntax import describe_value, format_field, format_scalar, is_scalar

Scalar: TypeAlias = str | int | float | bool
OperandValue: TypeAlias = Scalar | tuple[Scalar, ...] | None


class Operand(enum.Enum):
    """The shape of the value an operator takes; the value is how messages name it."""

    NONE = "no value"
    SCALAR = "a value (a string, a number, true or false)"
    TEXT = "a string"
    PAIR = "a [low, high] pair of values"
    LIST = "a non-empty list of values"
    DAYS = "a whole number of days (0 or more)"


class Op(enum.StrEnum):
    """The operator vocabulary. The value is how the operator is spelled in both forms."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    BETWEEN = "between"
    IN = "in"
    NOT_IN = "not in"
    CONTAINS = "contains"
    STARTS_WITH = "starts with"
    IS_SET = "is set"
    IS_EMPTY = "is empty"
    WITHIN = "within"
    BEFORE = "before"
    AFTER = "after"

    @property
    def operand(self) -> Operand:
        """What this operator compares against."""
        return _OPERANDS[self]

    @classmethod
    def from_text(cls, text: str) -> Op:
        """The operator spelled ``text``, ignoring case and extra spaces (``"Starts  With"``)."""
        normalised = " ".join(text.lower().split())
        try:
            return cls(normalised)
        except ValueError:
            raise RuleError(
                f'unknown operator "{text}" (valid operators: {", ".join(cls)})',
                suggestions=difflib.get_close_matches(normalised, list(cls)),
            ) from None


_OPERANDS: dict[Op, Operand] = {
    Op.EQ: Operand.SCALAR,
    Op.NE: Operand.SCALAR,
    Op.LT: Operand.SCALAR,
    Op.LE: Operand.SCALAR,
    Op.GT: Operand.SCALAR,
    Op.GE: Operand.SCALAR,
    Op.BETWEEN: Operand.PAIR,
    Op.IN: Operand.LIST,
    Op.NOT_IN: Operand.LIST,
    Op.CONTAINS: Operand.TEXT,
    Op.STARTS_WITH: Operand.TEXT,
    Op.IS_SET: Operand.NONE,
    Op.IS_EMPTY: Operand.NONE,
    Op.WITHIN: Operand.DAYS,
    Op.BEFORE: Operand.TEXT,
    Op.AFTER: Operand.TEXT,
}


@dataclass(frozen=True)
class Condition:
    """``field op value``, e.g. ``Condition("employees", Op.GE, 1000)``.

    ``op`` may be given as its spelling (``"in"``) and list values as lists; both are normalised
    so that equal rules compare and hash equal however they were built.
    """

    field: str
    op: Op
    value: OperandValue = None

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field:
            got = describe_value(self.field)
            raise RuleError(f"a field name must be a non-empty string, got {got}")
        if not isinstance(self.op, str):
            raise RuleError(f"an operator must be a string, got {describe_value(self.op)}")
        op = Op.from_text(self.op)
        value = tuple(self.value) if isinstance(self.value, list) else self.value
        if not _fits(op.operand, value):
            raise operand_error(op, value)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value", value)


@dataclass(frozen=True)
class Not:
    """Matches exactly the contacts ``rule`` does not match (including those missing values)."""

    rule: Rule


@dataclass(frozen=True)
class AllOf:
    """Matches contacts that every one of ``rules`` matches."""

    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        _check_group(self)


@dataclass(frozen=True)
class AnyOf:
    """Matches contacts that at least one of ``rules`` matches."""

    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        _check_group(self)


Rule: TypeAlias = Condition | Not | AllOf | AnyOf


def iter_conditions(rule: Rule) -> Iterator[Condition]:
    """Every condition in ``rule``, left to right."""
    match rule:
        case Condition():
            yield rule
        case Not(inner):
            yield from iter_conditions(inner)
        case AllOf(rules) | AnyOf(rules):
            for member in rules:
                yield from iter_conditions(member)


def referenced_fields(rule: Rule) -> tuple[str, ...]:
    """The fields ``rule`` reads, each once, in order of first use: what a sync must pull."""
    return tuple(dict.fromkeys(condition.field for condition in iter_conditions(rule)))


def describe(rule: Rule) -> str:
    """``rule`` as expression text, e.g. ``industry in ("Healthcare") and employees >= 1000``.

    This is the "reason" shown to sales reps, so it is also valid input: ``parse_expression``
    reads it back to an equal rule. Groups are parenthesised only where precedence
    (``not`` > ``and`` > ``or``) or nesting requires it; a group of one is written as its member.
    """
    match rule:
        case Condition(field, op, value):
            parts = (format_field(field), op.value, _format_operand(op, value))
            return " ".join(part for part in parts if part)
        case Not(inner):
            return f"not {_describe_member(inner, parenthesise=(AllOf, AnyOf))}"
        case AllOf(rules):
            members = (_describe_member(rule, parenthesise=(AllOf, AnyOf)) for rule in rules)
            return " and ".join(members)
        case AnyOf(rules):
            members = (_describe_member(rule, parenthesise=(AnyOf,)) for rule in rules)
            return " or ".join(members)


def _describe_member(rule: Rule, parenthesise: tuple[type, ...]) -> str:
    """A member of a larger rule, in parentheses when it is a group of the given kinds."""
    if isinstance(rule, (AllOf, AnyOf)) and len(rule.rules) == 1:
        return _describe_member(rule.rules[0], parenthesise)
    text = describe(rule)
    return f"({text})" if isinstance(rule, parenthesise) else text


def _format_operand(op: Op, value: OperandValue) -> str:
    """The value as written after the operator (a ``Condition``'s value fits its operand)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        if op.operand is Operand.PAIR:
            low, high = value
            return f"{format_scalar(low)} and {format_scalar(high)}"
        return f"({', '.join(format_scalar(item) for item in value)})"
    if op.operand is Operand.DAYS:
        return f"{value} day" if value == 1 else f"{value} days"
    return format_scalar(value)


def is_operand_value(value: object) -> TypeGuard[OperandValue]:
    """Whether ``value`` could be some operator's value: a literal, a tuple of them, or None."""
    if isinstance(value, tuple):
        return all(map(is_scalar, value))
    return value is None or is_scalar(value)


def operand_error(op: Op, value: object) -> RuleError:
    """The error for a value that does not fit ``op``, e.g. a list after ``=``."""
    return RuleError(f'"{op}" needs {op.operand.value}, got {describe_value(value)}')


def _fits(operand: Operand, value: object) -> bool:
    match operand:
        case Operand.NONE:
            return value is None
        case Operand.SCALAR:
            return is_scalar(value)
        case Operand.TEXT:
            return isinstance(value, str)
        case Operand.PAIR:
            return isinstance(value, tuple) and len(value) == 2 and all(map(is_scalar, value))
        case Operand.LIST:
            return isinstance(value, tuple) and len(value) > 0 and all(map(is_scalar, value))
        case Operand.DAYS:
            return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_group(group: AllOf | AnyOf) -> None:
    """Normalise the members to a tuple and refuse an empty group, which has no clear meaning."""
    rules = tuple(group.rules)
    if not rules:
        raise RuleError(f"{type(group).__name__} needs at least one rule")
    object.__setattr__(group, "rules", rules)
