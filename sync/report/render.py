"""``segsync report``: one self-contained HTML file about the segments and the runs.

Everything the page needs is inside it (CSS and charts; there is no script), so it can be
mailed, archived, or opened on a laptop without network. All text from the CRM or the config
goes through Jinja's autoescaping: a contact whose company is ``<script>...`` shows as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from segment_core.config_readers import describe_duration
from sync.moves import NO_SEGMENT, segment_label
from sync.report import charts, formatting, lift_chart, stats, trend_chart
from sync.report.lift import HoldoutLift, holdout_lifts
from sync.report.model import ClusterModelStatus, ClusterProfile, ClusterRuleFigures, ReportInput

RECENT_RUNS = 10
"""Runs listed in the run history table (the chart shows more)."""

TOP_OVERLAPS = 3


@dataclass(frozen=True)
class SegmentCard:
    """One segment's profile card."""

    name: str
    kind: str
    priority: int
    definition: str
    description: str
    members: int
    share: float
    change: int | None
    primary: int
    outcome: dict[str, float]
    traits: list[stats.Trait]
    traits_chart: str | None


@dataclass(frozen=True)
class LiftPanel:
    """One held-out segment's lift, and its chart once there is an estimate to show."""

    lift: HoldoutLift
    chart: str | None


@dataclass(frozen=True)
class ClusterCard:
    """One cluster's profile card."""

    name: str
    size: int
    share: float
    means_chart: str | None
    categories: list[tuple[str, list[tuple[str, float]]]]
    rule: ClusterRuleFigures | None


@dataclass(frozen=True)
class ModelCard:
    """One cluster set's model in words: last refit, age, drift since, refresh cadence."""

    set_name: str
    last_refit: str
    age: str
    decision: str
    drift: str
    cadence: str


