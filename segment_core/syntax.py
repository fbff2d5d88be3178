"""The lexical conventions of the rule expression language, shared by its parser and printer.

Quoting, escaping, the shape of a bare field name and the reserved words live in one place so
that ``describe`` can promise its output parses back to the same rule.
"""

from __future__ import annotations

import math
import re
from typing import TypeGuard

IDENTIFIER = re.compile(r"[^\W\d]\w*(?:\.\w+)*")
"""A field name that may be written bare: ``industry``, ``Custom_Field__c``, ``Account.Name``.

Any other name is written between backticks: ``` `annual revenue` ```.
"""

RESERVED_WORDS = frozenset({"and", "or", "not"})
"""Words that can never be a bare field name, matched case-insensitively like every keyword."""

STRING_QUOTE = '"'
FIELD_QUOTE = "`"

UNESCAPES = {"\\": "\\", '"': '"', "`": "`", "n": "\n", "t": "\t", "r": "\r"}
"""What follows a backslash inside a quoted string or field name, and what it stands for."""

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote(text: str, delimiter: str = STRING_QUOTE) -> str:
    """``text`` between ``delimiter`` characters, escaped so the tokenizer reads it back."""
    escaped = "".join(
        "\\" + char if char == delimiter else _ESCAPES.get(char, char) for char in text
    )
    return f"{delimiter}{escaped}{delimiter}"


def format_field(name: str) -> str:
    """A field name as written in an expression: bare when it can be, backticked otherwise."""
    if IDENTIFIER.fullmatch(name) and name.lower() not in RESERVED_WORDS:
        return name
    return quote(name, FIELD_QUOTE)


def is_scalar(value: object) -> TypeGuard[str | int | float | bool]:
    """Whether ``value`` is a literal a rule can hold: a string, a boolean or a finite number."""
    if isinstance(value, (str, bool)):
        return True
    if isinstance(value, (int, float)):
        try:
            return math.isfinite(value)
        except OverflowError:  # an int too large to be a float
            return False
    return False


def format_scalar(value: str | int | float | bool) -> str:
    """A literal as written in an expression; ``repr`` keeps floats exact and floats."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    return repr(value)


def describe_value(value: object) -> str:
    """Name a value of any type for an error message: ``the string "abc"``, ``nothing``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {format_scalar(value)}"
    if isinstance(value, str):
        return f"the string {format_scalar(value)}"
    if is_scalar(value):
        return f"the number {format_scalar(value)}"
    if isinstance(value, (int, float)):
        return f"the out-of-range number {value!r}"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} value{'' if len(value) == 1 else 's'}"
    return f"a {type(value).__name__}"

MAX_NESTING = 50
"""How deep a rule may nest (parentheses and ``not`` in an expression, groups in a table): far
beyond any real rule, well within the stack."""
