"""From a sync run to a report: the segments it computed plus the run history it recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from segment_core.cluster_config import parse_cluster_sets
from segment_core.cluster_rules import cluster_rules
from segment_core.cluster_set import ClusterSegmentSet
from segment_core.coerce import CoercedFrame
from sync.config import Settings
from sync.moves import Period
from sync.outcome import SyncOutcome
from sync.report.lift import RECORD_COLUMNS
from sync.report.migration import migration_views
from sync.report.model import (
    ClusterModelStatus,
    ClusterProfile,
    ClusterRuleFigures,
    Conversion,
    ReportInput,
    SegmentDefinition,
    rule_definitions,
)
from sync.report.render import render_report
from sync.state.holdouts import HoldoutEntry
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


def _sizes(run: RunRecord) -> dict[str, int]:
    """The segment sizes a run's stored summary recorded."""
    rows = json.loads(run.summary or "{}").get("segments", [])
    return {row["segment"]: row["members"] for row in rows}


def _previous_sizes(runs: list[RunRecord], current_run: int) -> dict[str, int] | None:
    """Segment sizes of the newest completed run before this one, from its stored summary."""
    for run in runs:
        if run.id < current_run and run.status in COMPLETED:
            return _sizes(run)
    return None


def _size_history(runs: list[RunRecord]) -> pd.DataFrame:
    """Each completed run's segment sizes, oldest first, indexed by the run's start (UTC); a
    segment a run did not have is missing (NaN) there, so its line starts when it did."""
    completed = [run for run in reversed(runs) if run.status in COMPLETED and not run.dry_run]
    return pd.DataFrame(
        [_sizes(run) for run in completed],
        index=pd.DatetimeIndex([run.started_at for run in completed], name="started_at"),
    )


def _holdout_record(entries: list[HoldoutEntry]) -> pd.DataFrame:
    """The holdout record as the report reads it: converted means since entering."""
    return pd.DataFrame(
        [
            (e.segment, e.contact_id, e.held_out, e.converted_on_entry, e.converted_at is not None)
            for e in entries
        ],
        columns=list(RECORD_COLUMNS),
    )


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


def cluster_profiles(
    cluster_set: ClusterSegmentSet, frame: CoercedFrame, now: datetime
) -> list[ClusterProfile]:
    """The report's view of each cluster: feature means against all contacts, top categories,
    and the cluster as a rule (scored on the contacts of ``frame``)."""
    segmenter = cluster_set.segmenter
    rules = {
        rule.cluster_id: ClusterRuleFigures(rule.expression, rule.precision, rule.recall)
        for rule in cluster_rules(segmenter, frame, cluster_set.labels(frame), now)
        if rule.expression
    }
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
        profiles.append(
            ClusterProfile(
                segment.name,
                profile.size,
                profile.share,
                means,
                top,
                rules.get(segment.cluster_id),
            )
        )
    return profiles


def cluster_model_status(
    cluster_set: ClusterSegmentSet, refit_every: timedelta | None
) -> ClusterModelStatus:
    """The model's last refit, whether this run made it, and the drift measured since."""
    segmenter = cluster_set.segmenter
    drift = None if segmenter.refitted_ else segmenter.drift_
    return ClusterModelStatus(
        set_name=cluster_set.name,
        fitted_at=segmenter.fitted_at_,
        refitted=segmenter.refitted_,
        reason=segmenter.fit_reason_,
        distance_increase=None if drift is None else drift.distance_increase,
        share_shift=None if drift is None else drift.share_shift,
        refit_every=refit_every,
    )


def write_report(
    outcome: SyncOutcome, settings: Settings, path: Path | None = None, since: Period | None = None
) -> Path:
    """Render the report of ``outcome`` (with the sync's history and moves: the last run's,
    and the period ``since``'s when given) to ``path``."""
    store = StateStore(settings.state_url(), settings.sync.name)
    try:
        runs = store.runs(limit=200)
        migrations = migration_views(store, since, datetime.now(UTC))
        entries = store.holdout_entries()
    finally:
        store.close()
    options = settings.report
    segmentation = outcome.segmentation
    cadence = {c.name: c.refit_every for c in parse_cluster_sets(settings.clusters)}
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
        clusters=[
            p
            for s in segmentation.cluster_sets
            for p in cluster_profiles(s, segmentation.frame, datetime.now(UTC))
        ],
        cluster_models=[
            cluster_model_status(s, cadence.get(s.name)) for s in segmentation.cluster_sets
        ],
        previous_sizes=_previous_sizes(runs, outcome.run_id),
        run_history=_history(runs),
        conversion=conversion,
        revenue_field=options.revenue_field if options.revenue_field in contacts else None,
        field_labels=outcome.field_labels,
        size_history=_size_history(runs),
        holdouts={s.name: s.holdout for s in settings.segments if s.holdout > 0},
        holdout_record=_holdout_record(entries),
        migrations=migrations,
        title=f"Segments of sync {settings.sync.name!r}",
    )
    return render_report(report, path or options.output)
