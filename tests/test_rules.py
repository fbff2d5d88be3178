"""The rule AST, the structured form, coercion, validation and evaluation."""

from __future__ import annotations

import datetime as dt
import tomllib

import numpy as np
import pandas as pd
import pytest

from segment_core import (
    OPERATORS_BY_TYPE,
    AllOf,
    AnyOf,
    CoercionError,
    Condition,
    Not,
    Op,
    RuleError,
    check_rule,
    coerce_frame,
    coerce_literal,
    describe,
    evaluate,
    iter_conditions,
    parse_expression,
    parse_structured,
    referenced_fields,
)
from segment_core.rules import Operand

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
IDS = ["c1", "c2", "c3", "c4", "c5", "c6"]

FIELD_TYPES = {
    "name": "string",
    "industry": "enumeration",
    "tags": "multi_enumeration",
    "employees": "number",
    "active": "bool",
    "closed": "date",
    "seen": "datetime",
}

# c5 has no values at all; c6 has only blank or malformed text, which must read as missing too.
RAW = pd.DataFrame(
    {
        "name": ["Acme Corp", "acme", "Beta Labs", "  Gamma  ", None, ""],
        "industry": ["Healthcare", "Biotech", "Retail", "healthcare", None, " "],
        "tags": ["vip;new", "new", "VIP ; beta", "old;;", None, ""],
        "employees": ["1000", "50", "5000.5", "-3", None, "many"],
        "active": ["true", "false", "TRUE", "False", None, "yes"],
        "closed": ["2024-05-01", "2024-06-01", "2023-12-31", "1714521600000", None, "someday"],
        "seen": [
            "2024-05-31T12:00:00Z",
            "2024-06-01T09:30:00+02:00",
            "2024-06-02T00:00:00Z",
            "1717200000000",
            None,
            "2024-13-01",
        ],
    },
    index=pd.Index(IDS, name="contact_id"),
)


@pytest.fixture(scope="module")
def frame():
    return coerce_frame(RAW, FIELD_TYPES)


# --- the AST ---------------------------------------------------------------------------------


def test_condition_normalises_operator_spelling_and_lists():
    condition = Condition("industry", " Not  IN ", ["Retail", "Biotech"])
    assert condition.op is Op.NOT_IN
    assert condition.value == ("Retail", "Biotech")
    assert condition == Condition("industry", Op.NOT_IN, ("Retail", "Biotech"))
    assert hash(condition) == hash(Condition("industry", Op.NOT_IN, ("Retail", "Biotech")))


@pytest.mark.parametrize(
    ("op", "value", "message"),
    [
        ("=", None, '"=" needs a value (a string, a number, true or false), got nothing'),
        (
            "=",
            ["a"],
            '"=" needs a value (a string, a number, true or false), got a list of 1 value',
        ),
        (
            "<",
            float("nan"),
            '"<" needs a value (a string, a number, true or false), '
            "got the out-of-range number nan",
        ),
        ("between", [1], '"between" needs a [low, high] pair of values, got a list of 1 value'),
        ("in", [], '"in" needs a non-empty list of values, got a list of 0 values'),
        ("in", [["a"]], '"in" needs a non-empty list of values, got a list of 1 value'),
        ("contains", 5, '"contains" needs a string, got the number 5'),
        ("is set", "x", '"is set" needs no value, got the string "x"'),
        ("within", -1, '"within" needs a whole number of days (0 or more), got the number -1'),
        ("within", True, '"within" needs a whole number of days (0 or more), got the boolean true'),
        ("before", 20240101, '"before" needs a string, got the number 20240101'),
    ],
)
def test_condition_refuses_values_of_the_wrong_shape(op, value, message):
    with pytest.raises(RuleError) as caught:
        Condition("field", op, value)
    assert str(caught.value) == message


