"""The string form of rules: its parser, its errors, and its agreement with the structured form."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_core import (
    AllOf,
    AnyOf,
    Condition,
    Not,
    Op,
    RuleError,
    coerce_frame,
    describe,
    evaluate,
    parse_expression,
    parse_structured,
)
from segment_core.expression import MAX_NESTING
from segment_core.rules import Operand


def c(field, op, value=None):
    return Condition(field, op, value)


# --- what parses to what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (
            'industry in ("Healthcare", "Biotech") and employees >= 1000 and not country = "US"',
            AllOf(
                (
                    c("industry", Op.IN, ("Healthcare", "Biotech")),
                    c("employees", Op.GE, 1000),
                    Not(c("country", Op.EQ, "US")),
                )
            ),
        ),
        ("revenue between 1000 and 5000", c("revenue", Op.BETWEEN, (1000, 5000))),
        ("email is set", c("email", Op.IS_SET)),
        ("email is empty", c("email", Op.IS_EMPTY)),
        ('jobtitle contains "VP"', c("jobtitle", Op.CONTAINS, "VP")),
        ('company starts with "Acme"', c("company", Op.STARTS_WITH, "Acme")),
        ("last_activity within 30 days", c("last_activity", Op.WITHIN, 30)),
        ("last_activity within 1 day", c("last_activity", Op.WITHIN, 1)),
        ('closed before "2024-01-01"', c("closed", Op.BEFORE, "2024-01-01")),
        ('closed after "2024-01-01"', c("closed", Op.AFTER, "2024-01-01")),
        ('stage not in ("lost",)', c("stage", Op.NOT_IN, ("lost",))),
        ("score != -2.5e3", c("score", Op.NE, -2500.0)),
        ("a<1", c("a", Op.LT, 1)),
        ("a<=1", c("a", Op.LE, 1)),
        ("a>-1", c("a", Op.GT, -1)),
        ("a>=0.5", c("a", Op.GE, 0.5)),
        ("active = true", c("active", Op.EQ, True)),
        ("active != FALSE", c("active", Op.NE, False)),
        (r'note = "say \"hi\"\\n\n\t\r"', c("note", Op.EQ, 'say "hi"\\n\n\t\r')),
        ('note = "ünïcode ✓"', c("note", Op.EQ, "ünïcode ✓")),
        ("`annual revenue` > 10", c("annual revenue", Op.GT, 10)),
        (r"`odd \` name` is set", c("odd ` name", Op.IS_SET)),
        ("Account.Industry__c is set", c("Account.Industry__c", Op.IS_SET)),
        ("days = 3", c("days", Op.EQ, 3)),
        ("is is set", c("is", Op.IS_SET)),
        ("`and` = 1", c("and", Op.EQ, 1)),
        (
            'A = 1 AND b IS SET OR NOT c NOT IN ("x")',
            AnyOf((AllOf((c("A", Op.EQ, 1), c("b", Op.IS_SET))), Not(c("c", Op.NOT_IN, ("x",))))),
        ),
        (
            "a = 1 or b = 2 and c = 3",
            AnyOf((c("a", Op.EQ, 1), AllOf((c("b", Op.EQ, 2), c("c", Op.EQ, 3))))),
        ),
        (
            "(a = 1 or b = 2) and c = 3",
            AllOf((AnyOf((c("a", Op.EQ, 1), c("b", Op.EQ, 2))), c("c", Op.EQ, 3))),
        ),
        ("not a = 1 and b = 2", AllOf((Not(c("a", Op.EQ, 1)), c("b", Op.EQ, 2)))),
        ("not (a = 1 and b = 2)", Not(AllOf((c("a", Op.EQ, 1), c("b", Op.EQ, 2))))),
        (
            "a = 1 and (b = 2 and c = 3)",
            AllOf((c("a", Op.EQ, 1), AllOf((c("b", Op.EQ, 2), c("c", Op.EQ, 3))))),
        ),
        ("((a is set))", c("a", Op.IS_SET)),
        ("x between 1 and 2 and y = 3", AllOf((c("x", Op.BETWEEN, (1, 2)), c("y", Op.EQ, 3)))),
        (
            '\n  industry = "Retail"\n  and employees > 5\n',
            AllOf((c("industry", Op.EQ, "Retail"), c("employees", Op.GT, 5))),
        ),
    ],
)
def test_parse_expression(text, rule):
    assert parse_expression(text) == rule


def test_numbers_keep_their_kind():
    integer, floating = parse_expression("a = 7").value, parse_expression("a = 7.0").value
    assert type(integer) is int and type(floating) is float


# --- errors: position, what was expected, what was found --------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "industry in Healthcare",
            'expected a parenthesised list of values after "in", found the word Healthcare '
            "at column 13\n"
            "    industry in Healthcare\n"
            "                ^",
        ),
        (
            "industry in",
            'expected a parenthesised list of values after "in", found end of input at column 12\n'
            "    industry in\n"
            "               ^",
        ),
        (
            "",
            'expected a field name, "not" or "(", found end of input at column 1\n'
            "    \n"
            "    ^",
        ),
        (
            "industry = Healthcare",
            "expected a value (a string, a number, true or false), found the word Healthcare "
            "(strings need double quotes) at column 12\n"
            "    industry = Healthcare\n"
            "               ^",
        ),
        (
            "email is filled",
            'expected "set" or "empty", found the word filled at column 10\n'
            "    email is filled\n"
            "             ^",
        ),
        (
            "stage not within 3 days",
            'expected "in", found the word within at column 11\n'
            "    stage not within 3 days\n"
            "              ^",
        ),
        ("email ~ 3", 'unexpected character "~" at column 7\n' "    email ~ 3\n" "          ^"),
        (
            "email like 3",
            'expected an operator after field "email" (one of =, !=, <, <=, >, >=, between, in, '
            "not in, contains, starts with, is set, is empty, within, before, after), "
            "found the word like at column 7\n"
            "    email like 3\n"
            "          ^",
        ),
        (
            "(a = 1 or b = 2",
            'expected ")" to close the "(" at column 1, found end of input at column 16\n'
            "    (a = 1 or b = 2\n"
            "                   ^",
        ),
        (
            "a = 1 b = 2",
            'expected "and", "or" or end of input, found the word b at column 7\n'
            "    a = 1 b = 2\n"
            "          ^",
        ),
        (
            "a = 1)",
            'expected "and", "or" or end of input, found ")" at column 6\n'
            "    a = 1)\n"
            "         ^",
        ),
        (
            "and = 1",
            'expected a field name, "not" or "(", found the word and at column 1\n'
            "    and = 1\n"
            "    ^",
        ),
        (
            'name = "Acme',
            'unterminated string: no closing " at column 8\n' '    name = "Acme\n' "           ^",
        ),
        (
            "`name = 1",
            "unterminated field name: no closing ` at column 1\n" "    `name = 1\n" "    ^",
        ),
        (
            r'name = "a\qb"',
            r'unknown escape "\q" at column 10' "\n" r'    name = "a\qb"' "\n" "             ^",
        ),
        (
            "x within 1.5 days",
            '"within" needs a whole number of days (0 or more), got the number 1.5 at column 10\n'
            "    x within 1.5 days\n"
            "             ^",
        ),
        (
            "x within 3 weeks",
            'expected "days", found the word weeks at column 12\n'
            "    x within 3 weeks\n"
            "               ^",
        ),
        (
            "x within days",
            'expected a number of days after "within", found the word days at column 10\n'
            "    x within days\n"
            "             ^",
        ),
        ("x = 30days", '"30days" is not a number at column 5\n' "    x = 30days\n" "        ^"),
        (
            "x = 1e999",
            '"=" needs a value (a string, a number, true or false), '
            "got the out-of-range number inf at column 5\n"
            "    x = 1e999\n"
            "        ^",
        ),
        (
            "x between 1, 2",
            'expected "and" between the bounds of "between", found "," at column 12\n'
            "    x between 1, 2\n"
            "               ^",
        ),
        (
            "x in (1 2)",
            'expected "," or ")", found the number 2 at column 9\n'
            "    x in (1 2)\n"
            "            ^",
        ),
        (
            "x contains 5",
            'expected a string after "contains", found the number 5 at column 12\n'
            "    x contains 5\n"
            "               ^",
        ),
        ("`` = 1", "a field name cannot be empty at column 1\n" "    `` = 1\n" "    ^"),
        (
            "a = 1 and\n\tb <> 2",
            'expected a value (a string, a number, true or false), found ">" '
            "at line 2, column 5\n"
            "    \tb <> 2\n"
            "    \t   ^",
        ),
    ],
)
def test_errors_point_at_the_problem(text, message):
    with pytest.raises(RuleError) as caught:
        parse_expression(text)
    assert str(caught.value) == message
    assert caught.value.expression == text


def test_error_carries_its_position_and_can_be_attributed_to_a_segment():
    with pytest.raises(RuleError) as caught:
        parse_expression("industry in Healthcare")
    error = caught.value.with_segment("Enterprise")
    assert (error.position, error.segment) == (12, "Enterprise")
    assert error.expression == "industry in Healthcare"
    assert str(error).startswith('segment "Enterprise": expected a parenthesised list')


def test_nesting_is_bounded_so_deep_input_is_a_rule_error_not_a_crash():
    parse_expression("(" * MAX_NESTING + "a is set" + ")" * MAX_NESTING)
    with pytest.raises(RuleError, match=f"nests more than {MAX_NESTING} levels"):
        parse_expression("(" * (MAX_NESTING + 1) + "a is set" + ")" * (MAX_NESTING + 1))
    with pytest.raises(RuleError, match=f"nests more than {MAX_NESTING} levels"):
        parse_expression("not " * 1000 + "a is set")


# --- the two forms agree -----------------------------------------------------------------------

FIELD_TYPES = {
    "industry": "enumeration",
    "employees": "number",
    "country": "string",
    "tags": "multi_enumeration",
    "seen": "datetime",
    "active": "bool",
}
RAW = pd.DataFrame(
    {
        "industry": ["Healthcare", "Biotech", "Retail", None],
        "employees": ["5000", "20", "1200", None],
        "country": ["US", "DE", None, "FR"],
        "tags": ["vip", "new;vip", None, "old"],
        "seen": ["2024-05-30T00:00:00Z", "2023-01-01T00:00:00Z", None, "2024-05-31T23:00:00Z"],
        "active": ["true", "false", "true", None],
    },
    index=["c1", "c2", "c3", "c4"],
)
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)

PAIRS = [
    (
        {
            "all": [
                {"field": "industry", "op": "in", "value": ["Healthcare", "Biotech"]},
                {"field": "employees", "op": ">=", "value": 1000},
                {"not": {"field": "country", "op": "=", "value": "US"}},
            ]
        },
        'industry in ("Healthcare", "Biotech") and employees >= 1000 and not country = "US"',
        [],
    ),
    (
        {
            "any": [
                {"field": "tags", "op": "contains", "value": "VIP"},
                {
                    "all": [
                        {"field": "seen", "op": "within", "value": 7},
                        {"field": "active", "op": "=", "value": True},
                    ]
                },
            ]
        },
        'tags contains "VIP" or seen within 7 days and active = true',
        ["c1", "c2"],
    ),
    (
        {"field": "employees", "op": "between", "value": [20, 1200]},
        "employees between 20 and 1200",
        ["c2", "c3"],
    ),
    (
        {
            "not": {
                "any": [
                    {"field": "country", "op": "is empty"},
                    {"field": "seen", "op": "before", "value": "2024-01-01"},
                ]
            }
        },
        'not (country is empty or seen before "2024-01-01")',
        ["c1", "c4"],
    ),
]


@pytest.mark.parametrize(("structured", "text", "expected"), PAIRS)
def test_structured_and_string_forms_give_the_same_rule_and_mask(structured, text, expected):
    frame = coerce_frame(RAW, FIELD_TYPES)
    from_table, from_text = parse_structured(structured), parse_expression(text)
    assert from_table == from_text
    mask_from_table = evaluate(from_table, frame, NOW)
    mask_from_text = evaluate(from_text, frame, NOW)
    assert mask_from_table.equals(mask_from_text)
    assert mask_from_text[mask_from_text].index.tolist() == expected
    assert describe(from_table) == text


# --- properties --------------------------------------------------------------------------------

VOCABULARY = [
    "industry",
    "`a b`",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "between",
    "in",
    "not",
    "contains",
    "starts",
    "with",
    "is",
    "set",
    "empty",
    "within",
    "days",
    "day",
    "before",
    "after",
    "and",
    "or",
    "(",
    ")",
    ",",
    '"x"',
    '"',
    "\\",
    "`",
    "1",
    "-2.5",
    "1e5",
    "true",
    "FALSE",
    "-",
    "\n",
]


def _assert_only_rule_errors(text):
    try:
        parse_expression(text)
    except RuleError as error:
        assert 0 <= error.position <= len(text)
        str(error)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_nothing_but_rule_error(text):
    _assert_only_rule_errors(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=25).map(" ".join))
def test_near_miss_expressions_raise_nothing_but_rule_error(text):
    _assert_only_rule_errors(text)


field_names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}(\.[A-Za-z0-9_]{1,4})?", fullmatch=True),
    st.sampled_from(["and", "OR", "Not", "in", "is", "days", "true", "a b", "x`y", "ü", "1st"]),
    st.text(min_size=1, max_size=8),
)
scalars = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
OPERANDS = {
    Operand.NONE: st.none(),
    Operand.SCALAR: scalars,
    Operand.TEXT: st.text(max_size=8),
    Operand.PAIR: st.tuples(scalars, scalars),
    Operand.LIST: st.lists(scalars, min_size=1, max_size=3).map(tuple),
    Operand.DAYS: st.integers(min_value=0, max_value=10**6),
}
conditions = st.sampled_from(list(Op)).flatmap(
    lambda op: st.builds(Condition, field_names, st.just(op), OPERANDS[op.operand])
)
rules = st.recursive(
    conditions,
    lambda members: st.one_of(
        st.builds(Not, members),
        st.lists(members, min_size=2, max_size=3).map(lambda rules: AllOf(tuple(rules))),
        st.lists(members, min_size=2, max_size=3).map(lambda rules: AnyOf(tuple(rules))),
    ),
    max_leaves=8,
)


def to_structured(rule):
    """The structured-form table for ``rule``, written independently of the parser."""
    match rule:
        case Condition(field, op, value):
            table = {"field": field, "op": op.value}
            if value is not None:
                table["value"] = list(value) if isinstance(value, tuple) else value
            return table
        case Not(inner):
            return {"not": to_structured(inner)}
        case AllOf(members):
            return {"all": [to_structured(member) for member in members]}
        case AnyOf(members):
            return {"any": [to_structured(member) for member in members]}


@settings(max_examples=200, deadline=None)
@given(rules)
def test_both_forms_of_a_generated_rule_parse_back_to_it(rule):
    assert parse_expression(describe(rule)) == rule
    assert parse_structured(to_structured(rule)) == rule
