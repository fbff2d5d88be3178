"""Typing CRM text: contact columns by their field types, and rule values by their field's type.

CRMs send every value as text. Coercing each column once, up front, to a proper dtype is what
lets evaluation be a handful of vectorised comparisons. A cell that does not parse becomes
missing and is reported in ``CoercedFrame.problems``: one malformed value among a million
contacts must not stop a sync. A rule value that does not parse is a configuration error and
raises ``CoercionError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

from segment_core.errors import CoercionError
from segment_core.fields import FIELD_TYPES, FieldType
from segment_core.rules import Condition, Operand, Scalar

CoercedScalar: TypeAlias = float | bool | str | pd.Timestamp
"""A rule value as its field's type."""
CoercedOperand: TypeAlias = CoercedScalar | tuple[CoercedScalar, ...] | int | None
"""A condition's value as its field's type: one value, a pair or list, days, or none."""

PROBLEM_COLUMNS = ("contact_id", "field", "value", "expected")

_INSTANT = "datetime64[us, UTC]"
_BOOLEANS = {"true": True, "false": False}
_EPOCH_MILLISECONDS = r"-?[0-9]+"
_OPTION_SEPARATORS = r"\s*;[\s;]*"


@dataclass(frozen=True, eq=False)
class CoercedFrame:
    """Contacts with typed columns, plus the cells that could not be read.

    ``data`` keeps the raw frame's index (contact ids) and has one column per field:

    - string, enumeration: the text, stripped of surrounding whitespace (default string dtype);
    - number: float64;
    - bool: nullable boolean, from ``"true"``/``"false"`` in any case;
    - datetime: ``datetime64[us, UTC]``, from ISO 8601 (offsets converted, naive taken as UTC)
      or, for all-digit text, epoch milliseconds;
    - date: the same, truncated to midnight UTC;
    - multi_enumeration: the selected options in canonical ``";a;b;"`` form (each option
      stripped, wrapped in separators) so "has option x" is one substring test for ``";x;"``.

    Missing, empty and blank text is missing (NA) in every column, as is any cell that does not
    parse. Each of the latter is a row of ``problems``: ``contact_id``, ``field``, ``value`` (as
    received) and ``expected`` (the field type).
    """

    data: pd.DataFrame
    field_types: Mapping[str, FieldType]
    problems: pd.DataFrame


MAX_NUMBER = float(2**53)
"""The largest magnitude read as a number: beyond it a CRM's doubles stop being exact, no contact
field means what it says, and statistics (squares in scaling, sums) overflow to inf."""


def coerce_frame(raw: pd.DataFrame, field_types: Mapping[str, FieldType]) -> CoercedFrame:
    """Type every column of ``raw`` (indexed by contact id, values ``str`` or None).

    Raises ``ValueError`` for a column without a type, an unknown type or duplicate contact ids,
    which are mistakes in the calling code rather than in the data.
    """
    untyped = [str(column) for column in raw.columns if column not in field_types]
    if untyped:
        raise ValueError(f"no field type for column(s): {', '.join(untyped)}")
    unknown = sorted({str(t) for t in field_types.values() if t not in FIELD_TYPES})
    if unknown:
        raise ValueError(f"unknown field type(s) {', '.join(unknown)}; known: {FIELD_TYPES}")
    if not raw.index.is_unique:
        raise ValueError("contact ids must be unique; the same contact was pulled twice")
    columns: dict[str, pd.Series] = {}
    problems = [pd.DataFrame(columns=list(PROBLEM_COLUMNS))]  # has the columns even if all is well
    for field in raw.columns:
        typed, failed = _coerce_column(raw[field], field_types[field])
        if failed.any():
            problems.append(
                pd.DataFrame(
                    {
                        "contact_id": raw.index[failed],
                        "field": field,
                        "value": raw[field].to_numpy()[failed],
                        "expected": field_types[field],
                    }
                )
            )
        columns[field] = typed
    return CoercedFrame(
        data=pd.DataFrame(columns, index=raw.index),
        field_types={field: field_types[field] for field in raw.columns},
        problems=pd.concat(problems, ignore_index=True),
    )


