"""Segments as configured, membership, and resolution to a primary segment with a reason."""

from __future__ import annotations

import datetime as dt
import tomllib

import numpy as np
import pandas as pd
import pytest

from segment_core import (
    CoercedFrame,
    Condition,
    Op,
    RuleError,
    RuleSegment,
    coerce_frame,
    membership_table,
    parse_expression,
    parse_segments,
    resolve,
)

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
FIELD_TYPES = {
    "industry": "enumeration",
    "employees": "number",
    "last_activity": "datetime",
    "email": "string",
}

CONFIG = tomllib.loads("""
    [[segments]]
    name = "Enterprise Healthcare"
    priority = 100
    rule = 'industry in ("Healthcare", "Biotech") and employees >= 1000'
    description = "Big accounts in life sciences"

    [[segments]]
    name = "At risk"
    priority = 50
    rule = {field = "last_activity", op = "before", value = 2024-01-01}

    [[segments]]
    name = "Reachable"
    priority = 50
    rule = {all = [
        {field = "email", op = "is set"},
        {not = {field = "email", op = "contains", value = "noreply"}},
    ]}
    """)

RAW = pd.DataFrame(
    {
        "industry": ["Healthcare", "Biotech", "Retail", None, "Healthcare"],
        "employees": ["5000", "1000", "9000", None, "10"],
        "last_activity": [
            "2023-06-01T00:00:00Z",
            "2024-05-01T00:00:00Z",
            None,
            "2023-12-31T23:59:59Z",
            "2024-05-20T00:00:00Z",
        ],
        "email": ["a@x.com", None, "b@y.com", "c@z.com", "noreply@x.com"],
    },
    index=["c1", "c2", "c3", "c4", "c5"],
)


@pytest.fixture(scope="module")
def segments():
    return parse_segments(CONFIG["segments"], FIELD_TYPES)


@pytest.fixture(scope="module")
def frame():
    return coerce_frame(RAW, FIELD_TYPES)


# --- parsing the configured segments -------------------------------------------------------------


def test_parse_segments_keeps_config_order_and_reads_both_rule_forms(segments):
    assert [(s.name, s.priority, s.description) for s in segments] == [
        ("Enterprise Healthcare", 100, "Big accounts in life sciences"),
        ("At risk", 50, ""),
        ("Reachable", 50, ""),
    ]
    assert segments[0].rule == parse_expression(
        'industry in ("Healthcare", "Biotech") and employees >= 1000'
    )
    assert segments[1].rule == Condition("last_activity", Op.BEFORE, "2024-01-01")
    assert segments[2].rule == parse_expression('email is set and not email contains "noreply"')


def _segment(**overrides):
    item = {"name": "Enterprise", "priority": 1, "rule": "email is set"}
    return {key: value for key, value in {**item, **overrides}.items() if value is not None}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([_segment(), _segment(name=None)], 'segments[1]: missing key "name"'),
        ([_segment(name="  ")], 'segments[0].name: expected a name, got the string "  "'),
        (
            ["Enterprise"],
            "segments[0]: expected a table with name, priority and rule, "
            'got the string "Enterprise"',
        ),
        ([_segment(priority=None)], 'segment "Enterprise": missing key "priority"'),
        ([_segment(rule=None)], 'segment "Enterprise": missing key "rule"'),
        (
            [_segment(priorty=3)],
            'segment "Enterprise": unknown key "priorty" ' '(did you mean "priority"?)',
        ),
        (
            [_segment(priority="high")],
            'segment "Enterprise": priority: expected a whole number, ' 'got the string "high"',
        ),
        (
            [_segment(priority=True)],
            'segment "Enterprise": priority: expected a whole number, ' "got the boolean true",
        ),
        (
            [_segment(description=3)],
            'segment "Enterprise": description: expected a string, ' "got the number 3",
        ),
        (
            [_segment(), _segment(priority=2)],
            'segment "Enterprise": duplicate name ' "(segments[0] and segments[1])",
        ),
        (
            [_segment(rule=["email is set"])],
            'segment "Enterprise": rule: expected an expression '
            "string or a table, got a list of 1 value",
        ),
        (
            [
                _segment(
                    rule={
                        "all": [
                            {"field": "email", "op": "is set"},
                            {"field": "email", "op": "like", "value": "x"},
                        ]
                    }
                )
            ],
            'segment "Enterprise": rule.all[1].op: unknown operator "like" (valid operators: =, !=, '
            "<, <=, >, >=, between, in, not in, contains, starts with, is set, is empty, within, "
            "before, after)",
        ),
        (
            [_segment(rule="industry in Healthcare")],
            'segment "Enterprise": expected a parenthesised list of values after "in", found the '
            "word Healthcare at column 13\n"
            "    industry in Healthcare\n"
            "                ^",
        ),
        (
            [_segment(rule='industy = "Retail"')],
            'segment "Enterprise": unknown field "industy" (did you mean "industry"?)',
        ),
        (
            [_segment(rule="employees >= '1000'")],
            'segment "Enterprise": unexpected character "\'" at column 14\n'
            "    employees >= '1000'\n"
            "                 ^",
        ),
        (
            [_segment(rule='employees >= "1000"')],
            'segment "Enterprise": field "employees": expected a number, got the string "1000"',
        ),
    ],
)
def test_parse_segments_errors_name_the_segment_and_the_key(raw, message):
    with pytest.raises(RuleError) as caught:
        parse_segments(raw, FIELD_TYPES)
    assert str(caught.value) == message