def test_condition_refuses_unknown_operators_with_suggestions():
    with pytest.raises(RuleError) as caught:
        Condition("industry", "starts_with", "A")
    assert caught.value.suggestions == ("starts with",)
    assert str(caught.value) == (
        'unknown operator "starts_with" (valid operators: =, !=, <, <=, >, >=, between, in, '
        "not in, contains, starts with, is set, is empty, within, before, after) "
        '(did you mean "starts with"?)'
    )


def test_condition_refuses_a_blank_field_and_groups_refuse_to_be_empty():
    with pytest.raises(RuleError, match="a field name must be a non-empty string, got nothing"):
        Condition(None, "is set")
    with pytest.raises(RuleError, match="AllOf needs at least one rule"):
        AllOf(())
    with pytest.raises(RuleError, match="AnyOf needs at least one rule"):
        AnyOf([])


def test_every_operator_has_an_operand_shape():
    assert {op.operand for op in Op} == set(Operand)


def test_referenced_fields_lists_each_field_once_in_order_of_use():
    rule = parse_expression('(b = 1 or a = 2) and not b is set and c in ("x") or a = 3')
    assert referenced_fields(rule) == ("b", "a", "c")


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (Condition("email", "is set"), "email is set"),
        (Condition("revenue", "between", [1000, 5000.5]), "revenue between 1000 and 5000.5"),
        (
            Condition("industry", "in", ['Health"care', "Bio\\tech"]),
            r'industry in ("Health\"care", "Bio\\tech")',
        ),
        (Condition("last_activity", "within", 1), "last_activity within 1 day"),
        (Condition("last_activity", "within", 30), "last_activity within 30 days"),
        (Condition("annual revenue", ">", -1.5), "`annual revenue` > -1.5"),
        (Condition("or", "=", True), "`or` = true"),
        (Condition("Account.Name", "starts with", "Acme"), 'Account.Name starts with "Acme"'),
        (Not(AllOf([Condition("a", "=", 1), Condition("b", "=", 2)])), "not (a = 1 and b = 2)"),
        (
            AnyOf(
                [AllOf([Condition("a", "=", 1), Condition("b", "=", 2)]), Condition("c", "=", 3)]
            ),
            "a = 1 and b = 2 or c = 3",
        ),
        (
            AllOf(
                [AnyOf([Condition("a", "=", 1), Condition("b", "=", 2)]), Condition("c", "=", 3)]
            ),
            "(a = 1 or b = 2) and c = 3",
        ),
        (
            AllOf(
                [Condition("a", "=", 1), AllOf([Condition("b", "=", 2), Condition("c", "=", 3)])]
            ),
            "a = 1 and (b = 2 and c = 3)",
        ),
        (AllOf([Condition("a", "=", 1), AnyOf([Condition("b", "=", 2)])]), "a = 1 and b = 2"),
        (Not(Not(Condition("a", "!=", "x"))), 'not not a != "x"'),
    ],
)
def test_describe_renders_readable_expression_text(rule, text):
    assert describe(rule) == text


# --- the structured form ---------------------------------------------------------------------


def test_structured_form_parses_every_combinator():
    raw = {
        "all": [
            {"field": "industry", "op": "in", "value": ["Healthcare", "Biotech"]},
            {
                "any": [
                    {"field": "employees", "op": ">=", "value": 1000},
                    {"field": "email", "op": "is set"},
                ]
            },
            {"not": {"field": "country", "op": "=", "value": "US"}},
        ]
    }
    assert parse_structured(raw) == AllOf(
        (
            Condition("industry", Op.IN, ("Healthcare", "Biotech")),
            AnyOf((Condition("employees", Op.GE, 1000), Condition("email", Op.IS_SET))),
            Not(Condition("country", Op.EQ, "US")),
        )
    )


def test_structured_group_of_one_is_its_member():
    single = {"any": [{"field": "a", "op": "=", "value": 1}]}
    assert parse_structured(single) == Condition("a", "=", 1)


