"""Text conditions over every contact at once, in Arrow's string kernels.

``contains`` and ``starts with`` ignore case; the multi-select operators test options in the
canonical ``";a;b;"`` form that ``coerce_frame`` builds, so each option is one substring test.
Arrow runs each test in C: no Python per contact, nor per distinct value. Where values repeat
(job titles, options), the tests run on the distinct values and spread back to the contacts by
code, a few dozen values instead of a million. Where nearly every value differs (e-mail
addresses, timestamps kept as text), finding the distinct values would cost more than the
tests, so they run over the whole column; a sample of the column tells which it is.

Ignoring case means comparing Python's ``str.lower()`` of both sides, as the rule's author reads
it. Arrow's own Unicode lowering differs from Python's in places (the final sigma, "İ", letters
newer than Python's Unicode tables), so Arrow lowers only ASCII values, where the two agree
byte for byte, and Python lowers each distinct non-ASCII value, which CRM text has few of.
Patterns are literal: a value's ``.`` or ``*`` is just a character.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segment_core.coerce import CoercedOperand
from segment_core.fields import FieldType
from segment_core.rules import Op

SAMPLE_SIZE = 10_000
"""Values sampled (evenly spaced) to tell a column of repeated values from a mostly distinct one."""
DISTINCT_SHARE = 0.5
"""A sample with more distinct values than this share is tested whole, not per distinct value."""


class ColumnText:
    """A text column as the Arrow text its tests run on (each distinct value, or every value
    when they mostly differ; missing values are null), lowered once on first use."""

    def __init__(self, column: pd.Series) -> None:
        self.codes: npt.NDArray[np.intp] | None = None
        if not _mostly_distinct(column):
            self.codes, distinct = pd.factorize(column)  # a missing value gets code -1
            column = pd.Series(np.asarray(distinct, dtype=object), dtype=object)
        # No copy for pandas' Arrow-backed text; typed, so a column of missing values is text too.
        array = pa.array(column, pa.large_string(), from_pandas=True)
        self.values: pa.Array = (
            array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
        )

    def spread(self, matches: pa.Array) -> npt.NDArray[np.bool_]:
        """Per contact, the answer of a test on ``values`` (false where it is null)."""
        mask: npt.NDArray[np.bool_] = pc.fill_null(matches, False).to_numpy(zero_copy_only=False)
        if self.codes is None:
            return mask
        spread: npt.NDArray[np.bool_] = np.append(mask, False)[self.codes]  # -1: no match
        return spread

    @functools.cached_property
    def lowered(self) -> pa.Array:
        """Each value as Python's ``str.lower()`` gives it (see the module docstring)."""
        lowered = pc.ascii_lower(self.values)
        unicode = pc.fill_null(pc.invert(pc.string_is_ascii(self.values)), False)
        if not pc.any(unicode).as_py():
            return lowered
        values = self.values.filter(unicode)
        distinct = pc.unique(values)
        by_python = pa.array([value.lower() for value in distinct.to_pylist()], self.values.type)
        return pc.replace_with_mask(lowered, unicode, by_python.take(pc.index_in(values, distinct)))


def match_text(
    op: Op, operand: CoercedOperand, text: ColumnText, field_type: FieldType
) -> npt.NDArray[np.bool_]:
    """Which contacts ``op operand`` matches: ``contains``/``starts with`` on text, or any
    operator on a multi-select (its values coerce to strings). A missing value matches nothing,
    except under ``!=`` and ``not in`` on a multi-select, which the caller masks with presence."""
    if field_type != "multi_enumeration":
        needle = str(operand).lower()
        test = pc.match_substring if op is Op.CONTAINS else pc.starts_with
        return text.spread(test(text.lowered, pattern=needle))
    if op is Op.CONTAINS:
        return text.spread(pc.match_substring(text.lowered, pattern=f";{str(operand).lower()};"))
    options = operand if isinstance(operand, tuple) else (operand,)
    tests = [text.spread(pc.match_substring(text.values, pattern=f";{o};")) for o in options]
    has_any: npt.NDArray[np.bool_] = np.logical_or.reduce(tests)
    return has_any if op in (Op.EQ, Op.IN) else ~has_any


def _mostly_distinct(column: pd.Series) -> bool:
    sample = column.iloc[:: max(1, len(column) // SAMPLE_SIZE)]
    return bool(sample.nunique() > DISTINCT_SHARE * len(sample))
