"""The data-quality audit to run before segmenting: is the data good enough to segment on?

Segments are only Measurable when the fields they read are filled in, so the audit reports:

- completeness: for every field of the frame and every field a rule or cluster set uses, how
  many contacts have no value (a used field absent from the frame counts as empty for all), and
  which segments a gap puts at risk: a segment or cluster set using a field that is at least
  ``risk_threshold`` empty (every field a rule references counts, whatever its operator);
- duplicate contacts (see ``duplicates``): groups sharing a normalised email (trimmed,
  lowercased; for Gmail addresses, optionally, dots and ``+tags`` dropped from the local part
  and ``googlemail.com`` read as ``gmail.com``), and groups sharing a normalised name and
  company (case, spacing and punctuation ignored; a trailing legal form such as "Inc." or
  "GmbH" dropped from the company);
- inconsistent formatting in categorical fields: values that differ only by case or spacing
  ("Healthcare", "healthcare", " Healthcare"). Coercion strips surrounding spaces, so pass the
  ``raw`` frame to see those too; the variant most used is named as the canonical one;
- the cells that failed coercion (``CoercedFrame.problems``), by field, with examples.

The checks that need fields the frame does not have (no email field, say) are skipped and
named in ``AuditReport.notes``. Everything is vectorised over distinct values, so auditing a
million contacts takes seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from segment_core import config_readers as read
from segment_core.coerce import CoercedFrame
from segment_core.duplicates import DuplicateGroup, find_duplicates
from segment_core.errors import ConfigError
from segment_core.fields import EXPECTED_VALUE, FieldType
from segment_core.rules import referenced_fields
from segment_core.segments import RuleSegment


@runtime_checkable
class ClusterFeatures(Protocol):
    """What the audit reads of a cluster set: its feature fields (a ``ClusterSegmenter``)."""

    @property
    def numeric(self) -> Sequence[str]: ...

    @property
    def categorical(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class AuditConfig:
    """What the audit looks at. The field names default to HubSpot's contact properties."""

    risk_threshold: float = 0.2
    email_field: str | None = "email"
    name_fields: tuple[str, ...] = ("firstname", "lastname")
    company_field: str | None = "company"
    normalise_gmail: bool = True
    categorical_fields: tuple[str, ...] | None = None
    max_examples: int = 3
    future_days: int = 366
    """Dates further ahead than this are flagged: a last purchase next decade is a typo (or an
    epoch in the wrong unit), and every recency rule reads it as "just now"."""


@dataclass(frozen=True)
class FieldCompleteness:
    """How many contacts have no value in ``field``; ``field_type`` is None if it is not pulled."""

    field: str
    field_type: FieldType | None
    missing: int
    missing_share: float
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class SegmentRisk:
    """A segment (or cluster set) that uses a field at least ``risk_threshold`` empty."""

    segment: str
    field: str
    missing_share: float


@dataclass(frozen=True)
class FormatVariants:
    """Spellings of one value of a categorical field that differ only by case or spacing."""

    field: str
    canonical: str
    variants: tuple[tuple[str, int], ...]  # (value as received, contacts), most used first


@dataclass(frozen=True)
class CoercionIssue:
    """Cells of ``field`` whose text is not a valid ``expected`` (they read as missing)."""

    field: str
    expected: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class FutureDates:
    """Cells of date field ``field`` more than ``AuditConfig.future_days`` after the run."""

    field: str
    count: int
    latest: str