def test_structured_form_reads_toml_native_dates_as_iso_text():
    config = tomllib.loads(
        'rule = {all = [{field = "closed", op = "before", value = 2024-01-01},'
        ' {field = "seen", op = "after", value = 2024-05-01T12:00:00Z}]}'
    )
    assert parse_structured(config["rule"]) == AllOf(
        (
            Condition("closed", Op.BEFORE, "2024-01-01"),
            Condition("seen", Op.AFTER, "2024-05-01T12:00:00+00:00"),
        )
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "industry = 1",
            "rule: expected a table such as {field = ..., op = ..., value = ...}, "
            '{all = [...]}, {any = [...]} or {not = {...}}, got the string "industry = 1"',
        ),
        (
            {"feild": "a", "op": "=", "value": 1},
            'rule: unknown key "feild" (did you mean "field"?)',
        ),
        (
            {
                "all": [],
            },
            "rule.all: expected a non-empty list of rules, got a list of 0 values",
        ),
        ({"any": {"field": "a"}}, "rule.any: expected a non-empty list of rules, got a dict"),
        (
            {"all": [{"field": "a", "op": "=", "value": 1}], "any": []},
            'rule: "all" cannot share a table with "any"',
        ),
        ({"field": "a", "op": "=", "not": {}}, 'rule: "not" cannot share a table with "field"'),
        (
            {"all": [{"field": "a", "op": "=", "value": 1}, {"field": "b", "value": 2}]},
            'rule.all[1]: missing key "op"',
        ),
        ({"not": {"op": "is set"}}, 'rule.not: missing key "field"'),
        ({"field": "", "op": "is set"}, 'rule.field: expected a field name, got the string ""'),
        ({"field": "a", "op": 3}, "rule.op: expected an operator, got the number 3"),
        (
            {"any": [{"field": "a", "op": "is set"}, {"field": "b", "op": "=~", "value": "x"}]},
            'rule.any[1].op: unknown operator "=~" (valid operators: =, !=, <, <=, >, >=, between, '
            "in, not in, contains, starts with, is set, is empty, within, before, after) "
            '(did you mean "="?)',
        ),
        (
            {"field": "a", "op": "is emty"},
            'rule.op: unknown operator "is emty" (valid operators: =, !=, <, <=, >, >=, between, '
            "in, not in, contains, starts with, is set, is empty, within, before, after) "
            '(did you mean "is empty" or "is set"?)',
        ),
        (
            {"field": "a", "op": "between", "value": [1, 2, 3]},
            'rule.value: "between" needs a [low, high] pair of values, got a list of 3 values',
        ),
        (
            {"field": "a", "op": "is set", "value": True},
            'rule.value: "is set" needs no value, got the boolean true',
        ),
        (
            {"field": "a", "op": "="},
            'rule.value: "=" needs a value (a string, a number, true or ' "false), got nothing",
        ),
    ],
)
def test_structured_errors_name_the_key_path(raw, message):
    with pytest.raises(RuleError) as caught:
        parse_structured(raw)
    assert str(caught.value) == message


# --- coercion --------------------------------------------------------------------------------


