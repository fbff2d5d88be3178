"""One sync run, end to end: read the CRM, segment, plan, check, and (unless dry) execute.

A run is *full* (pull every contact, read every list) on the first sync, every
``full_every_hours``, on ``--full``, or when a segsync field vanished from the CRM; otherwise it
is *incremental*: it pulls only the contacts modified since the last run and takes the rest of
the picture from the state store. Either way the plan compares against what the CRM holds now
for every contact it pulled, so hand edits in the CRM are corrected.

Absence is not departure: only a contact the run segmented can leave a list. A full pull that
returns fewer contacts than the CRM counts trips a guardrail and, forced, replaces no state;
contacts the CRM deleted are learnt by asking it (``DeletionReading``), never from a pull.

Every configuration problem is found before the first write: segsync's own fields
(``sync.ownership``) and the segment rules are checked against the CRM's own field list right
after it is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd

from connectors.base import Connector, ConnectorLimits, FieldInfo
from segment_core.segmenter import Segmentation
from segment_core.segments import Segment
from sync.checkpoint import StoreCheckpoint
from sync.config import ConfigError, Settings
from sync.crm_reader import CrmReader
from sync.execute import ExecutionResult, Executor
from sync.guardrails import GuardrailTripped, guardrail_problems
from sync.holdout_record import holdout_update
from sync.member_prefetch import MemberPrefetch, lists_to_prefetch
from sync.names import list_name, segment_name_problems
from sync.outcome import PullCount, SyncOutcome, summary_json
from sync.pacing import BudgetExhausted, Pacer
from sync.plan import Plan, SegmentTarget, build_plan, emptying_changes, kept_out_of_lists
from sync.progress import ProgressSink
from sync.refusals import RefusalContext, given_up, options_digest
from sync.retry import Retrier, RetryPolicy
from sync.run_start import RunStart, prepare_run
from sync.state.holdouts import HoldoutUpdate
from sync.state.store import StateStore
from sync.status import RunMode, RunStatus
from sync.watermark import next_watermark


def segment_targets(
    list_name_pattern: str, segments: Sequence[Segment]
) -> tuple[SegmentTarget, ...]:
    """Each segment with the name of its list in the CRM."""
    return tuple(
        SegmentTarget(s.name, s.priority, list_name(list_name_pattern, s.name)) for s in segments
    )


def check_segment_names(
    settings: Settings, segments: Sequence[Segment], limits: ConnectorLimits
) -> None:
    """Every segment, cluster and the fallback a distinct name to the CRM, of lengths it takes:
    otherwise a ConfigError, before anything is planned or written."""
    options = settings.sync
    problems = segment_name_problems(
        segments, options.fallback_segment, options.list_name_pattern, limits
    )
    if problems:
        raise ConfigError(f"{settings.source}: {problems[0]}")


class SyncRun:
    """The steps of one run, sharing its connector, settings, state and call gateway."""

    def __init__(
        self,
        connector: Connector,
        settings: Settings,
        store: StateStore,
        progress: ProgressSink,
        retrier: Retrier,
        now: datetime,
        start: RunStart,
        run_id: int,
    ) -> None:
        self.connector = connector
        self.settings = settings
        self.options = settings.sync
        self.store = store
        self.progress = progress
        self.now = now
        self.retrier = retrier
        self.reader = CrmReader(connector, retrier, store, progress, settings.sync, settings.source)
        self.start = start
        self.run_id = run_id
        """The run's id in the run history, where it was recorded as started."""
        self.pull_count: PullCount | None = None

    @property
    def sync_fields(self) -> list[str]:
        return self.options.sync_fields

    def execute(self, *, dry_run: bool, force: bool, full: bool, refit: bool) -> SyncOutcome:
        """Read, segment, plan and check; then, unless ``dry_run``, apply the plan."""
        fields, config, read_fields = self.start.fields, self.start.config, self.start.read_fields
        cursor, previous, mode = self.start.cursor, self.start.previous, self.start.mode
        run_id = self.run_id
        started = datetime.now(UTC)
        crm_started = self.reader.crm_time()
        killed = previous is not None and previous.status == RunStatus.RUNNING
        read_all = mode is RunMode.FULL or killed
        with self._read_ahead(read_all) as ahead:
            if mode is RunMode.FULL:
                pulled = self.reader.full_pull(read_fields, fields, dry_run)
            else:
                assert cursor is not None
                pulled = self.reader.incremental_pull(read_fields, cursor[0])
            self.pull_count = pulled.count
            deleted = self.reader.forget_deleted(cursor[0] if cursor else None, dry_run)
            rule_values, current, modified = (
                frame.drop(index=list(deleted), errors="ignore")
                for frame in (pulled.rule_values, pulled.current, pulled.modified)
            )
            refusals = RefusalContext(modified, options_digest(fields, self.sync_fields), full)
            skip_writes = self._given_up(refusals, dry_run)

            segmentation = config.segmenter.run(
                rule_values,
                self.now,
                self.store.models(),
                fallback=self.options.fallback_segment,
                refit=refit,
            )
            check_segment_names(self.settings, segmentation.segments, self.connector.limits)
            targets = segment_targets(self.options.list_name_pattern, segmentation.segments)
            plan, kept_out, members = self._plan(
                segmentation,
                config.holdouts,
                targets,
                fields,
                current,
                skip_writes,
                read_all=read_all,
                ahead=ahead,
                dry_run=dry_run,
            )
        refusals = replace(refusals, options=options_digest(fields, self.sync_fields, plan.fields))
        problems = (
            guardrail_problems(
                plan,
                rules=self.settings.guardrails,
                list_sizes={name: len(ids) for name, ids in members.items()},
                contacts=len(segmentation.assignments),
                previous_contacts=cursor[1] if cursor else None,
                full_pull=mode is RunMode.FULL,
                pull=self.pull_count,
                first_sync_values=None if self.store.has_written() else current,
            )
            + segmentation.validation_problems()
        )

        def outcome(status: RunStatus, result: ExecutionResult | None) -> SyncOutcome:
            return SyncOutcome(
                run_id=run_id,
                mode=mode,
                status=status,
                targets=targets,
                segmentation=segmentation,
                plan=plan,
                result=result,
                api_calls=self.retrier.attempts,
                retries=self.retrier.retries,
                fallback=self.options.fallback_segment,
                batches_planned=plan.batch_count(self.connector.limits),
                kept_out={name: len(ids) for name, ids in kept_out.items()},
                problems=tuple(problems),
                field_labels={name: info.label for name, info in fields.items()},
                current_values=current,
                requests_per_second=self.connector.limits.budget.per_second,
                pull_count=self.pull_count,
                deleted=len(deleted),
            )

        if problems and not force:
            raise GuardrailTripped(outcome(RunStatus.GUARDRAIL_ABORT, None))
        if dry_run:
            return outcome(RunStatus.PLANNED, None)
        result = self._apply(plan, run_id, refusals)
        for name, state in segmentation.models().items():
            self.store.save_model(name, state)
        holdouts = holdout_update(
            self.settings.report,
            segmentation,
            config.holdouts,
            self._opted_out(segmentation.frame.data),
            self.store.holdout_recorded(),
            run_id=run_id,
            now=self.now,
        )
        self._save_cursor(
            cursor,
            modified,
            started,
            crm_started,
            contacts=len(segmentation.assignments),
            holdouts=holdouts,
        )
        status = RunStatus.DONE_WITH_FAILURES if result.failures else RunStatus.DONE
        return outcome(status, result)

    def _read_ahead(self, read_all: bool) -> MemberPrefetch:
        """The owned lists' members read during the pull, when the run reads every list."""
        owned = self.store.owned_lists() if read_all else {}
        lists = lists_to_prefetch(owned, self.start.config.segmenter)
        return MemberPrefetch(self.connector, self.retrier, lists)

    def _save_cursor(
        self,
        cursor: tuple[datetime, int] | None,
        modified: pd.Series,
        started: datetime,
        crm_started: datetime | None,
        *,
        contacts: int,
        holdouts: HoldoutUpdate | None = None,
    ) -> None:
        """Move the incremental cursor on, unless the pull ended early: then changes of the
        contacts it missed are still to read, so the next run starts where the last complete
        one left off (or pulls everything again, when there was none). The pull started at
        ``started`` by this machine's clock, ``crm_started`` by the CRM's (None: unknown).
        The holdout record moves on with the cursor (``sync.holdout_record``)."""
        if self.pull_count is not None and not self.pull_count.complete:
            return
        previous_cursor = cursor[0] if cursor else None
        seen = contacts if self.pull_count is not None else (cursor[1] if cursor else contacts)
        watermark = next_watermark(
            modified,
            started=started,
            finished=datetime.now(UTC),
            previous=previous_cursor,
            crm_started=crm_started,
        )
        self.store.save_cursor(watermark, seen, holdouts=holdouts)

    def _plan(
        self,
        segmentation: Segmentation,
        holdouts: Mapping[str, float],
        targets: tuple[SegmentTarget, ...],
        fields: Mapping[str, FieldInfo],
        current: pd.DataFrame,
        skip_writes: set[str],
        *,
        read_all: bool,
        dry_run: bool,
        ahead: MemberPrefetch,
    ) -> tuple[Plan, dict[str, set[str]], dict[str, set[str]]]:
        """The plan, the contacts kept out of each list (holdout, opt-out), the lists' members."""
        lists, members = self.reader.lists(targets, read_all=read_all, dry_run=dry_run, ahead=ahead)
        orphans, orphan_members = self.reader.orphans(targets, dry_run=dry_run)
        kept_out = kept_out_of_lists(
            targets,
            segmentation.assignments,
            holdouts,
            self._opted_out(segmentation.frame.data),
        )
        plan = build_plan(
            options=self.options,
            targets=targets,
            assignments=segmentation.assignments,
            existing_fields=fields,
            current_values=current,
            lists=lists,
            members=members,
            kept_out=kept_out,
            skip_writes=skip_writes,
            known_segments=self.store.known_segments(),
            moved_on=self.now.date(),
        )
        plan = replace(
            plan,
            orphans=orphans,
            list_changes=plan.list_changes + emptying_changes(orphans, orphan_members),
        )
        return plan, kept_out, members

    def _apply(self, plan: Plan, run_id: int, refusals: RefusalContext) -> ExecutionResult:
        """Write the plan, each acknowledged batch checkpointed; forget contacts that are gone."""
        checkpoint = StoreCheckpoint(
            self.store, run_id, refusals, {move.contact_id for move in plan.moves}
        )
        self.store.plan_moves(run_id, plan.moves, plan.moves_held)
        self.store.intend_lists(
            {c.segment: c.list_name for c in plan.list_changes if c.list_ref is None}
        )
        result = Executor(self.connector, self.retrier, self.progress, checkpoint).run(plan)
        self.store.forget_contacts(result.missing)
        return result

    def _opted_out(self, typed: pd.DataFrame) -> set[str]:
        name = self.options.opt_out_field
        if not name:
            return set()
        opted = typed[name].astype(str).str.lower().eq("true")  # bool or "true" text
        return set(opted.index[opted.to_numpy()])

    def _given_up(self, refusals: RefusalContext, dry_run: bool) -> set[str]:
        """Contacts refused for good, or too often, whose cause is still there: not written.

        A refusal whose cause may have gone (see ``RefusalContext``) is cleared, unless this
        is a dry run, so the record is written again with a fresh count of attempts.
        """
        failures = self.store.failures()
        healed = [f.contact_id for f in failures if refusals.may_have_gone(f)]
        if healed and not dry_run:
            self.store.clear_failures(healed)
        limit = self.options.max_record_attempts
        return {f.contact_id for f in failures if given_up(f, limit)} - set(healed)