def test_parse_segments_checks_fields_only_when_given_their_types():
    raw = [_segment(rule='industy = "Retail"')]
    assert parse_segments(raw)[0].rule == Condition("industy", Op.EQ, "Retail")


# --- membership and resolution -------------------------------------------------------------------


def test_membership_table_has_one_bool_column_per_segment_in_config_order(segments, frame):
    memberships = membership_table(segments, frame, NOW)
    expected = pd.DataFrame(
        {
            "Enterprise Healthcare": [True, True, False, False, False],
            "At risk": [True, False, False, True, False],
            "Reachable": [True, False, True, True, False],
        },
        index=RAW.index,
    )
    pd.testing.assert_frame_equal(memberships, expected)


def test_membership_table_names_the_segment_whose_rule_does_not_fit(frame):
    segments = [
        RuleSegment("Fine", 1, parse_expression("email is set")),
        RuleSegment("Broken", 1, parse_expression("country is set")),
    ]
    with pytest.raises(RuleError) as caught:
        membership_table(segments, frame, NOW)
    assert str(caught.value) == 'segment "Broken": unknown field "country"'


def test_resolve_picks_the_highest_priority_and_breaks_ties_by_config_order(segments, frame):
    assignments = resolve(membership_table(segments, frame, NOW), segments)
    enterprise = (
        'Enterprise Healthcare: industry in ("Healthcare", "Biotech") and employees >= 1000'
    )
    expected = pd.DataFrame(
        {
            "primary": pd.Series(
                ["Enterprise Healthcare", "Enterprise Healthcare", "Reachable", "At risk", None],
                index=RAW.index,
                dtype=object,
            ),
            "segments": pd.Series(
                [
                    ("Enterprise Healthcare", "At risk", "Reachable"),
                    ("Enterprise Healthcare",),
                    ("Reachable",),
                    ("At risk", "Reachable"),
                    (),
                ],
                index=RAW.index,
                dtype=object,
            ),
            "reason": pd.Series(
                [
                    f"{enterprise}; also in At risk, Reachable",
                    enterprise,
                    'Reachable: email is set and not email contains "noreply"',
                    'At risk: last_activity before "2024-01-01"; also in Reachable',
                    "no segment matched",
                ],
                index=RAW.index,
                dtype="str",
            ),
        }
    )
    pd.testing.assert_frame_equal(assignments, expected)


def test_resolve_tie_follows_config_order_not_name_or_column_order(segments):
    at_risk, reachable = segments[1], segments[2]
    memberships = pd.DataFrame({"Reachable": [True], "At risk": [True]}, index=["c1"])
    assert resolve(memberships, [at_risk, reachable])["primary"].tolist() == ["At risk"]
    assert resolve(memberships, [reachable, at_risk])["primary"].tolist() == ["Reachable"]
    assert resolve(memberships, [reachable, at_risk])["segments"].tolist() == [
        ("Reachable", "At risk")
    ]


def test_resolve_gives_unmatched_contacts_the_fallback(segments):
    memberships = pd.DataFrame(
        {s.name: [False, s.name == "At risk"] for s in segments}, index=["c1", "c2"]
    )
    assignments = resolve(memberships, segments, fallback="Other")
    assert assignments["primary"].tolist() == ["Other", "At risk"]
    assert assignments["segments"].tolist() == [(), ("At risk",)]
    assert assignments["reason"].tolist()[0] == "no segment matched"


def test_resolve_with_no_segments_or_no_contacts():
    no_segments = resolve(pd.DataFrame(index=["c1", "c2"]), [], fallback="Other")
    assert no_segments.to_dict("list") == {
        "primary": ["Other", "Other"],
        "segments": [(), ()],
        "reason": ["no segment matched"] * 2,
    }
    segment = RuleSegment("A", 1, parse_expression("email is set"))
    no_contacts = resolve(pd.DataFrame({"A": pd.Series([], dtype=bool)}), [segment])
    assert list(no_contacts.columns) == ["primary", "segments", "reason"] and len(no_contacts) == 0


def test_resolve_refuses_duplicate_segment_names():
    segment = RuleSegment("A", 1, parse_expression("email is set"))
    with pytest.raises(ValueError, match="segment names must be unique"):
        resolve(pd.DataFrame({"A": [True]}), [segment, segment])


# --- scale ---------------------------------------------------------------------------------------


def test_many_contacts_and_tied_priorities_resolve_like_a_per_row_reference():
    contacts, rng = 50_000, np.random.default_rng(7)
    ids = pd.Index(np.arange(contacts).astype(str))
    frame = CoercedFrame(
        data=pd.DataFrame({"score": rng.integers(0, 1000, contacts).astype("float64")}, index=ids),
        field_types={"score": "number"},
        problems=pd.DataFrame(),
    )
    # Priorities repeat so ties are exercised; segment i matches scores in [100 i, 100 i + 300).
    segments = [
        RuleSegment(f"S{i}", i % 3, parse_expression(f"score between {low} and {low + 299}"))
        for i, low in enumerate(range(0, 1000, 100))
    ]

    memberships = membership_table(segments, frame, NOW)
    assignments = resolve(memberships, segments, fallback="none")

    sample = memberships.sample(2_000, random_state=1)
    ranked = sorted(segments, key=lambda s: -s.priority)
    for contact_id, row in sample.iterrows():
        matched = tuple(s.name for s in ranked if row[s.name])
        assert assignments.at[contact_id, "segments"] == matched
        assert assignments.at[contact_id, "primary"] == (matched[0] if matched else "none")