def test_coerce_frame_types_every_column(frame):
    data = frame.data
    assert data.index.tolist() == IDS
    assert {column: str(dtype) for column, dtype in data.dtypes.items()} == {
        "name": "str",
        "industry": "str",
        "tags": "str",
        "employees": "float64",
        "active": "boolean",
        "closed": "datetime64[us, UTC]",
        "seen": "datetime64[us, UTC]",
    }
    missing = [None] * 2
    assert data["name"].replace({np.nan: None}).tolist() == [
        "Acme Corp",
        "acme",
        "Beta Labs",
        "Gamma",
        *missing,
    ]
    assert data["industry"].replace({np.nan: None}).tolist() == [
        "Healthcare",
        "Biotech",
        "Retail",
        "healthcare",
        *missing,
    ]
    assert data["tags"].replace({np.nan: None}).tolist() == [
        ";vip;new;",
        ";new;",
        ";VIP;beta;",
        ";old;",
        *missing,
    ]
    np.testing.assert_array_equal(data["employees"], [1000, 50, 5000.5, -3, np.nan, np.nan])
    assert data["active"].tolist() == [True, False, True, False, pd.NA, pd.NA]
    utc = dt.UTC
    assert data["closed"].tolist()[:4] == [
        pd.Timestamp(2024, 5, 1, tz=utc),
        pd.Timestamp(2024, 6, 1, tz=utc),
        pd.Timestamp(2023, 12, 31, tz=utc),
        pd.Timestamp(2024, 5, 1, tz=utc),
    ]
    assert data["seen"].tolist()[:4] == [
        pd.Timestamp(2024, 5, 31, 12, tz=utc),
        pd.Timestamp(2024, 6, 1, 7, 30, tz=utc),
        pd.Timestamp(2024, 6, 2, tz=utc),
        pd.Timestamp(2024, 6, 1, tz=utc),
    ]
    assert data[["closed", "seen"]].iloc[4:].isna().all().all()


def test_coerce_frame_reports_bad_cells_instead_of_raising(frame):
    assert frame.problems.to_dict("records") == [
        {"contact_id": "c6", "field": "employees", "value": "many", "expected": "number"},
        {"contact_id": "c6", "field": "active", "value": "yes", "expected": "bool"},
        {"contact_id": "c6", "field": "closed", "value": "someday", "expected": "date"},
        {"contact_id": "c6", "field": "seen", "value": "2024-13-01", "expected": "datetime"},
    ]


def test_coerce_frame_truncates_dates_to_the_utc_day_and_converts_offsets():
    raw = pd.DataFrame(
        {
            "closed": ["2024-05-01T23:30:00-02:00", "20240501"],
            "seen": ["2024-05-01T12:34:56.789Z", "2024-05-01 10:00"],
        },
        index=["a", "b"],
    )
    data = coerce_frame(raw, {"closed": "date", "seen": "datetime"}).data
    utc = dt.UTC
    assert data["closed"].tolist() == [
        pd.Timestamp(2024, 5, 2, tz=utc),
        pd.Timestamp(2024, 5, 1, tz=utc),
    ]
    assert data["seen"].tolist() == [
        pd.Timestamp("2024-05-01T12:34:56.789Z"),
        pd.Timestamp(2024, 5, 1, 10, tz=utc),
    ]


def test_coerce_frame_handles_an_empty_frame():
    raw = pd.DataFrame({"seen": pd.Series([], dtype=object)}, index=pd.Index([], dtype=str))
    frame = coerce_frame(raw, {"seen": "datetime"})
    assert len(frame.data) == 0 and len(frame.problems) == 0
    assert evaluate(parse_expression("seen within 3 days"), frame, NOW).tolist() == []


@pytest.mark.parametrize(
    ("raw", "field_types", "message"),
    [
        (
            pd.DataFrame({"a": ["1"], "b": ["2"]}),
            {"a": "number"},
            r"no field type for column\(s\): b",
        ),
        (pd.DataFrame({"a": ["1"]}), {"a": "integer"}, "unknown field type"),
        (
            pd.DataFrame({"a": ["1", "2"]}, index=["x", "x"]),
            {"a": "number"},
            "contact ids must be unique",
        ),
    ],
)
def test_coerce_frame_refuses_calling_mistakes(raw, field_types, message):
    with pytest.raises(ValueError, match=message):
        coerce_frame(raw, field_types)