def render_report(report: ReportInput, path: Path | str) -> Path:
    """Write the report to ``path`` (parent folders are created) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(report), encoding="utf-8")
    return target


def render_html(report: ReportInput) -> str:
    """The report as one HTML document."""
    return _environment().get_template("report.html.j2").render(_context(report))


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("sync.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        count=formatting.count,
        percent=formatting.percent,
        signed=formatting.signed,
        points=formatting.points,
        signed_percent=formatting.signed_percent,
        amount=formatting.amount,
        moment=formatting.moment,
        duration=_duration,
        segment_label=segment_label,
    )
    return environment


def _context(report: ReportInput) -> dict[str, Any]:
    sizes = stats.segment_sizes(report)
    shared, jaccard = stats.overlap(report.membership)
    outcomes = stats.outcomes(report)
    used = stats.segment_fields(report)
    fields = stats.completeness(report, used)
    runs = stats.run_history(report.run_history)
    traits = stats.trait_candidates(report)
    has_segments = not sizes.empty
    return {
        "title": report.title,
        "generated_at": report.generated_at,
        "contacts": len(report.contacts),
        "unmatched": stats.unmatched_count(report),
        "has_previous": report.previous_sizes is not None,
        "sizes_chart": charts.segment_sizes(sizes) if has_segments else None,
        "overlap_chart": charts.overlap(shared, jaccard) if len(shared) > 1 else None,
        "top_overlaps": _top_overlaps(shared),
        "clusters": [_cluster_card(report, cluster) for cluster in report.clusters],
        "cluster_models": [_model_card(report, model) for model in report.cluster_models],
        "conversion": report.conversion,
        "conversion_label": report.label(report.conversion.field) if report.conversion else "",
        "revenue_label": report.label(report.revenue_field) if report.revenue_field else "",
        "outcomes": outcomes,
        "outcomes_chart": (
            charts.outcomes(outcomes) if has_segments and len(outcomes.columns) > 1 else None
        ),
        "cards": [_segment_card(report, sizes, outcomes, traits, name) for name in sizes.index],
        "fields_chart": charts.completeness(fields) if not fields.empty else None,
        "used_fields": fields[fields["used"]],
        "runs": runs,
        "recent_runs": runs.iloc[::-1].head(RECENT_RUNS),
        "last_run": runs.iloc[-1] if not runs.empty else None,
        "history_chart": charts.run_history(runs) if not runs.empty else None,
        "trend_runs": len(report.size_history),
        "trends_chart": (
            trend_chart.segment_trends(report.size_history)
            if not report.size_history.empty
            else None
        ),
        "holdouts": report.holdouts,
        "lifts": _lift_panels(report) if report.conversion else [],
        "migrations": report.migrations,
        "none": NO_SEGMENT,
    }


def _lift_panels(report: ReportInput) -> list[LiftPanel]:
    return [
        LiftPanel(lift, lift_chart.group_rates(lift) if lift.estimate else None)
        for lift in holdout_lifts(report.holdout_record, report.holdouts)
    ]


def _segment_card(
    report: ReportInput,
    sizes: pd.DataFrame,
    outcomes: pd.DataFrame,
    trait_candidates: pd.DataFrame,
    name: str,
) -> SegmentCard:
    definition = next(segment for segment in report.segments if segment.name == name)
    row = sizes.loc[name]
    found = stats.key_traits(trait_candidates, report.membership[name], skip=definition.fields)
    return SegmentCard(
        name=name,
        kind=definition.kind,
        priority=definition.priority,
        definition=definition.definition,
        description=definition.description,
        members=int(row["members"]),
        share=float(row["share"]),
        change=None if pd.isna(row["change"]) else int(row["change"]),
        primary=int(row["primary"]),
        outcome=outcomes.loc[name].to_dict(),
        traits=found,
        traits_chart=charts.traits(found) if found else None,
    )


def _cluster_card(report: ReportInput, cluster: ClusterProfile) -> ClusterCard:
    labels = [report.label(str(feature)) for feature in cluster.means.index]
    return ClusterCard(
        name=cluster.segment,
        size=cluster.size,
        share=cluster.share,
        means_chart=charts.cluster_means(cluster.means, labels) if len(cluster.means) else None,
        categories=[
            (report.label(field), list(values)) for field, values in cluster.top_categories.items()
        ],
        rule=cluster.rule,
    )


def _model_card(report: ReportInput, model: ClusterModelStatus) -> ModelCard:
    fitted = model.fitted_at
    if model.refit_every is None:
        cadence = "on drift only (no refit_every)"
    elif fitted is None:
        cadence = f"every {describe_duration(model.refit_every)}; due at the next run"
    else:
        due = formatting.moment(fitted + model.refit_every)
        cadence = f"every {describe_duration(model.refit_every)}; next due {due}"
    if model.distance_increase is None or model.share_shift is None:
        drift = "none yet: this run trained it" if model.refitted else "not measured"
    else:
        rise = round(model.distance_increase * 100)  # as the run's reason words it
        drift = f"distance {rise:+d}%, share shift {model.share_shift:.0%}"
    return ModelCard(
        set_name=model.set_name,
        last_refit="unknown (stored before segsync kept fit times)"
        if fitted is None
        else formatting.moment(fitted),
        age="unknown" if fitted is None else describe_duration(report.generated_at - fitted),
        decision=f"refit: {model.reason}" if model.refitted else model.reason,
        drift=drift,
        cadence=cadence,
    )


def _top_overlaps(shared: pd.DataFrame) -> list[tuple[str, str, int, float]]:
    """The largest overlaps between two segments: names, shared contacts, share of the smaller."""
    names = list(shared.index)
    pairs = [
        (first, second, int(shared.loc[first, second]))
        for i, first in enumerate(names)
        for second in names[i + 1 :]
        if shared.loc[first, second] > 0
    ]
    pairs.sort(key=lambda pair: -pair[2])
    return [
        (first, second, both, both / min(shared.loc[first, first], shared.loc[second, second]))
        for first, second, both in pairs[:TOP_OVERLAPS]
    ]


def _duration(seconds: float) -> str:
    """A run's length as a person says it: ``45 s``, ``3 min 20 s``, ``1 h 05 min``."""
    if pd.isna(seconds):
        return "–"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
