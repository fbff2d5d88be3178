"""The figures behind the report: plain pandas over a ``ReportInput``, no formatting, no charts.

Kept apart from rendering so that every number a reader sees is computed once, here, and can
be tested exactly; the charts and the HTML only present these frames.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from sync.conversion import converted
from sync.report import formatting
from sync.report.model import RUN_KEYS, ReportInput

MAX_CATEGORIES = 50
"""A text field with more distinct values than this (names, emails) is not a trait."""

TRAIT_MIN_SHARE = 0.2
TRAIT_MIN_LIFT = 1.25
TRAITS_PER_SEGMENT = 4


@dataclass(frozen=True)
class Trait:
    """Something much more common in a segment than among all contacts."""

    label: str
    segment_share: float
    overall_share: float


def segment_sizes(report: ReportInput) -> pd.DataFrame:
    """Per segment (config order): ``members`` (its list), ``share`` of all contacts,
    ``primary`` (contacts whose primary segment it is), ``previous`` and ``change`` (nullable:
    no previous sizes, or a segment new since then)."""
    members = report.membership.sum().astype(int)
    primary = report.assignments["primary"].value_counts()
    previous = pd.Series(
        [(report.previous_sizes or {}).get(name) for name in members.index],
        index=members.index,
        dtype="Int64",
    )
    return pd.DataFrame(
        {
            "members": members,
            "share": members / max(len(report.contacts), 1),
            "primary": primary.reindex(members.index, fill_value=0).astype(int),
            "previous": previous,
            "change": members.astype("Int64") - previous,
        }
    )


def unmatched_count(report: ReportInput) -> int:
    """Contacts in no segment (they get the fallback primary segment, if one is configured)."""
    return int((~report.membership.any(axis=1)).sum())


def overlap(membership: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contacts in both of two segments, and the Jaccard index (shared ÷ in either).

    The diagonal of the counts is each segment's size; of the Jaccard index, 1.
    """
    matrix = membership.astype(int)
    shared = matrix.T @ matrix
    sizes = matrix.sum().to_numpy()
    either = sizes[:, None] + sizes[None, :] - shared.to_numpy()
    jaccard = shared.to_numpy() / either.clip(min=1)
    return shared, pd.DataFrame(jaccard, index=shared.index, columns=shared.columns)


def outcomes(report: ReportInput) -> pd.DataFrame:
    """Per segment, then a last row ``All contacts``: ``contacts``, ``converted``,
    ``conversion_rate``, ``revenue`` (total) and ``revenue_per_contact``.

    Conversion columns are absent without ``report.conversion``, revenue columns without
    ``report.revenue_field``; missing revenue counts as none.
    """
    groups = pd.concat(
        [report.membership, pd.Series(True, report.contacts.index, name="All contacts")], axis=1
    )
    frame = pd.DataFrame({"contacts": groups.sum().astype(int)})
    if report.conversion is not None:
        is_converted = converted(report.contacts, report.conversion).astype(int)
        frame["converted"] = groups.T.astype(int) @ is_converted
        frame["conversion_rate"] = frame["converted"] / frame["contacts"].clip(lower=1)
    if report.revenue_field is not None:
        revenue = report.contacts[report.revenue_field].fillna(0.0).astype(float)
        frame["revenue"] = groups.T.astype(float) @ revenue
        frame["revenue_per_contact"] = frame["revenue"] / frame["contacts"].clip(lower=1)
    return frame


def trait_candidates(report: ReportInput) -> pd.DataFrame:
    """Every candidate trait as a yes/no column over all contacts, columns ``(field, label)``.

    A candidate is a category of a text field, a yes/no, or the top or bottom quarter of a
    number or date (quarters of all contacts). Built once per report and shared by every
    segment's ``key_traits``.
    """
    columns = {
        (name, label): has.to_numpy(dtype=bool)
        for name in report.contacts.columns
        for label, has in _trait_candidates(report.contacts[name], report.label(name))
    }
    index = pd.MultiIndex.from_tuples(list(columns), names=["field", "label"])
    return pd.DataFrame(columns, index=report.contacts.index, columns=index)


