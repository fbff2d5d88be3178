"""Text conditions run in Arrow's string kernels and give exactly the per-value Python answers.

The reference below is the semantics as the rule's author reads them, one contact at a time in
plain Python (what ``segment_core.evaluate`` computed per distinct value before Arrow): text
``contains``/``starts with`` compare ``str.lower()`` of both sides; a multi-select in its
canonical ``";a;b;"`` form has an option when it holds ``";option;"`` (``contains`` ignoring
case); a missing value matches nothing, ``!=``/``not in`` included. Each property runs both
ways Arrow tests a column: per distinct value (spread back by code) and over every value.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from segment_core import CoercionError, Condition, Op, coerce_frame, evaluate, text_conditions
from segment_core.coerce import coerce_operand
from segment_core.text_conditions import ColumnText

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
TEXT_OPS = {
    "string": (Op.CONTAINS, Op.STARTS_WITH),
    "enumeration": (Op.CONTAINS, Op.STARTS_WITH),
    "multi_enumeration": (Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.CONTAINS),
}
HOSTILE = [
    "İ", "i̇", "ΟΔΟΣ", "ς", "σ", "ß", "ẞ", "ss", "K", "k", "ǅ", "ﬁ", "é", "É", "\u0307",
    ".*", "[", "(", "\\", "^", "$", "%", "_", "|", "?", "@gmail.", "A", "a", " ", "", ";",
]
"""Case mappings where Python's lowering and Unicode's simple one differ, and regex syntax."""

pieces = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=3))
texts = st.lists(pieces, max_size=4).map("".join)
cells = st.one_of(st.none(), texts, st.lists(texts, min_size=1, max_size=3).map(";".join))
EVERY_VALUE, DISTINCT_VALUES = 0.0, 1.0
"""``DISTINCT_SHARE`` that has a column tested over every value, or per distinct value."""
both_ways = pytest.mark.parametrize(
    "distinct_share", [EVERY_VALUE, DISTINCT_VALUES], ids=["every value", "distinct values"]
)


def reference(op: Op, operand: object, value: str | None, field_type: str) -> bool:
    """One contact's answer in plain Python, on the coerced value."""
    if value is None:
        return False
    if field_type != "multi_enumeration":
        needle, lowered = str(operand).lower(), value.lower()
        return needle in lowered if op is Op.CONTAINS else lowered.startswith(needle)
    if op is Op.CONTAINS:
        return f";{str(operand).lower()};" in value.lower()
    options = operand if isinstance(operand, tuple) else (operand,)
    has_any = any(f";{option};" in value for option in options)
    return has_any if op in (Op.EQ, Op.IN) else not has_any


def coerced(values: list[str | None], field_type: str) -> tuple[pd.Series, object]:
    frame = coerce_frame(
        pd.DataFrame({"f": values}, index=[f"c{i}" for i in range(len(values))], dtype=object),
        {"f": field_type},
    )
    return frame.data["f"], frame


@both_ways
@settings(max_examples=300, deadline=None)
@given(
    st.lists(cells, max_size=12),
    st.sampled_from(sorted(TEXT_OPS)),
    st.data(),
)
def test_vectorised_text_conditions_match_the_python_reference(
    distinct_share, values, field_type, data
):
    op = data.draw(st.sampled_from(TEXT_OPS[field_type]))
    if op in (Op.IN, Op.NOT_IN):
        value = tuple(data.draw(st.lists(texts, min_size=1, max_size=3)))
    else:
        value = data.draw(texts)
    condition = Condition("f", op, value)
    try:
        operand = coerce_operand(condition, field_type)
    except CoercionError:
        assume(False)  # a blank option, or one with ";": a config error, not evaluated
    column, frame = coerced(values, field_type)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_conditions, "DISTINCT_SHARE", distinct_share)
        matched = evaluate(condition, frame, NOW)

    cells_in = [None if pd.isna(cell) else cell for cell in column]
    expected = [reference(op, operand, cell, field_type) for cell in cells_in]
    assert matched.tolist() == expected


@both_ways
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), texts), max_size=12))
def test_lowered_text_is_pythons_lowering_value_for_value(distinct_share, values):
    column = pd.Series(values, dtype="str")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_conditions, "DISTINCT_SHARE", distinct_share)
        text = ColumnText(column)
    lowered = text.lowered.to_pylist()

    values = column if text.codes is None else pd.unique(column[column.notna()])
    assert lowered == [None if pd.isna(v) else v.lower() for v in values]


@pytest.mark.parametrize(
    ("value", "members"),
    [
        ("ς", ["c0"]),  # Python lowers a word's last Σ to the final sigma
        ("i̇", ["c1"]),  # and İ to i plus a combining dot
        (".*", ["c3"]),  # a pattern is literal text, not a regular expression
        ("", ["c0", "c1", "c2", "c3", "c4"]),  # the empty text is in every value, not in none
    ],
)
def test_contains_ignores_case_as_python_lowers_and_reads_patterns_literally(value, members):
    _, frame = coerced(["ΟΔΟΣ", "İstanbul", "user@gmail.com", "a.*b", "ascii", None], "string")

    matched = evaluate(Condition("f", Op.CONTAINS, value), frame, NOW)

    assert matched[matched].index.tolist() == members