def coerce_literal(
    value: Scalar, field_type: FieldType, field: str | None = None
) -> CoercedScalar:
    """A rule value as its field's type: a float, a bool, a UTC ``Timestamp`` or a string.

    Strict about kinds (``"1000"`` is not a number, ``5`` not a string) because a rule that
    silently compares the wrong kind matches nobody and nobody notices. Strings for string and
    enumeration fields are kept verbatim (``contains " VP "`` may mean its spaces); an option of
    a multi-select is stripped like the data is, and may not contain the ``;`` separator.
    """
    if not _kind_fits(value, field_type):
        raise CoercionError(value, field_type, field)
    match field_type:
        case "number":
            return float(value)
        case "date" | "datetime":
            instant = _COERCE_COLUMN[field_type](_clean_text(pd.Series([value]))).iloc[0]
            if pd.isna(instant):
                raise CoercionError(value, field_type, field)
            return instant
        case "multi_enumeration":
            option = str(value).strip()  # a string: its kind fits
            if not option or ";" in option:
                raise CoercionError(value, field_type, field)
            return option
        case _:
            return value


def coerce_operand(condition: Condition, field_type: FieldType) -> CoercedOperand:
    """The value of ``condition`` as its field's type; pairs and lists become tuples of such.
    A number of days (``within``) stays the whole number it is; no value stays None."""
    value = condition.value
    if isinstance(value, tuple):
        return tuple(coerce_literal(item, field_type, condition.field) for item in value)
    if value is None or condition.op.operand is Operand.DAYS:
        return value
    return coerce_literal(value, field_type, condition.field)


def _coerce_column(column: pd.Series, field_type: FieldType) -> tuple[pd.Series, np.ndarray]:
    """The typed column, and which of its cells had text that did not parse.

    Each distinct value is coerced once and the results spread back by position: CRM columns
    repeat a handful of values across millions of contacts, and pandas' text methods run Python
    per element, so this is what keeps coercing a million contacts within a second or two.
    """
    codes, distinct = pd.factorize(column)  # a missing cell gets code -1
    text = _clean_text(pd.Series(distinct, dtype="str"))
    typed = _COERCE_COLUMN[field_type](text)
    failed = (text.notna() & typed.isna()).to_numpy()
    spread = typed.array.take(codes, allow_fill=True)  # -1 takes the missing value
    return pd.Series(spread, index=column.index), np.append(failed, False)[codes]


def _kind_fits(value: Scalar, field_type: FieldType) -> bool:
    if isinstance(value, bool):  # before int: bool is a subclass of int
        return field_type == "bool"
    if isinstance(value, (int, float)):
        return field_type == "number"
    return isinstance(value, str) and field_type not in ("number", "bool")


def _clean_text(column: pd.Series) -> pd.Series:
    """Text stripped of surrounding whitespace, with empty text missing: CRMs send "" for unset."""
    text = column.astype("str").str.strip()
    return text.mask(text == "")


def _as_number(text: pd.Series) -> pd.Series:
    """Numbers within ``MAX_NUMBER``; ``inf``, ``1e309`` and ``1e200`` read as unparsable."""
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    return numbers.where(numbers.abs() <= MAX_NUMBER)


def _as_bool(text: pd.Series) -> pd.Series:
    return text.str.lower().map(_BOOLEANS).astype("boolean")


def _as_datetime(text: pd.Series) -> pd.Series:
    """ISO 8601 first; whatever is left and all digits is epoch milliseconds (older HubSpot APIs).

    ISO goes first so that compact dates such as ``20240501`` keep their obvious meaning.
    """
    instants = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601").astype(_INSTANT)
    leftover = text[instants.isna() & text.notna()]
    millis = leftover[leftover.str.fullmatch(_EPOCH_MILLISECONDS)]
    if millis.empty:
        return instants
    from_epoch = pd.to_datetime(pd.to_numeric(millis), unit="ms", utc=True, errors="coerce")
    return instants.fillna(from_epoch.astype(_INSTANT))


def _as_date(text: pd.Series) -> pd.Series:
    return _as_datetime(text).dt.normalize()


def _as_options(text: pd.Series) -> pd.Series:
    options = text.str.replace(_OPTION_SEPARATORS, ";", regex=True).str.strip(";")
    return ";" + options.mask(options == "") + ";"


_COERCE_COLUMN: dict[FieldType, Callable[[pd.Series], pd.Series]] = {
    "string": lambda text: text,
    "enumeration": lambda text: text,
    "multi_enumeration": _as_options,
    "number": _as_number,
    "bool": _as_bool,
    "date": _as_date,
    "datetime": _as_datetime,
}