@pytest.mark.parametrize(
    ("value", "field_type", "expected"),
    [
        ("Acme ", "string", "Acme "),
        ("Retail", "enumeration", "Retail"),
        (" vip ", "multi_enumeration", "vip"),
        (1000, "number", 1000.0),
        (-2.5, "number", -2.5),
        (False, "bool", False),
        ("2024-05-01T10:00:00Z", "date", pd.Timestamp("2024-05-01", tz="UTC")),
        ("2024-05-01T10:00:00+02:00", "datetime", pd.Timestamp("2024-05-01T08:00", tz="UTC")),
        ("2024-05-01", "datetime", pd.Timestamp("2024-05-01", tz="UTC")),
    ],
)
def test_coerce_literal_reads_rule_values_as_their_field_type(value, field_type, expected):
    coerced = coerce_literal(value, field_type)
    assert coerced == expected and type(coerced) is type(expected)


@pytest.mark.parametrize(
    ("value", "field_type", "message"),
    [
        ("1000", "number", 'field "f": expected a number, got the string "1000"'),
        (True, "number", 'field "f": expected a number, got the boolean true'),
        ("true", "bool", 'field "f": expected true or false, got the string "true"'),
        (1, "bool", 'field "f": expected true or false, got the number 1'),
        (12345, "string", 'field "f": expected a string, got the number 12345'),
        (
            "a;b",
            "multi_enumeration",
            'field "f": expected a single option (a string without ";"), got the string "a;b"',
        ),
        (
            " ",
            "multi_enumeration",
            'field "f": expected a single option (a string without ";"), got the string " "',
        ),
        (
            "2024-02-30",
            "date",
            'field "f": expected a date such as "2024-05-01", ' 'got the string "2024-02-30"',
        ),
        (
            "yesterday",
            "datetime",
            'field "f": expected a datetime such as '
            '"2024-05-01T12:34:56Z", got the string "yesterday"',
        ),
    ],
)
def test_coerce_literal_raises_for_values_that_do_not_fit(value, field_type, message):
    with pytest.raises(CoercionError) as caught:
        coerce_literal(value, field_type, "f")
    assert str(caught.value) == message
    error = caught.value
    assert (error.field, error.value, error.expected) == ("f", value, field_type)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            'industy = "Retail"',
            'segment "Enterprise": unknown field "industy" ' '(did you mean "industry"?)',
        ),
        (
            "employes > 5 or nme is set",
            'segment "Enterprise": unknown field "employes" ' '(did you mean "employees"?)',
        ),
        ("zzz is set", 'segment "Enterprise": unknown field "zzz"'),
        (
            'name < "b"',
            'segment "Enterprise": "<" does not apply to string field "name" '
            "(use =, !=, in, not in, contains, starts with, is set, is empty)",
        ),
        (
            "employees within 3 days",
            'segment "Enterprise": "within" does not apply to number '
            'field "employees" (use =, !=, <, <=, >, >=, between, in, not in, is set, is empty)',
        ),
        (
            'seen = "2024-05-01"',
            'segment "Enterprise": "=" does not apply to datetime field '
            '"seen" (use <, <=, >, >=, between, is set, is empty, within, before, after)',
        ),
        (
            'tags starts with "v"',
            'segment "Enterprise": "starts with" does not apply to '
            'multi_enumeration field "tags" (use =, !=, in, not in, contains, is set, is empty)',
        ),
        (
            "active > false",
            'segment "Enterprise": ">" does not apply to bool field "active" '
            "(use =, !=, is set, is empty)",
        ),
        (
            'employees in (1, "2")',
            'segment "Enterprise": field "employees": expected a number, ' 'got the string "2"',
        ),
        (
            'closed after "last week"',
            'segment "Enterprise": field "closed": expected a date such '
            'as "2024-05-01", got the string "last week"',
        ),
        (
            "employees between 10 and 5",
            'segment "Enterprise": field "employees": between 10 and 5 '
            "matches nothing (low bound first)",
        ),
        (
            'closed between "2024-02-01" and "2024-01-01"',
            'segment "Enterprise": field "closed": '
            'between "2024-02-01" and "2024-01-01" matches nothing (low bound first)',
        ),
    ],
)
def test_check_rule_names_the_segment_and_the_problem(expression, message):
    with pytest.raises(RuleError) as caught:
        check_rule("Enterprise", parse_expression(expression), FIELD_TYPES)
    assert str(caught.value) == message
    assert caught.value.segment == "Enterprise"


