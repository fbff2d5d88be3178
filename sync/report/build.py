"""From a sync run to a report: the segments it computed plus the run history it recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from segment_core.clusters import ClusterSegmentSet
from sync.config import Settings
from sync.outcome import SyncOutcome
from sync.report.model import (
    ClusterProfile,
    Conversion,
    ReportInput,
    SegmentDefinition,
    rule_definitions,
)
from sync.report.render import render_report
from sync.state.runs import RunRecord
from sync.state.store import StateStore
from sync.status import COMPLETED


def _history(runs: list[RunRecord]) -> list[dict[str, Any]]:
    return [
        {
            "id": run.id,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "status": run.status,
            "contacts": run.contacts,
            "writes": run.writes,
            "list_adds": run.list_adds,
            "list_removes": run.list_removes,
            "failures": run.failures,
            "api_calls": run.api_calls,
        }
        for run in reversed(runs)
        if not run.dry_run
    ]


def _previous_sizes(runs: list[RunRecord], current_run: int) -> dict[str, int] | None:
    """Segment sizes of the newest completed run before this one, from its stored summary."""
    for run in runs:
        if run.id < current_run and run.status in COMPLETED:
            rows = json.loads(run.summary or "{}").get("segments", [])
            return {row["segment"]: row["members"] for row in rows}
    return None


def cluster_definitions(cluster_set: ClusterSegmentSet) -> list[SegmentDefinition]:
    """One definition per cluster: which features the set clusters on, and its traits."""
    segmenter = cluster_set.segmenter
    fields = (*segmenter.numeric, *segmenter.categorical)
    return [
        SegmentDefinition(
            name=segment.name,
            priority=segment.priority,
            definition=f"cluster {segment.cluster_id} of k-means set {cluster_set.name!r} over "
            f"{', '.join(fields)}; {segment.reason}",
            kind="cluster",
            fields=tuple(fields),
        )
        for segment in cluster_set.segments
    ]


def cluster_profiles(cluster_set: ClusterSegmentSet) -> list[ClusterProfile]:
    """The report's view of each cluster: feature means against all contacts, top categories."""
    segmenter = cluster_set.segmenter
    profiles = []
    for segment in cluster_set.segments:
        profile = segmenter.profiles_[segment.cluster_id]
        means = pd.DataFrame(
            {
                "cluster": [stat.mean for stat in profile.numeric],
                "overall": [stat.overall_mean for stat in profile.numeric],
            },
            index=[stat.feature for stat in profile.numeric],
            dtype=float,
        )
        top: dict[str, list[tuple[str, float]]] = {}
        for stat in profile.categories:
            top.setdefault(stat.feature, []).append((stat.shown, stat.share))
        profiles.append(ClusterProfile(segment.name, profile.size, profile.share, means, top))
    return profiles


def write_report(outcome: SyncOutcome, settings: Settings, path: Path | None = None) -> Path:
    """Render the report of ``outcome`` (with the sync's history) to ``path``."""
    store = StateStore(settings.state_url(), settings.sync.name)
    try:
        runs = store.runs(limit=200)
    finally:
        store.close()
    options = settings.report
    segmentation = outcome.segmentation
    contacts = segmentation.frame.data
    conversion_field = options.conversion_field
    conversion = (
        Conversion(conversion_field, frozenset(options.conversion_values))
        if conversion_field is not None and conversion_field in contacts
        else None
    )
    report = ReportInput(
        contacts=contacts,
        membership=segmentation.memberships,
        assignments=segmentation.assignments,
        segments=[
            *rule_definitions(segmentation.rule_segments),
            *(d for s in segmentation.cluster_sets for d in cluster_definitions(s)),
        ],
        clusters=[p for s in segmentation.cluster_sets for p in cluster_profiles(s)],
        previous_sizes=_previous_sizes(runs, outcome.run_id),
        run_history=_history(runs),
        conversion=conversion,
        revenue_field=options.revenue_field if options.revenue_field in contacts else None,
        field_labels=outcome.field_labels,
        title=f"Segments of sync {settings.sync.name!r}",
    )
    return render_report(report, path or options.output)
