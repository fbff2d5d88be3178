"""Field values between their stored form and the forms Salesforce speaks: REST JSON, Bulk CSV.

Stored values are typed Python: text, bool, float (double, currency), int, a ``YYYY-MM-DD``
string (date) and epoch milliseconds (datetime). Salesforce writes datetimes as
``2024-05-01T12:34:56.000+0000`` in REST JSON and ``2024-05-01T12:34:56.000Z`` in Bulk API CSV,
numbers as JSON numbers (``1200.0`` for a double), and accepts ISO 8601 in any of its usual
spellings on input. A connector that parses only one of these spellings breaks on the other
API, which is exactly what the sandbox must let a test see.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from typing import Any

from connectors.sandbox.salesforce.schema import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDef,
)

CLEAR_CSV = "#N/A"
"""Bulk API: the cell text that sets a field to null (an empty cell leaves it unchanged)."""

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ValueProblem(ValueError):
    """A value that cannot be stored in a field; ``kind`` names what was given."""

    def __init__(self, definition: FieldDef, value: Any, kind: str) -> None:
        super().__init__(f"{definition.name}: {value!r}")
        self.definition = definition
        self.value = value
        self.kind = kind


def format_datetime(ms: int, *, bulk: bool = False) -> str:
    """Salesforce's datetime text: ``...000+0000`` (REST), ``...000Z`` (Bulk CSV)."""
    seconds, millis = divmod(ms, 1000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{text}.{millis:03d}{'Z' if bulk else '+0000'}"


def parse_datetime(text: str) -> int | None:
    """Epoch ms of an ISO 8601 datetime (``Z``, ``+hh:mm``, ``+hhmm`` or no offset = UTC)."""
    match = _DATETIME.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                          tzinfo=UTC)
    except ValueError:
        return None
    ms = int(moment.timestamp()) * 1000 + int((fraction or "0")[:3].ljust(3, "0"))
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        ms -= sign * (int(digits[:2]) * 3_600_000 + int(digits[2:]) * 60_000)
    return ms


def parse_date(text: str) -> str | None:
    """The ``YYYY-MM-DD`` text of a valid calendar date, else None."""
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def to_json(definition: FieldDef, value: Any) -> Any:
    """A stored value as REST JSON returns it."""
    if value is None:
        return None
    if definition.type == "datetime":
        return format_datetime(value)
    if definition.type in ("double", "currency"):
        return float(value)
    return value


def to_csv(definition: FieldDef, value: Any) -> str:
    """A stored value as a Bulk API 2.0 query result cell (null is an empty cell)."""
    if value is None:
        return ""
    if definition.type == "datetime":
        return format_datetime(value, bulk=True)
    if definition.type == "boolean":
        return "true" if value else "false"
    if definition.type in ("double", "currency"):
        return repr(float(value))
    return str(value)


def from_json(definition: FieldDef, value: Any) -> Any:
    """A REST JSON value as stored; ``ValueProblem`` when JSON of that kind cannot fill the
    field (Salesforce fails the whole request then, while deserialising it)."""
    if value is None:
        return None
    kind = _json_kind(value)
    if definition.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueProblem(definition, value, kind)
    if isinstance(value, (dict, list)):
        raise ValueProblem(definition, value, kind)
    if isinstance(value, bool):
        if definition.type in TEXT_TYPES:
            return "true" if value else "false"
        raise ValueProblem(definition, value, kind)
    return from_text(definition, str(value), kind)


def from_csv(definition: FieldDef, cell: str) -> Any:
    """A Bulk API CSV cell as stored (``#N/A`` is null); ``ValueProblem`` when unreadable."""
    if cell == CLEAR_CSV:
        return None
    if definition.type == "boolean":
        lowered = cell.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueProblem(definition, cell, "VALUE_STRING")
    return from_text(definition, cell, "VALUE_STRING")


def from_text(definition: FieldDef, text: str, kind: str) -> Any:
    """Text (or a number's text) as stored for any non-boolean field."""
    kind_of = definition.type
    if kind_of in TEXT_TYPES or kind_of in ID_TYPES:
        return text
    if kind_of in NUMBER_TYPES:
        try:
            number = float(text)
        except ValueError:
            raise ValueProblem(definition, text, kind) from None
        if kind_of == "int":
            if not number.is_integer():
                raise ValueProblem(definition, text, kind)
            return int(number)
        return number
    if kind_of == "date":
        day = parse_date(text[:10]) if parse_datetime(text) is not None else parse_date(text)
        if day is None:
            raise ValueProblem(definition, text, kind)
        return day
    if kind_of == "datetime":
        ms = parse_datetime(text)
        if ms is None and parse_date(text) is not None:
            ms = parse_datetime(f"{text}T00:00:00Z")
        if ms is None:
            raise ValueProblem(definition, text, kind)
        return ms
    raise ValueProblem(definition, text, kind)


def _json_kind(value: Any) -> str:
    """Jackson's token name for a JSON value, as Salesforce's parser errors quote it."""
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_STRING"