def key_traits(
    candidates: pd.DataFrame,
    in_segment: pd.Series,
    skip: Collection[str],
    limit: int = TRAITS_PER_SEGMENT,
) -> list[Trait]:
    """What is over-represented in the segment: at most ``limit`` traits, largest gap first.

    A candidate (``trait_candidates``) counts when at least ``TRAIT_MIN_SHARE`` of the segment
    has it and at least ``TRAIT_MIN_LIFT`` times the share of all contacts. Fields in ``skip``
    (the segment's own definition) are left out.
    """
    if not in_segment.any():
        return []
    kept = candidates.loc[:, ~candidates.columns.get_level_values("field").isin(list(skip))]
    segment_shares = kept[in_segment.to_numpy(dtype=bool)].mean()
    overall_shares = kept.mean()
    traits = [
        Trait(label, float(segment_share), float(overall_share))
        for (_, label), segment_share, overall_share in zip(
            kept.columns, segment_shares, overall_shares, strict=False
        )
        if segment_share >= TRAIT_MIN_SHARE and segment_share >= TRAIT_MIN_LIFT * overall_share
    ]
    traits.sort(key=lambda trait: (trait.overall_share - trait.segment_share, trait.label))
    return traits[:limit]


def completeness(report: ReportInput, used: Collection[str]) -> pd.DataFrame:
    """Per contact field, best filled first: ``label``, ``filled`` (count), ``share`` and
    ``used`` (the field is read by a segment definition)."""
    filled = report.contacts.notna().sum().astype(int)
    frame = pd.DataFrame(
        {
            "label": [report.label(name) for name in filled.index],
            "filled": filled,
            "share": filled / max(len(report.contacts), 1),
            "used": [name in used for name in filled.index],
        }
    )
    return frame.sort_values(["share", "label"], ascending=[False, True])


def run_history(runs: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """The runs oldest first, with times as UTC timestamps and ``duration`` in seconds."""
    frame = pd.DataFrame([{key: run[key] for key in RUN_KEYS} for run in runs], columns=RUN_KEYS)
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    counts = ["contacts", "writes", "list_adds", "list_removes", "failures", "api_calls"]
    frame[counts] = frame[counts].fillna(0).astype(int)
    frame["duration"] = (frame["finished_at"] - frame["started_at"]).dt.total_seconds()
    return frame.sort_values("started_at", kind="stable").reset_index(drop=True)


def segment_fields(report: ReportInput) -> set[str]:
    """Every field some segment definition reads."""
    return {name for segment in report.segments for name in segment.fields}


def _trait_candidates(column: pd.Series, label: str) -> Iterator[tuple[str, pd.Series]]:
    """Yes/no masks over all contacts, one per candidate trait of ``column``."""
    if pd.api.types.is_bool_dtype(column):
        yield f"{label}: yes", column.fillna(False).astype(bool)
        yield f"{label}: no", (~column.fillna(True)).astype(bool)
    elif pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        yield from _quarter_candidates(column, label)
    else:
        yield from _category_candidates(column, label)


def _quarter_candidates(column: pd.Series, label: str) -> Iterator[tuple[str, pd.Series]]:
    """The top and bottom quarters of all contacts. Where a quarter or more share the extreme
    value, that value itself, and then everything on the other side of it (most contacts
    bought nothing: "= 0" and "above 0")."""
    values = column.dropna()
    if values.nunique() < 2:
        return
    low, high = values.min(), values.max()
    top, bottom = values.quantile(0.75), values.quantile(0.25)
    if top == high:  # a quarter or more share the largest value
        yield f"{label} = {formatting.value(high)}", (column == high).fillna(False)
    elif top > low:
        yield f"{label} {_at_least(column)} {formatting.value(top)}", (column >= top).fillna(False)
    else:
        yield f"{label} above {formatting.value(low)}", (column > low).fillna(False)
    if bottom == low:  # a quarter or more share the smallest value (most bought nothing)
        yield f"{label} = {formatting.value(low)}", (column == low).fillna(False)
    elif bottom < high:
        yield (
            f"{label} {_at_most(column)} {formatting.value(bottom)}",
            (column <= bottom).fillna(False),
        )
    else:
        yield f"{label} below {formatting.value(high)}", (column < high).fillna(False)


def _category_candidates(column: pd.Series, label: str) -> Iterator[tuple[str, pd.Series]]:
    """One candidate per value, case and surrounding spaces ignored, shown in its most common
    spelling; fields with too many distinct values (names, emails) have none."""
    text = column.astype("string").str.strip()
    key = text.str.casefold()
    if key.nunique() > MAX_CATEGORIES:
        return
    spelling = (
        text.dropna().groupby(key.dropna()).agg(lambda values: values.value_counts().index[0])
    )
    for value, shown in spelling.items():
        yield f"{label}: {shown}", (key == value).fillna(False)


def _at_least(column: pd.Series) -> str:
    return "on or after" if pd.api.types.is_datetime64_any_dtype(column) else "≥"


def _at_most(column: pd.Series) -> str:
    return "on or before" if pd.api.types.is_datetime64_any_dtype(column) else "≤"