@dataclass(frozen=True)
class AuditReport:
    """The audit's findings; ``to_dict`` for JSON, ``summary`` for people."""

    contacts: int
    completeness: tuple[FieldCompleteness, ...]
    segments_at_risk: tuple[SegmentRisk, ...]
    duplicates: tuple[DuplicateGroup, ...]
    format_variants: tuple[FormatVariants, ...]
    coercion_problems: tuple[CoercionIssue, ...]
    risk_threshold: float
    notes: tuple[str, ...] = ()
    future_dates: tuple[FutureDates, ...] = ()

    @property
    def duplicate_contacts(self) -> int:
        """Contacts that are in at least one duplicate group."""
        return len({cid for group in self.duplicates for cid in group.contact_ids})

    @property
    def clean(self) -> bool:
        """Nothing at risk, no duplicates, no format variants, no unreadable cells."""
        return not (
            self.segments_at_risk
            or self.duplicates
            or self.format_variants
            or self.coercion_problems
            or self.future_dates
        )

    def to_dict(self) -> dict[str, object]:
        document = asdict(self)
        document["duplicate_contacts"] = self.duplicate_contacts
        for item in document["format_variants"]:
            item["variants"] = [{"value": v, "contacts": n} for v, n in item["variants"]]
        return {key: _lists(value) for key, value in document.items()}

    def summary(self) -> list[str]:
        """One line per finding, for the run summary."""
        lines = [f"{self.contacts:,} contacts audited"]
        risks: dict[str, list[str]] = {}
        for risk in self.segments_at_risk:
            risks.setdefault(risk.field, []).append(risk.segment)
        for item in self.completeness:
            if item.field in risks:
                where = (
                    "not pulled"
                    if item.field_type is None
                    else (f"{item.missing:,} of {self.contacts:,} empty ({item.missing_share:.0%})")
                )
                lines.append(f"{item.field}: {where}; puts at risk: {', '.join(risks[item.field])}")
        if self.duplicates:
            kinds = {"email": 0, "name_company": 0}
            for group in self.duplicates:
                kinds[group.kind] += 1
            lines.append(
                f"{len(self.duplicates):,} duplicate groups "
                f"({self.duplicate_contacts:,} contacts): "
                f"{kinds['email']:,} by email, {kinds['name_company']:,} by name and company"
            )
        for variants in self.format_variants:
            spellings = ", ".join(f'"{value}" {count:,}' for value, count in variants.variants)
            lines.append(
                f"{variants.field}: {len(variants.variants)} spellings of "
                f'"{variants.canonical}" ({spellings})'
            )
        for issue in self.coercion_problems:
            examples = ", ".join(f'"{value}"' for value in issue.examples)
            what = EXPECTED_VALUE.get(issue.expected, issue.expected)
            verb = "value is" if issue.count == 1 else "values are"
            lines.append(f"{issue.field}: {issue.count:,} {verb} not {what} (e.g. {examples})")
        for dates in self.future_dates:
            verb = "date is" if dates.count == 1 else "dates are"
            lines.append(
                f"{dates.field}: {dates.count:,} {verb} far in the future (latest {dates.latest})"
            )
        lines.extend(self.notes)
        return lines


def parse_audit(raw: Mapping[str, object] | None, path: str = "audit") -> AuditConfig:
    """The ``[audit]`` table as an ``AuditConfig``; ``ConfigError`` names the bad key."""
    if raw is None:
        return AuditConfig()
    keys = (
        "risk_threshold",
        "email_field",
        "name_fields",
        "company_field",
        "normalise_gmail",
        "categorical_fields",
        "max_examples",
        "future_days",
    )
    read.table(raw, path, keys)
    values: dict[str, Any] = {}  # each read as its AuditConfig field's type
    if "risk_threshold" in raw:
        values["risk_threshold"] = read.number(
            raw["risk_threshold"], read.join(path, "risk_threshold"), 0.0, 1.0
        )
    for key in ("email_field", "company_field"):
        if key in raw:
            values[key] = read.text(raw[key], read.join(path, key), "a field name")
    for key in ("name_fields", "categorical_fields"):
        if key in raw:
            values[key] = read.names(raw[key], read.join(path, key))
    if "normalise_gmail" in raw:
        values["normalise_gmail"] = read.boolean(
            raw["normalise_gmail"], read.join(path, "normalise_gmail")
        )
    for key in ("max_examples", "future_days"):
        if key in raw:
            values[key] = read.whole(raw[key], read.join(path, key), minimum=1)
    if values.get("name_fields") == ():
        raise ConfigError(
            "expected at least one field name", path=read.join(path, "name_fields")
        )
    return AuditConfig(**values)


