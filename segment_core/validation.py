"""Checking the segments after segmenting, against the criteria of a usable segmentation.

Segments should be Measurable, Accessible, Substantial, Differentiable and Actionable. The audit
(``audit``) covers measurability before segmenting; this module checks the outcome:

- ``empty``: a segment nobody is in;
- ``too_small``: a non-empty segment under ``min_size`` contacts or ``min_share`` of all
  contacts (not Substantial enough to act on);
- ``too_many``: more segments than ``max_segments`` (too many to be Actionable);
- ``near_duplicate``: two non-empty segments whose member sets overlap with a Jaccard index
  (|A and B| / |A or B|) of at least ``max_overlap`` (not Differentiable);
- ``never_primary``: with the resolved assignments, a non-empty segment that is the primary
  segment of nobody, because higher-priority segments take all its members.

Findings are warnings by default; in strict mode they are errors and ``validate_segments``
raises ``SegmentValidationError`` carrying the report. Everything is computed on the boolean
membership matrix: sizes are column sums and all pairwise intersections one matrix product
(``M.T @ M``, in float32 blocks small enough to count exactly), so a million contacts by twenty
segments takes well under a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from segment_core import config_readers as read

FindingKind = Literal["empty", "too_small", "too_many", "near_duplicate", "never_primary"]
Severity = Literal["warning", "error"]

_BLOCK_ROWS = 1 << 18  # float32 counts exactly up to 2**24, so a block never rounds


@dataclass(frozen=True)
class ValidationConfig:
    """The thresholds; ``min_size = 0``, ``min_share = 0`` and ``max_segments = None`` disable."""

    min_size: int = 0
    min_share: float = 0.0
    max_segments: int | None = None
    max_overlap: float = 0.9
    strict: bool = False


@dataclass(frozen=True)
class Finding:
    """One problem: its kind, the segments concerned, the measured ``value`` and a message."""

    kind: FindingKind
    severity: Severity
    segments: tuple[str, ...]
    value: float
    message: str


@dataclass(frozen=True)
class ValidationReport:
    """Every finding, plus each segment's size (members) and share of all contacts."""

    contacts: int
    sizes: Mapping[str, int]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    def kinds(self) -> list[FindingKind]:
        return [finding.kind for finding in self.findings]

    def to_dict(self) -> dict[str, object]:
        return {
            "contacts": self.contacts,
            "sizes": dict(self.sizes),
            "findings": [
                {**asdict(finding), "segments": list(finding.segments)} for finding in self.findings
            ],
        }


