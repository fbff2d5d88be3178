"""Text conditions over every contact at once, in Arrow's string kernels.

``contains`` and ``starts with`` ignore case; the multi-select operators test options in the
canonical ``";a;b;"`` form that ``coerce_frame`` builds, so each option is one substring test.
Arrow runs each test over the whole column in C: no Python per contact, nor per distinct value,
which matters on columns where nearly every value differs (e-mail addresses, timestamps kept as
text), where a test per distinct value is a test per contact, and factorizing them costs more
than the test itself.

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


class ColumnText:
    """A text column as one Arrow array (missing values null), lowered once on first use."""

    def __init__(self, column: pd.Series) -> None:
        array = pa.array(column, from_pandas=True)  # no copy for pandas' Arrow-backed text
        self.values: pa.Array = (
            array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
        )

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
        return _mask(test(text.lowered, pattern=needle))
    if op is Op.CONTAINS:
        return _mask(pc.match_substring(text.lowered, pattern=f";{str(operand).lower()};"))
    options = operand if isinstance(operand, tuple) else (operand,)
    tests = [_mask(pc.match_substring(text.values, pattern=f";{o};")) for o in options]
    has_any: npt.NDArray[np.bool_] = np.logical_or.reduce(tests)
    return has_any if op in (Op.EQ, Op.IN) else ~has_any


def _mask(matches: pa.Array) -> npt.NDArray[np.bool_]:
    mask: npt.NDArray[np.bool_] = pc.fill_null(matches, False).to_numpy(zero_copy_only=False)
    return mask
