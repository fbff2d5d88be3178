"""Validating segments after segmenting: empty, too small, too many, near duplicates, never
primary; warnings by default, errors in strict mode."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segment_core import (
    ConfigError,
    SegmentValidationError,
    ValidationConfig,
    parse_validation,
    validate_segments,
)
from segment_core import validation as validation_module
from segment_core.validation import Finding, pairwise_intersections

IDS = [f"c{i}" for i in range(10)]


def members(*positions: int) -> list[bool]:
    return [i in positions for i in range(10)]


# A: 6 contacts; B: A minus one (Jaccard 5/6); C: 1 contact; D: nobody; E: 4, apart from A.
MEMBERSHIPS = pd.DataFrame(
    {
        "A": members(0, 1, 2, 3, 4, 5),
        "B": members(0, 1, 2, 3, 4),
        "C": members(6),
        "D": members(),
        "E": members(6, 7, 8, 9),
    },
    index=IDS,
)
CONFIG = ValidationConfig(min_size=2, max_segments=4, max_overlap=0.8)


def test_each_finding_kind_as_a_warning():
    report = validate_segments(MEMBERSHIPS, CONFIG)
    assert report.sizes == {"A": 6, "B": 5, "C": 1, "D": 0, "E": 4}
    assert report.findings == (
        Finding(
            "too_many",
            "warning",
            ("A", "B", "C", "D", "E"),
            5.0,
            "5 segments, more than the maximum of 4",
        ),
        Finding(
            "too_small",
            "warning",
            ("C",),
            1.0,
            'segment "C" has 1 contact (10.0%), under the minimum of 2 contacts',
        ),
        Finding("empty", "warning", ("D",), 0.0, 'segment "D" is empty'),
        Finding(
            "near_duplicate",
            "warning",
            ("A", "B"),
            5 / 6,
            'segments "A" and "B" overlap almost entirely (Jaccard 0.83 >= 0.80)',
        ),
    )
    assert report.warnings == report.findings and report.errors == () and not report.ok


def test_min_share_and_thresholds_that_let_everything_pass():
    by_share = validate_segments(MEMBERSHIPS, ValidationConfig(min_share=0.45))
    # B is 50% (kept) and A and B overlap 0.83, under the default 0.9.
    assert [(f.kind, f.segments) for f in by_share.findings] == [
        ("too_small", ("C",)),
        ("empty", ("D",)),
        ("too_small", ("E",)),
    ]
    assert by_share.findings[2].message == (
        'segment "E" has 4 contacts (40.0%), under the minimum of 45.0% of contacts'
    )
    lenient = validate_segments(
        MEMBERSHIPS.drop(columns="D"), ValidationConfig(max_segments=4, max_overlap=0.9)
    )
    assert lenient.ok and lenient.contacts == 10


def test_strict_mode_raises_with_every_finding_as_an_error():
    strict = ValidationConfig(min_size=2, max_segments=4, max_overlap=0.8, strict=True)
    with pytest.raises(SegmentValidationError) as caught:
        validate_segments(MEMBERSHIPS, strict)
    report = caught.value.report
    assert [f.kind for f in report.errors] == ["too_many", "too_small", "empty", "near_duplicate"]
    assert report.warnings == ()
    assert str(caught.value).splitlines()[:2] == [
        "4 segment validation error(s):",
        "- 5 segments, more than the maximum of 4",
    ]
    assert validate_segments(MEMBERSHIPS[["A", "E"]], strict).ok  # nothing found: no raise


def test_never_primary_needs_the_assignments():
    assignments = pd.DataFrame({"primary": ["A"] * 6 + ["E"] * 4}, index=IDS)
    report = validate_segments(
        MEMBERSHIPS[["A", "B", "E"]], ValidationConfig(max_overlap=1.0), assignments
    )
    assert report.findings == (
        Finding(
            "never_primary",
            "warning",
            ("B",),
            5.0,
            'segment "B" has 5 members but is nobody\'s primary segment '
            "(higher-priority segments take them all)",
        ),
    )


def test_clusters_of_one_set_never_overlap():
    labels = np.arange(30) % 3
    clusters = pd.DataFrame({f"K{k}": labels == k for k in range(3)})
    assert validate_segments(clusters, ValidationConfig(max_overlap=0.01)).ok


def test_pairwise_intersections_are_exact_across_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    matrix = rng.random((1000, 6)) < 0.4
    monkeypatch.setattr(validation_module, "_BLOCK_ROWS", 64)
    naive = np.array(
        [[int((matrix[:, i] & matrix[:, j]).sum()) for j in range(6)] for i in range(6)]
    )
    np.testing.assert_array_equal(pairwise_intersections(matrix), naive)
    assert pairwise_intersections(np.zeros((0, 2), dtype=bool)).tolist() == [[0, 0], [0, 0]]


def test_report_to_dict():
    document = validate_segments(MEMBERSHIPS[["C", "D"]]).to_dict()
    assert document == {
        "contacts": 10,
        "sizes": {"C": 1, "D": 0},
        "findings": [
            {
                "kind": "empty",
                "severity": "warning",
                "segments": ["D"],
                "value": 0.0,
                "message": 'segment "D" is empty',
            }
        ],
    }


def test_parse_validation():
    assert parse_validation(None) == ValidationConfig()
    assert parse_validation(
        {"min_size": 50, "min_share": 0.01, "max_segments": 12, "max_overlap": 0.95, "strict": True}
    ) == ValidationConfig(
        min_size=50, min_share=0.01, max_segments=12, max_overlap=0.95, strict=True
    )
    for raw, message in [
        ({"min_size": -1}, "validation.min_size: expected a whole number >= 0, got the number -1"),
        ({"strict": "yes"}, 'validation.strict: expected true or false, got the string "yes"'),
        (
            {"max_overlap": 2},
            "validation.max_overlap: expected a number from 0 to 1, got the number 2",
        ),
        (
            {"max_segment": 3},
            'validation: unknown key "max_segment" (did you mean "max_segments"?)',
        ),
    ]:
        with pytest.raises(ConfigError) as caught:
            parse_validation(raw)
        assert str(caught.value) == message
