"""What a sync run decided and did, and the JSON record of it.

The result type lives below both the orchestrator (``sync.pipeline``) that produces it and the
presenters that read it (the terminal summary, the report, alerts, the run history), so none of
them imports the pipeline to know what a run returns. Its status and mode are the words of
``sync.status``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from segment_core.segmenter import Segmentation
from sync.execute import ExecutionResult
from sync.plan import Plan, SegmentTarget
from sync.status import RunMode, RunStatus


@dataclass(frozen=True)
class PullCount:
    """What a full pull returned against the CRM's own count of its contacts.

    ``counted`` is the smaller of the counts taken just before and just after the pull (None
    when the connector cannot count): a contact deleted during the pull lowers the second, one
    created during it is missing from the first, so a pull that read every page returns at
    least that many. Fewer means the listing ended early.
    """

    pulled: int
    counted: int | None

    @property
    def complete(self) -> bool:
        return self.counted is None or self.pulled >= self.counted


@dataclass(frozen=True)
class SyncOutcome:
    """What a run decided and did; ``result`` is None when nothing was executed."""

    run_id: int
    mode: RunMode
    status: RunStatus
    targets: tuple[SegmentTarget, ...]
    segmentation: Segmentation
    plan: Plan
    result: ExecutionResult | None
    api_calls: int
    retries: int
    fallback: str | None
    batches_planned: int = 0
    kept_out: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    field_labels: dict[str, str] = field(default_factory=dict)
    current_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The segsync fields as the CRM held them: the "before" of each planned write."""
    requests_per_second: float | None = None
    """The connector's sustained rate limit, to estimate how long the plan takes."""
    pull_count: PullCount | None = None
    """A full pull's contacts against the CRM's own count (None on incremental runs)."""
    deleted: int = 0
    """Contacts the CRM reported deleted since the last run, forgotten by this one."""

    @property
    def assignments(self) -> pd.DataFrame:
        return self.segmentation.assignments

    @property
    def dry_run(self) -> bool:
        return self.result is None


def summary_json(outcome: SyncOutcome) -> dict[str, Any]:
    """The run's record: what ``--json`` prints, the run history keeps and alerts read."""
    failures = outcome.result.failures if outcome.result else []
    return {
        "dry_run": outcome.dry_run,
        "contacts": len(outcome.assignments),
        "property_writes": len(outcome.plan.writes),
        "fields_to_ensure": [spec.name for spec in outcome.plan.fields],
        "segments": summary_rows(outcome),
        "failures": [
            {"contact_id": f.contact_id, "code": f.code, "message": f.message} for f in failures
        ],
        "api_calls": outcome.api_calls,
        "retries": outcome.retries,
        "guardrail_problems": list(outcome.problems),
        "orphan_lists": [
            {
                "segment": orphan.segment,
                "list_name": orphan.list_name,
                "list_id": orphan.list_ref.id if orphan.list_ref else None,
                "members": orphan.members,
                "action": orphan.action if orphan.list_ref else "gone",
            }
            for orphan in outcome.plan.orphans
        ],
        "pull": pull_summary(outcome),
        "clusters": cluster_summary(outcome),
        "audit": audit_summary(outcome),
        "validation": [
            {
                "kind": f.kind,
                "severity": f.severity,
                "segments": list(f.segments),
                "message": f.message,
            }
            for f in outcome.segmentation.validation.findings
        ],
    }


def summary_rows(outcome: SyncOutcome) -> list[dict[str, Any]]:
    """One row per segment: size, primary count, writes and list changes (done or planned)."""
    assignments = outcome.assignments
    primary_counts = assignments["primary"].value_counts()
    member_counts = assignments["segments"].explode().value_counts()
    written_ids = (
        {w.contact_id for w in outcome.plan.writes}
        if outcome.result is None
        else outcome.result.written
    )
    written_primary = assignments.loc[sorted(written_ids), "primary"].value_counts()
    changes = {change.segment: change for change in outcome.plan.list_changes}
    return [
        {
            "segment": target.name,
            "priority": target.priority,
            "members": int(member_counts.get(target.name, 0)),
            "primary": int(primary_counts.get(target.name, 0)),
            "written": int(written_primary.get(target.name, 0)),
            "list_adds": len(changes[target.name].add),
            "list_removes": len(changes[target.name].remove),
        }
        for target in outcome.targets
    ]


def pull_summary(outcome: SyncOutcome) -> dict[str, Any]:
    """How complete the picture was: a full pull against the CRM's count, list members the
    run did not see (left alone), and contacts the CRM reported deleted (forgotten)."""
    count = outcome.pull_count
    return {
        "pulled": count.pulled if count else None,
        "crm_count": count.counted if count else None,
        "complete": count.complete if count else None,
        "members_unseen": outcome.plan.members_unseen(),
        "deleted_forgotten": outcome.deleted,
    }


def cluster_summary(outcome: SyncOutcome) -> list[dict[str, Any]]:
    """Each cluster set: its clusters and whether this run refitted it, and why."""
    return [
        {
            "set": cluster_set.name,
            "clusters": [segment.name for segment in cluster_set.segments],
            "refitted": bool(cluster_set.segmenter.refitted_),
            "why": cluster_set.segmenter.fit_reason_,
        }
        for cluster_set in outcome.segmentation.cluster_sets
    ]


def audit_summary(outcome: SyncOutcome) -> dict[str, Any]:
    """The data-quality audit in counts: no contact values, since this lands in run history
    and alerts (duplicate keys would be e-mail addresses)."""
    report = outcome.segmentation.audit
    return {
        "segments_at_risk": [
            {"segment": r.segment, "field": r.field, "missing_share": round(r.missing_share, 4)}
            for r in report.segments_at_risk
        ],
        "duplicate_groups": len(report.duplicates),
        "duplicate_contacts": report.duplicate_contacts,
        "format_variants": sorted({v.field for v in report.format_variants}),
        "unparsable_cells": {issue.field: issue.count for issue in report.coercion_problems},
        "future_dates": {item.field: item.count for item in report.future_dates},
    }
