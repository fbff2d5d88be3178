"""One sync run, end to end: read the CRM, segment, plan, and (unless dry) execute.

Everything that can be wrong with the configuration is checked before the first write:
segment rules are validated against the CRM's own field list right after it is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from connectors.base import Connector, FieldInfo, ListRef
from segment_core.coerce import coerce_frame
from segment_core.resolve import membership_table, resolve
from segment_core.rules import referenced_fields
from segment_core.segments import RuleSegment, parse_segments
from sync.config import Settings
from sync.execute import ExecutionResult, Executor
from sync.plan import Plan, SegmentTarget, build_plan
from sync.progress import ProgressSink
from sync.pull import pull_contacts, read_members
from sync.retry import Retrier, RetryPolicy


@dataclass(frozen=True)
class SyncOutcome:
    """What a run decided and did; ``result`` is None for a dry run."""

    targets: tuple[SegmentTarget, ...]
    assignments: pd.DataFrame
    plan: Plan
    result: ExecutionResult | None
    api_calls: int
    retries: int
    fallback: str | None

    @property
    def dry_run(self) -> bool:
        return self.result is None


def segment_targets(settings: Settings, segments: list[RuleSegment]) -> tuple[SegmentTarget, ...]:
    pattern = settings.sync.list_name_pattern
    return tuple(
        SegmentTarget(s.name, s.priority, pattern.format(segment=s.name)) for s in segments
    )


def _current_lists(
    connector: Connector, targets: tuple[SegmentTarget, ...], retrier: Retrier
) -> tuple[dict[str, ListRef | None], dict[str, set[str]]]:
    lists: dict[str, ListRef | None] = {}
    members: dict[str, set[str]] = {}
    for target in targets:
        found = retrier.call(connector.find_list, target.list_name)
        lists[target.name] = found
        members[target.name] = read_members(connector, found, retrier) if found else set()
    return lists, members


def run_sync(
    connector: Connector,
    settings: Settings,
    *,
    dry_run: bool,
    progress: ProgressSink,
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
) -> SyncOutcome:
    """Pull, segment, plan, and write only the difference (nothing at all when ``dry_run``)."""
    retrier = Retrier(retry or RetryPolicy())
    now = now or datetime.now(timezone.utc)
    fields: Mapping[str, FieldInfo] = {
        info.name: info for info in retrier.call(connector.describe_fields)
    }
    field_types = {name: info.type for name, info in fields.items()}
    segments = parse_segments([segment.model_dump() for segment in settings.segments], field_types)
    rule_field_names = sorted({name for s in segments for name in referenced_fields(s.rule)})
    sync_fields = [
        settings.sync.segment_property,
        settings.sync.segments_property,
        settings.sync.reason_property,
    ]
    raw = pull_contacts(connector, rule_field_names + sync_fields, retrier, progress)

    typed = coerce_frame(raw[rule_field_names], field_types)
    memberships = membership_table(segments, typed, now)
    assignments = resolve(memberships, segments, fallback=settings.sync.fallback_segment)

    targets = segment_targets(settings, segments)
    lists, members = _current_lists(connector, targets, retrier)
    plan = build_plan(
        options=settings.sync,
        targets=targets,
        assignments=assignments,
        existing_fields=fields,
        current_values=raw[sync_fields],
        lists=lists,
        members=members,
    )
    result = None if dry_run else Executor(connector, retrier, progress).run(plan)
    return SyncOutcome(
        targets,
        assignments,
        plan,
        result,
        retrier.attempts,
        retrier.retries,
        settings.sync.fallback_segment,
    )