def test_check_rule_accepts_a_rule_that_fits():
    rule = parse_expression(
        'industry in ("Retail") and employees between 5 and 5 and seen within 0 days'
    )
    assert check_rule("Enterprise", rule, FIELD_TYPES) is None


_SAMPLE_VALUES = {
    Operand.NONE: None,
    Operand.SCALAR: "x",
    Operand.TEXT: "x",
    Operand.PAIR: ("a", "b"),
    Operand.LIST: ("x",),
    Operand.DAYS: 3,
}


@pytest.mark.parametrize(
    ("field_type", "op"),
    [
        (field_type, op)
        for field_type, allowed in OPERATORS_BY_TYPE.items()
        for op in Op
        if op not in allowed
    ],
)
def test_check_rule_refuses_every_operator_that_does_not_apply(field_type, op):
    rule = Condition("f", op, _SAMPLE_VALUES[op.operand])
    with pytest.raises(RuleError, match=f'"{op}" does not apply to {field_type} field "f"'):
        check_rule("S", rule, {"f": field_type})


# --- evaluation ------------------------------------------------------------------------------

# (expression, contacts expected to match). Missing and malformed values (c5, c6) never match a
# comparison, not even != or not in; only `is empty` (and plain negation) picks them up.
CASES = [
    # string: exact equality, case-insensitive contains / starts with, stripped values
    ('name = "acme"', ["c2"]),
    ('name = "Gamma"', ["c4"]),
    ('name != "acme"', ["c1", "c3", "c4"]),
    ('name in ("Acme Corp", "Gamma")', ["c1", "c4"]),
    ('name not in ("Acme Corp")', ["c2", "c3", "c4"]),
    ('name contains "ACME"', ["c1", "c2"]),
    ('name starts with "be"', ["c3"]),
    ("name is set", ["c1", "c2", "c3", "c4"]),
    ("name is empty", ["c5", "c6"]),
    # enumeration
    ('industry = "Healthcare"', ["c1"]),
    ('industry != "Healthcare"', ["c2", "c3", "c4"]),
    ('industry in ("Biotech", "Retail")', ["c2", "c3"]),
    ('industry not in ("Biotech")', ["c1", "c3", "c4"]),
    ('industry contains "CARE"', ["c1", "c4"]),
    ('industry starts with "bio"', ["c2"]),
    ("industry is set", ["c1", "c2", "c3", "c4"]),
    ("industry is empty", ["c5", "c6"]),
    # multi_enumeration: = / in mean "has any of", contains means "has this option"
    ('tags = "vip"', ["c1"]),
    ('tags = "vi"', []),
    ('tags != "new"', ["c3", "c4"]),
    ('tags in ("beta", "old")', ["c3", "c4"]),
    ('tags not in ("vip", "new")', ["c3", "c4"]),
    ('tags contains "vip"', ["c1", "c3"]),
    ("tags is set", ["c1", "c2", "c3", "c4"]),
    ("tags is empty", ["c5", "c6"]),
    # number
    ("employees = 1000", ["c1"]),
    ("employees != 1000", ["c2", "c3", "c4"]),
    ("employees < 50", ["c4"]),
    ("employees <= 50", ["c2", "c4"]),
    ("employees > 1000", ["c3"]),
    ("employees >= 1000", ["c1", "c3"]),
    ("employees between 50 and 1000", ["c1", "c2"]),
    ("employees in (50, -3)", ["c2", "c4"]),
    ("employees not in (50)", ["c1", "c3", "c4"]),
    ("employees is set", ["c1", "c2", "c3", "c4"]),
    ("employees is empty", ["c5", "c6"]),
    # bool
    ("active = true", ["c1", "c3"]),
    ("active = false", ["c2", "c4"]),
    ("active != true", ["c2", "c4"]),
    ("active is set", ["c1", "c2", "c3", "c4"]),
    ("active is empty", ["c5", "c6"]),
    # date (now is 2024-06-01T12:00Z; c4 is the same day as c1, given as epoch milliseconds)
    ('closed = "2024-05-01"', ["c1", "c4"]),
    ('closed != "2024-05-01"', ["c2", "c3"]),
    ('closed < "2024-05-01"', ["c3"]),
    ('closed <= "2024-05-01"', ["c1", "c3", "c4"]),
    ('closed > "2024-05-01"', ["c2"]),
    ('closed >= "2024-05-01"', ["c1", "c2", "c4"]),
    ('closed between "2024-01-01" and "2024-05-01"', ["c1", "c4"]),
    ('closed before "2024-05-01"', ["c3"]),
    ('closed after "2024-05-01"', ["c2"]),
    ("closed within 31 days", ["c1", "c2", "c4"]),
    ("closed within 30 days", ["c2"]),
    ("closed within 0 days", ["c2"]),
    ("closed within 100000000 days", ["c1", "c2", "c3", "c4"]),
    ("closed is set", ["c1", "c2", "c3", "c4"]),
    ("closed is empty", ["c5", "c6"]),
    # datetime (c3 is in the future, so never "within")
    ('seen < "2024-06-01"', ["c1"]),
    ('seen <= "2024-06-01T00:00:00Z"', ["c1", "c4"]),
    ('seen > "2024-06-01"', ["c2", "c3"]),
    ('seen >= "2024-06-01"', ["c2", "c3", "c4"]),
    ('seen between "2024-05-31T12:00:00Z" and "2024-06-01T07:30:00Z"', ["c1", "c2", "c4"]),
    ('seen before "2024-06-01T07:30:00Z"', ["c1", "c4"]),
    ('seen after "2024-06-01T07:30:00Z"', ["c3"]),
    ("seen within 1 day", ["c1", "c2", "c4"]),
    ("seen within 0 days", []),
    ("seen is set", ["c1", "c2", "c3", "c4"]),
    ("seen is empty", ["c5", "c6"]),
    # combinations: not is plain negation, so it includes contacts missing the value
    ('not name = "acme"', ["c1", "c3", "c4", "c5", "c6"]),
    ('name = "acme" or employees > 1000', ["c2", "c3"]),
    ('active = true and (employees > 2000 or tags contains "VIP")', ["c1", "c3"]),
    ('not (active = true or tags = "new")', ["c4", "c5", "c6"]),
]


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_evaluate_matches_the_expected_contacts(frame, expression, expected):
    mask = evaluate(parse_expression(expression), frame, NOW)
    assert mask.dtype == bool
    assert mask.index.tolist() == IDS
    assert mask[mask].index.tolist() == expected


def test_cases_cover_every_operator_on_every_type():
    covered = {}
    for expression, _ in CASES:
        for condition in iter_conditions(parse_expression(expression)):
            covered.setdefault(FIELD_TYPES[condition.field], set()).add(condition.op)
    assert covered == {field_type: set(ops) for field_type, ops in OPERATORS_BY_TYPE.items()}


def test_evaluate_takes_now_in_any_timezone_but_refuses_a_naive_one(frame):
    rule = parse_expression("seen within 1 day")
    in_paris = NOW.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert evaluate(rule, frame, in_paris).equals(evaluate(rule, frame, NOW))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        evaluate(rule, frame, NOW.replace(tzinfo=None))


def test_evaluate_refuses_a_rule_that_does_not_fit_the_frame(frame):
    with pytest.raises(RuleError) as caught:
        evaluate(parse_expression("employees > 5 and country is set"), frame, NOW)
    assert str(caught.value) == 'unknown field "country"'
