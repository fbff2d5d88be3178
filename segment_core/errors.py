"""The errors segment_core raises, written to be shown as-is to whoever edits the segment config.

A ``RuleError`` is a configuration error: it says which segment, where in the rule (a key path
for the structured form, a caret under the expression text for the string form), what is wrong,
and what was probably meant. A ``CoercionError`` is a value that does not read as its field's
type; for rule literals that is a configuration error too, whereas bad CRM data is reported
by ``coerce_frame`` rather than raised, so one bad cell never aborts a run.
"""

from __future__ import annotations

from collections.abc import Sequence

from segment_core.fields import EXPECTED_VALUE, FieldType
from segment_core.syntax import describe_value

_EXCERPT_INDENT = "    "


class RuleError(ValueError):
    """A segment rule that cannot be used: bad syntax, unknown field, wrong operator or value.

    ``segment`` names the segment when known; ``path`` locates the problem in the structured form
    (``rule.all[1].op``); ``expression`` and ``position`` (a 0-based offset into it) locate it in
    the string form; ``suggestions`` are the close matches offered as "did you mean".
    """

    def __init__(
        self,
        message: str,
        *,
        segment: str | None = None,
        path: str | None = None,
        expression: str | None = None,
        position: int | None = None,
        suggestions: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.segment = segment
        self.path = path
        self.expression = expression
        self.position = position
        self.suggestions = tuple(suggestions)

    def with_segment(self, segment: str) -> RuleError:
        """This error, attributed to ``segment``: parsers know the rule, only callers its owner."""
        return RuleError(
            self.message,
            segment=segment,
            path=self.path,
            expression=self.expression,
            position=self.position,
            suggestions=self.suggestions,
        )

    def __str__(self) -> str:
        where = [f'segment "{self.segment}"'] if self.segment is not None else []
        if self.path:
            where.append(self.path)
        text = ": ".join([*where, self.message])
        pointer = None
        if self.expression is not None and self.position is not None:
            location, pointer = _point_at(self.expression, self.position)
            text += f" {location}"
        if self.suggestions:
            text += f" (did you mean {_either(self.suggestions)}?)"
        if pointer is not None:
            text += f"\n{pointer}"
        return text


class CoercionError(ValueError):
    """A rule value that does not read as its field's type, e.g. ``"soon"`` for a date field."""

    def __init__(self, value: object, expected: FieldType, field: str | None = None) -> None:
        self.value = value
        self.expected = expected
        self.field = field
        problem = f"expected {EXPECTED_VALUE[expected]}, got {describe_value(value)}"
        super().__init__(problem if field is None else f'field "{field}": {problem}')


def _point_at(expression: str, position: int) -> tuple[str, str]:
    """Where ``position`` is in words, and its line with a caret under it (tabs kept to align)."""
    line_start = expression.rfind("\n", 0, position) + 1
    line_end = expression.find("\n", position)
    line = expression[line_start : len(expression) if line_end == -1 else line_end]
    column = position - line_start + 1
    if "\n" in expression:
        line_number = expression.count("\n", 0, position) + 1
        location = f"at line {line_number}, column {column}"
    else:
        location = f"at column {column}"
    padding = "".join("\t" if char == "\t" else " " for char in line[: column - 1])
    return location, f"{_EXCERPT_INDENT}{line}\n{_EXCERPT_INDENT}{padding}^"


def _either(options: Sequence[str]) -> str:
    quoted = [f'"{option}"' for option in options]
    if len(quoted) == 1:
        return quoted[0]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


class ConfigError(ValueError):
    """A feature, cluster, audit or validation setting that cannot be used.

    ``path`` is the key path in the configuration (``features.rfm.recency``,
    ``clusters[0].n_clusters``), so the message says exactly which key to fix; ``suggestions``
    are close matches for a misspelt key or field.
    """

    def __init__(
        self, message: str, *, path: str | None = None, suggestions: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.suggestions = tuple(suggestions)

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.suggestions:
            text += f" (did you mean {_either(self.suggestions)}?)"
        return text