def audit(
    frame: CoercedFrame,
    segments: Sequence[RuleSegment] = (),
    *,
    clusters: Mapping[str, Sequence[str] | ClusterFeatures] | None = None,
    raw: pd.DataFrame | None = None,
    config: AuditConfig | None = None,
    now: datetime | None = None,
) -> AuditReport:
    """Audit ``frame`` for the ``segments`` and cluster sets about to run on it.

    ``clusters`` maps a cluster set's name to its feature fields, or to its (possibly unfitted)
    ``ClusterSegmenter``. ``raw`` is the frame as pulled (text), to see spacing variants.
    ``now`` (the run's time) lets the audit flag dates far in the future.
    Audit the frame after ``add_features`` if rules use derived features.
    """
    config = config or AuditConfig()
    data = frame.data
    contacts = len(data)
    uses = _uses(segments, clusters or {})
    used_by: dict[str, list[str]] = {}
    for user, fields in uses.items():
        for name in fields:
            used_by.setdefault(name, []).append(user)
    missing_counts = data.isna().sum()
    completeness = []
    for name in [*data.columns, *(f for f in used_by if f not in data.columns)]:
        present = name in data.columns
        missing = int(missing_counts[name]) if present else contacts
        completeness.append(
            FieldCompleteness(
                field=name,
                field_type=frame.field_types.get(name) if present else None,
                missing=missing,
                missing_share=missing / contacts if contacts else 0.0,
                used_by=tuple(used_by.get(name, ())),
            )
        )
    share = {item.field: item.missing_share for item in completeness}
    risks = tuple(
        SegmentRisk(user, name, share[name])
        for user, fields in uses.items()
        for name in fields
        if contacts and share[name] >= config.risk_threshold
    )
    notes: list[str] = []
    duplicates = find_duplicates(
        data,
        email_field=config.email_field,
        name_fields=config.name_fields,
        company_field=config.company_field,
        gmail=config.normalise_gmail,
        notes=notes,
    )
    categorical = config.categorical_fields
    if categorical is None:
        categorical = tuple(
            name
            for name, field_type in frame.field_types.items()
            if field_type == "enumeration" or (field_type == "string" and name in used_by)
        )
    variants = _format_variants(data, raw, categorical, notes)
    return AuditReport(
        contacts=contacts,
        completeness=tuple(completeness),
        segments_at_risk=risks,
        duplicates=duplicates,
        format_variants=variants,
        coercion_problems=_coercion_issues(frame.problems, config.max_examples),
        risk_threshold=config.risk_threshold,
        notes=tuple(notes),
        future_dates=_future_dates(frame, now, config.future_days) if now else (),
    )


def _uses(
    segments: Sequence[RuleSegment], clusters: Mapping[str, Sequence[str] | ClusterFeatures]
) -> dict[str, tuple[str, ...]]:
    """Each segment's and cluster set's fields, in config order."""
    uses = {segment.name: referenced_fields(segment.rule) for segment in segments}
    for name, features in clusters.items():
        if isinstance(features, ClusterFeatures):
            features = (*features.numeric, *features.categorical)
        uses[name] = tuple(dict.fromkeys(features))
    return uses


# --- formatting ----------------------------------------------------------------------------


def _format_variants(
    data: pd.DataFrame, raw: pd.DataFrame | None, fields: Sequence[str], notes: list[str]
) -> tuple[FormatVariants, ...]:
    found: list[FormatVariants] = []
    for name in fields:
        if raw is not None and name in raw.columns:
            column = raw[name]
        elif name in data.columns:
            column = data[name]
        else:
            notes.append(f'format check skipped for "{name}": not in the frame')
            continue
        counts = column.dropna().astype("str").value_counts(sort=False)
        counts = counts[counts.index.str.strip() != ""]
        if counts.empty:
            continue
        values = pd.Series(counts.index, dtype="str")
        normal = values.str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()
        table = pd.DataFrame({"value": values, "normal": normal, "count": counts.to_numpy()})
        table["untidy"] = table["value"] != table["value"].str.strip()
        table = table[table.groupby("normal")["value"].transform("size") > 1]
        table = table.sort_values(
            ["normal", "count", "untidy", "value"], ascending=[True, False, True, True]
        )
        for _, group in table.groupby("normal", sort=True):
            counted = zip(group["value"], group["count"], strict=False)
            pairs = tuple((str(v), int(c)) for v, c in counted)
            found.append(FormatVariants(name, pairs[0][0], pairs))
    return tuple(found)


def _future_dates(frame: CoercedFrame, now: datetime, days: int) -> tuple[FutureDates, ...]:
    horizon = pd.Timestamp(now) + pd.Timedelta(days=days)
    found = []
    for name, field_type in frame.field_types.items():
        if field_type not in ("date", "datetime") or name not in frame.data.columns:
            continue
        ahead = frame.data[name][frame.data[name] > horizon]
        if len(ahead):
            found.append(FutureDates(name, len(ahead), ahead.max().isoformat()))
    return tuple(found)


def _coercion_issues(problems: pd.DataFrame, max_examples: int) -> tuple[CoercionIssue, ...]:
    if problems is None or problems.empty or "field" not in problems.columns:
        return ()
    issues = []
    for name, group in problems.groupby("field", sort=False):
        examples = tuple(str(v) for v in pd.unique(group["value"].astype(object))[:max_examples])
        issues.append(
            CoercionIssue(str(name), str(group["expected"].iloc[0]), len(group), examples)
        )
    return tuple(issues)


def _lists(value: object) -> object:
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(item) for item in value]
    return value