def run_sync(
    connector: Connector,
    settings: Settings,
    *,
    dry_run: bool,
    progress: ProgressSink,
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
    force: bool = False,
    full: bool = False,
    refit: bool = False,
    store: StateStore | None = None,
) -> SyncOutcome:
    """Run one sync under the sync's lock, recording it in the run history."""
    own_store = store is None
    store = store or StateStore(settings.state_url(), settings.sync.name)
    now = now or datetime.now(UTC)
    pacer = Pacer(connector.limits.budget, daily_share=settings.sync.daily_budget_share)
    retrier = Retrier(retry or RetryPolicy(), pacer, connector.rate_limit_status)
    try:
        with store.lock(settings.sync.lease_seconds):
            start = prepare_run(connector, retrier, store, settings, full=full, now=now)
            run_id = store.start_run(start.mode, dry_run)
            run = SyncRun(connector, settings, store, progress, retrier, now, start, run_id)
            try:
                outcome = run.execute(dry_run=dry_run, force=force, full=full, refit=refit)
            except GuardrailTripped as exc:
                _finish(store, exc.outcome)
                raise
            except BaseException as exc:
                store.finish_run(
                    run_id,
                    _failure_status(exc),
                    message=str(exc)[:2000],
                    api_calls=retrier.attempts,
                    retries=retrier.retries,
                )
                raise
            _finish(store, outcome)
            return outcome
    finally:
        if own_store:
            store.close()


def _failure_status(exc: BaseException) -> RunStatus:
    return RunStatus.BUDGET_EXHAUSTED if isinstance(exc, BudgetExhausted) else RunStatus.FAILED


def _finish(store: StateStore, outcome: SyncOutcome) -> None:
    result = outcome.result
    store.finish_run(
        outcome.run_id,
        outcome.status,
        contacts=len(outcome.assignments),
        writes=len(result.written) if result else 0,
        list_adds=sum(result.list_adds.values()) if result else 0,
        list_removes=sum(result.list_removes.values()) if result else 0,
        failures=len(result.failures) if result else 0,
        api_calls=outcome.api_calls,
        retries=outcome.retries,
        batches_planned=outcome.batches_planned,
        message="; ".join(outcome.problems),
        summary=json.dumps(summary_json(outcome)),
    )
