"""The data-quality audit: completeness and segments at risk, duplicates, format variants,
unreadable cells."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from segment_core import (
    AuditConfig,
    ClusterSegmenter,
    ConfigError,
    audit,
    coerce_frame,
    parse_audit,
    parse_segments,
)
from segment_core.audit import (
    CoercionIssue,
    FieldCompleteness,
    FormatVariants,
    SegmentRisk,
)
from segment_core.duplicates import DuplicateGroup, normalise_company, normalise_email

TYPES = {
    "email": "string",
    "firstname": "string",
    "lastname": "string",
    "company": "string",
    "industry": "enumeration",
    "employees": "number",
    "last_activity": "datetime",
}

RAW = pd.DataFrame(
    {
        "email": [
            " Jane.Doe+crm@Gmail.com",
            "janedoe@gmail.com",
            "bob@acme.com",
            "BOB@acme.com ",
            "x@y.com",
            None,
            "not-an-email",
            "z@y.com",
        ],
        "firstname": ["Jane", "Jane", "Bob", "Robert", "Ann", "ann", None, "Zed"],
        "lastname": ["Doe", "Doe", "Smith", "Smith", "Lee", "  Lee", None, "Q"],
        "company": ["Acme Inc.", "ACME", "Acme", "Acme", "Beta GmbH", "beta", None, "Gamma"],
        "industry": [
            "Healthcare",
            "healthcare",
            " Healthcare",
            "Retail",
            None,
            "Retail",
            "Software",
            "retail ",
        ],
        "employees": ["1000", "1200", None, "many", "50", None, "10", None],
        "last_activity": [
            "2024-05-01T00:00:00Z",
            None,
            None,
            None,
            "2024-01-01T00:00:00Z",
            None,
            "2024-02-02T00:00:00Z",
            "someday",
        ],
    },
    index=[f"c{i}" for i in range(1, 9)],
)

SEGMENTS = parse_segments(
    [
        {
            "name": "Enterprise Healthcare",
            "priority": 100,
            "rule": 'industry in ("Healthcare") and employees >= 1000',
        },
        {"name": "Dormant", "priority": 50, "rule": 'last_activity before "2024-03-01"'},
        {"name": "Retail", "priority": 10, "rule": 'industry = "Retail"'},
    ],
    TYPES,
)


@pytest.fixture(scope="module")
def report():
    frame = coerce_frame(RAW, TYPES)
    personas = ClusterSegmenter(["employees"], ["industry"])
    return audit(frame, SEGMENTS, clusters={"Personas": personas}, raw=RAW)


def test_completeness_counts_every_field_and_who_uses_it(report):
    assert report.contacts == 8
    by_field = {item.field: item for item in report.completeness}
    assert list(by_field) == list(TYPES)
    assert by_field["industry"] == FieldCompleteness(
        "industry", "enumeration", 1, 0.125, ("Enterprise Healthcare", "Retail", "Personas")
    )
    # "many" does not read as a number, so it counts as missing too.
    assert by_field["employees"] == FieldCompleteness(
        "employees", "number", 4, 0.5, ("Enterprise Healthcare", "Personas")
    )
    assert by_field["last_activity"] == FieldCompleteness(
        "last_activity", "datetime", 5, 0.625, ("Dormant",)
    )
    assert by_field["email"] == FieldCompleteness("email", "string", 1, 0.125, ())
    assert by_field["firstname"].missing == 1


def test_segments_at_risk_are_those_using_a_field_at_least_the_threshold_empty(report):
    assert report.segments_at_risk == (
        SegmentRisk("Enterprise Healthcare", "employees", 0.5),
        SegmentRisk("Dormant", "last_activity", 0.625),
        SegmentRisk("Personas", "employees", 0.5),
    )


def test_a_used_field_that_was_not_pulled_is_empty_for_everyone():
    frame = coerce_frame(RAW[["industry"]], {"industry": "enumeration"})
    segments = parse_segments([{"name": "Big", "priority": 1, "rule": "employees > 10"}])
    result = audit(frame, segments, config=AuditConfig(risk_threshold=0.6))
    assert result.completeness[-1] == FieldCompleteness("employees", None, 8, 1.0, ("Big",))
    assert result.segments_at_risk == (SegmentRisk("Big", "employees", 1.0),)
    assert result.duplicates == ()
    assert result.notes == (
        'duplicates by email skipped: no "email" field',
        'duplicates by name and company skipped: no "firstname", "lastname", "company" field',
    )


def test_duplicate_groups_by_normalised_email_and_by_name_and_company(report):
    assert report.duplicates == (
        DuplicateGroup("email", "bob@acme.com", ("c3", "c4")),
        DuplicateGroup("email", "janedoe@gmail.com", ("c1", "c2")),
        DuplicateGroup("name_company", "ann lee | beta", ("c5", "c6")),
        DuplicateGroup("name_company", "jane doe | acme", ("c1", "c2")),
    )
    assert report.duplicate_contacts == 6


def test_gmail_normalisation_is_optional():
    frame = coerce_frame(RAW, TYPES)
    result = audit(frame, config=AuditConfig(normalise_gmail=False, name_fields=("lastname",)))
    assert [(g.kind, g.key, g.contact_ids) for g in result.duplicates] == [
        ("email", "bob@acme.com", ("c3", "c4")),
        ("name_company", "doe | acme", ("c1", "c2")),
        ("name_company", "lee | beta", ("c5", "c6")),
        ("name_company", "smith | acme", ("c3", "c4")),
    ]


def test_normalisers():
    emails = pd.Series(
        [" A.B+x@GoogleMail.com", "a.b@example.com", "a@b@c", "", None, "ab@gmail.com"]
    )
    assert normalise_email(emails).tolist()[:2] == ["ab@gmail.com", "a.b@example.com"]
    assert normalise_email(emails).isna().tolist() == [False, False, True, True, True, False]
    assert normalise_email(emails, gmail=False).tolist()[0] == "a.b+x@googlemail.com"
    companies = pd.Series(["Acme, Inc.", "ACME Corp", "Co", "Foo & Bar Ltd", None])
    assert normalise_company(companies).tolist()[:4] == ["acme", "acme", "co", "foo bar"]


def test_format_variants_of_categorical_values(report):
    assert report.format_variants == (
        FormatVariants(
            "industry", "Healthcare", (("Healthcare", 1), ("healthcare", 1), (" Healthcare", 1))
        ),
        FormatVariants("industry", "Retail", (("Retail", 2), ("retail ", 1))),
    )


def test_without_the_raw_frame_only_case_variants_show():
    frame = coerce_frame(RAW, TYPES)  # coercion stripped " Healthcare" and "retail "
    result = audit(frame, SEGMENTS)
    assert result.format_variants == (
        FormatVariants("industry", "Healthcare", (("Healthcare", 2), ("healthcare", 1))),
        FormatVariants("industry", "Retail", (("Retail", 2), ("retail", 1))),
    )


def test_coercion_problems_by_field(report):
    assert report.coercion_problems == (
        CoercionIssue("employees", "number", 1, ("many",)),
        CoercionIssue("last_activity", "datetime", 1, ("someday",)),
    )


def test_report_serialises_and_summarises(report):
    document = json.loads(json.dumps(report.to_dict()))
    assert document["contacts"] == 8 and document["duplicate_contacts"] == 6
    assert document["format_variants"][1] == {
        "field": "industry",
        "canonical": "Retail",
        "variants": [{"value": "Retail", "contacts": 2}, {"value": "retail ", "contacts": 1}],
    }
    assert document["segments_at_risk"][0] == {
        "segment": "Enterprise Healthcare",
        "field": "employees",
        "missing_share": 0.5,
    }
    assert report.summary() == [
        "8 contacts audited",
        "employees: 4 of 8 empty (50%); puts at risk: Enterprise Healthcare, Personas",
        "last_activity: 5 of 8 empty (62%); puts at risk: Dormant",
        "4 duplicate groups (6 contacts): 2 by email, 2 by name and company",
        'industry: 3 spellings of "Healthcare" ("Healthcare" 1, "healthcare" 1, " Healthcare" 1)',
        'industry: 2 spellings of "Retail" ("Retail" 2, "retail " 1)',
        'employees: 1 value is not a number (e.g. "many")',
        'last_activity: 1 value is not a datetime such as "2024-05-01T12:34:56Z" (e.g. "someday")',
    ]
    assert not report.clean


def test_a_clean_frame_is_clean():
    raw = pd.DataFrame(
        {"industry": ["Retail", "Software"], "employees": ["1", "2"]}, index=["a", "b"]
    )
    frame = coerce_frame(raw, {"industry": "enumeration", "employees": "number"})
    result = audit(frame, config=AuditConfig(email_field=None))
    assert result.clean and result.summary()[0] == "2 contacts audited"


def test_parse_audit():
    assert parse_audit(None) == AuditConfig()
    assert parse_audit(
        {"risk_threshold": 0.4, "email_field": "Email", "name_fields": ["FirstName", "LastName"]}
    ) == AuditConfig(risk_threshold=0.4, email_field="Email", name_fields=("FirstName", "LastName"))
    with pytest.raises(ConfigError) as caught:
        parse_audit({"risk_treshold": 0.4})
    assert (
        str(caught.value) == 'audit: unknown key "risk_treshold" (did you mean "risk_threshold"?)'
    )
    with pytest.raises(ConfigError) as caught:
        parse_audit({"risk_threshold": 40})
    assert (
        str(caught.value)
        == "audit.risk_threshold: expected a number from 0 to 1, got the number 40"
    )