class SegmentValidationError(ValueError):
    """Strict validation found problems; ``report`` has them all."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = "\n".join(f"- {finding.message}" for finding in report.findings)
        super().__init__(f"{len(report.findings)} segment validation error(s):\n{lines}")


def parse_validation(
    raw: Mapping[str, object] | None, path: str = "validation"
) -> ValidationConfig:
    """The ``[validation]`` table as a ``ValidationConfig``; ``ConfigError`` names the bad key."""
    if raw is None:
        return ValidationConfig()
    read.table(raw, path, ("min_size", "min_share", "max_segments", "max_overlap", "strict"))
    values: dict[str, Any] = {}  # each read as its ValidationConfig field's type
    if "min_size" in raw:
        values["min_size"] = read.whole(
            raw["min_size"], read.join(path, "min_size"), minimum=0
        )
    if "min_share" in raw:
        values["min_share"] = read.number(
            raw["min_share"], read.join(path, "min_share"), 0.0, 1.0
        )
    if "max_segments" in raw:
        values["max_segments"] = read.whole(
            raw["max_segments"], read.join(path, "max_segments"), minimum=1
        )
    if "max_overlap" in raw:
        values["max_overlap"] = read.number(
            raw["max_overlap"], read.join(path, "max_overlap"), 0.0, 1.0
        )
    if "strict" in raw:
        values["strict"] = read.boolean(raw["strict"], read.join(path, "strict"))
    return ValidationConfig(**values)


def validate_segments(
    memberships: pd.DataFrame,
    config: ValidationConfig | None = None,
    assignments: pd.DataFrame | None = None,
) -> ValidationReport:
    """Check ``membership_table`` output (one bool column per segment, rule or cluster).

    ``assignments`` (``resolve`` output) enables the ``never_primary`` check. Returns the
    report; in strict mode raises ``SegmentValidationError`` if there is any finding.
    """
    config = config or ValidationConfig()
    severity: Severity = "error" if config.strict else "warning"
    names = [str(name) for name in memberships.columns]
    matrix = memberships.to_numpy(dtype=bool)
    contacts = matrix.shape[0]
    sizes = matrix.sum(axis=0).astype(np.int64)
    findings: list[Finding] = []

    if config.max_segments is not None and len(names) > config.max_segments:
        message = f"{len(names)} segments, more than the maximum of {config.max_segments}"
        findings.append(Finding("too_many", severity, tuple(names), float(len(names)), message))

    for name, size in zip(names, sizes.tolist(), strict=False):
        share = size / contacts if contacts else 0.0
        if size == 0:
            findings.append(Finding("empty", severity, (name,), 0.0, f'segment "{name}" is empty'))
        elif size < config.min_size or share < config.min_share:
            noun = "contact" if size == 1 else "contacts"
            message = (
                f'segment "{name}" has {size:,} {noun} ({share:.1%}), under the minimum of '
                f"{_minimum(config)}"
            )
            findings.append(Finding("too_small", severity, (name,), float(size), message))

    intersections = pairwise_intersections(matrix)
    union = sizes[:, None] + sizes[None, :] - intersections
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, intersections / np.maximum(union, 1), 0.0)
    first, second = np.nonzero(np.triu(jaccard >= config.max_overlap, k=1))
    for i, j in zip(first.tolist(), second.tolist(), strict=False):
        if sizes[i] == 0 or sizes[j] == 0:
            continue
        value = float(jaccard[i, j])
        message = (
            f'segments "{names[i]}" and "{names[j]}" overlap almost entirely '
            f"(Jaccard {value:.2f} >= {config.max_overlap:.2f})"
        )
        findings.append(Finding("near_duplicate", severity, (names[i], names[j]), value, message))

    if assignments is not None:
        primaries = assignments["primary"].value_counts()
        for name, size in zip(names, sizes.tolist(), strict=False):
            if size > 0 and int(primaries.get(name, 0)) == 0:
                message = (
                    f'segment "{name}" has {size:,} members but is nobody\'s primary segment '
                    "(higher-priority segments take them all)"
                )
                findings.append(Finding("never_primary", severity, (name,), float(size), message))

    sized = dict(zip(names, sizes.tolist(), strict=False))
    report = ValidationReport(contacts, sized, tuple(findings))
    if config.strict and findings:
        raise SegmentValidationError(report)
    return report


def pairwise_intersections(matrix: np.ndarray) -> np.ndarray:
    """``counts[i, j]`` = contacts in both segment i and j (the diagonal: segment sizes).

    A float32 matrix product per block of rows (BLAS speed, exact since a block has fewer than
    2**24 rows), summed in int64.
    """
    segments = matrix.shape[1]
    counts = np.zeros((segments, segments), dtype=np.int64)
    for start in range(0, matrix.shape[0], _BLOCK_ROWS):
        block = matrix[start : start + _BLOCK_ROWS].astype(np.float32)
        counts += np.rint(block.T @ block).astype(np.int64)
    return counts


def _minimum(config: ValidationConfig) -> str:
    parts = []
    if config.min_size:
        parts.append(f"{config.min_size:,} contacts")
    if config.min_share:
        parts.append(f"{config.min_share:.1%} of contacts")
    return " and ".join(parts)
