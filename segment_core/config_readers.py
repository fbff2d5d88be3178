"""Reading plain configuration dicts (parsed TOML or JSON) into typed settings, with errors
that name the key.

Shared by the feature, cluster and validation settings so that every one of them refuses
unknown keys with a "did you mean", and reports a wrong value with its key path and what was
expected, e.g. ``features.rfm.recency: expected a field name, got the number 3``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from typing import TypeVar

from segment_core.errors import ConfigError
from segment_core.fields import FieldType
from segment_core.syntax import describe_value

Choice = TypeVar("Choice", bound=str)


def table(
    raw: object, path: str, allowed: Collection[str], required: Collection[str] = ()
) -> Mapping[str, object]:
    """``raw`` as a table with only ``allowed`` keys and every ``required`` one."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a table, got {describe_value(raw)}", path=path)
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed))
            raise ConfigError(f'unknown key "{key}"', path=path, suggestions=close)
    for key in required:
        if key not in raw:
            raise ConfigError(f'missing key "{key}"', path=path)
    return raw


def join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key


def text(raw: object, path: str, what: str = "a string") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"expected {what}, got {describe_value(raw)}", path=path)
    return raw


def whole(raw: object, path: str, minimum: int | None = None) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or (minimum is not None and raw < minimum):
        what = "a whole number" if minimum is None else f"a whole number >= {minimum}"
        raise ConfigError(f"expected {what}, got {describe_value(raw)}", path=path)
    return raw


def number(raw: object, path: str, low: float | None = None, high: float | None = None) -> float:
    """A finite number, optionally within ``[low, high]``."""
    if (
        isinstance(raw, (int, float))
        and not isinstance(raw, bool)
        and math.isfinite(raw)
        and (low is None or raw >= low)
        and (high is None or raw <= high)
    ):
        return float(raw)
    if low is not None and high is not None:
        what = f"a number from {low:g} to {high:g}"
    elif low is not None:
        what = f"a number >= {low:g}"
    else:
        what = "a number"
    raise ConfigError(f"expected {what}, got {describe_value(raw)}", path=path)


_DURATION = re.compile(r"\s*([0-9]+)\s*(hour|day|week)s?\s*", re.IGNORECASE)


def duration(raw: object, path: str) -> timedelta:
    """A length of time written as people write it: ``"90 days"``, ``"12 weeks"``, ``"2160
    hours"`` (a whole number > 0 of hours, days or weeks)."""
    match = _DURATION.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(
            'expected a duration such as "90 days", "12 weeks" or "2160 hours", '
            f"got {describe_value(raw)}",
            path=path,
        )
    unit = match.group(2).lower()
    return timedelta(**{f"{unit}s": int(match.group(1))})


def describe_duration(length: timedelta) -> str:
    """A length of time in words, as ``duration`` reads them (a model's age, a cadence):
    ``95 days``, ``1 day``, ``6 hours``, ``under an hour``."""
    if length >= timedelta(days=1):
        days = length.days
        return f"{days} day" if days == 1 else f"{days} days"
    hours = int(length.total_seconds() // 3600)
    if hours == 0:
        return "under an hour"
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


def boolean(raw: object, path: str) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(f"expected true or false, got {describe_value(raw)}", path=path)
    return raw


def choice(raw: object, path: str, choices: Sequence[Choice]) -> Choice:
    """``raw`` as the one of ``choices`` it spells (typed as the choices are, e.g. a Literal)."""
    for option in choices:
        if isinstance(raw, str) and raw == option:
            return option
    options = ", ".join(f'"{c}"' for c in choices)
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(raw, names) if isinstance(raw, str) else []
    raise ConfigError(
        f"expected one of {options}, got {describe_value(raw)}", path=path, suggestions=close
    )


def names(raw: object, path: str) -> tuple[str, ...]:
    """A list of distinct field names."""
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise ConfigError(f"expected a list of field names, got {describe_value(raw)}", path=path)
    items = tuple(text(item, join(path, i), "a field name") for i, item in enumerate(raw))
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item in seen:
            raise ConfigError(f'field "{item}" is listed twice', path=join(path, i))
        seen.add(item)
    return items


def field(
    name: str,
    path: str,
    field_types: Mapping[str, FieldType] | None,
    allowed: Collection[FieldType],
    purpose: str,
) -> str:
    """Check that field ``name`` exists with one of the ``allowed`` types (if types are known)."""
    if field_types is None:
        return name
    field_type = field_types.get(name)
    if field_type is None:
        close = difflib.get_close_matches(name, list(field_types))
        raise ConfigError(f'unknown field "{name}"', path=path, suggestions=close)
    if field_type not in allowed:
        kinds = list(allowed)
        kinds_text = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
        message = (
            f"{purpose} needs {_article(kinds[0])} {kinds_text} field, and "
            f'"{name}" is {_article(field_type)} {field_type} field'
        )
        raise ConfigError(message, path=path)
    return name


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
