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

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pandas as pd

from connectors.base import (
    Connector,
    ConnectorLimits,
    ContactCounting,
    CrmClock,
    DeletionReading,
    FieldInfo,
    ListDeleting,
    ListRef,
)
from segment_core.segmenter import Segmentation
from segment_core.segments import Segment
from sync.config import ConfigError, Settings
from sync.effect import BatchEffect
from sync.execute import ExecutionResult, Executor
from sync.guardrails import GuardrailTripped, PullCount, guardrail_problems
from sync.holdout_record import holdout_update
from sync.names import list_name, segment_name_problems
from sync.owned_lists import claim_list
from sync.ownership import check_own_fields
from sync.pacing import BudgetExhausted, Pacer
from sync.plan import (
    OrphanList,
    Plan,
    SegmentTarget,
    build_plan,
    emptying_changes,
    kept_out_of_lists,
)
from sync.progress import ProgressSink
from sync.pull import pull_changed_contacts, pull_contacts, read_deleted, read_members
from sync.refusals import RefusalContext, given_up, options_digest
from sync.retry import Retrier, RetryPolicy
from sync.segmentation import SegmentationConfig, text_frame
from sync.state.holdouts import HoldoutUpdate
from sync.state.store import StateStore
from sync.summary import summary_json
from sync.watermark import next_watermark


@dataclass(frozen=True)
class SyncOutcome:
    """What a run decided and did; ``result`` is None when nothing was executed."""

    run_id: int
    mode: str
    status: str
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


class StoreCheckpoint:
    """Records every acknowledged batch, and its effect, in the state store."""

    def __init__(self, store: StateStore, run_id: int, refusals: RefusalContext) -> None:
        self.store = store
        self.run_id = run_id
        self.refusals = refusals
        self.seq = 0

    def batch_done(self, effect: BatchEffect) -> None:
        self.seq += 1
        refusals = [self.refusals.failure(f, self.run_id) for f in effect.failures]
        self.store.record_batch(self.run_id, self.seq, effect, refusals=refusals)


def segment_targets(settings: Settings, segments: Sequence[Segment]) -> tuple[SegmentTarget, ...]:
    pattern = settings.sync.list_name_pattern
    return tuple(SegmentTarget(s.name, s.priority, list_name(pattern, s.name)) for s in segments)


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
        retry: RetryPolicy,
        now: datetime,
    ) -> None:
        self.connector = connector
        self.settings = settings
        self.options = settings.sync
        self.store = store
        self.progress = progress
        self.now = now
        self.pacer = Pacer(connector.limits.budget, daily_share=settings.sync.daily_budget_share)
        self.pull_count: PullCount | None = None
        self.retrier = Retrier(retry, self.pacer, connector.rate_limit_status)

    @property
    def sync_fields(self) -> list[str]:
        return self.options.sync_fields

    def execute(self, *, dry_run: bool, force: bool, full: bool, refit: bool) -> SyncOutcome:
        """Read, segment, plan and check; then, unless ``dry_run``, apply the plan."""
        self._check_orphan_action()
        fields = {info.name: info for info in self.retrier.call(self.connector.describe_fields)}
        check_own_fields(self.settings, fields, self.connector)
        config = SegmentationConfig.bind(
            self.settings,
            {name: info.type for name, info in fields.items()},
            opt_out_field=self.settings.sync.opt_out_field,
            extra_fields=self.settings.report.fields,
        )
        read_fields = config.read_fields()
        cursor = self.store.cursor()
        previous = self.store.last_run()
        mode = self._mode(full, cursor, fields, read_fields)
        self.run_id = run_id = self.store.start_run(mode, dry_run)
        started = datetime.now(UTC)
        crm_started = self._crm_time()
        if mode == "full":
            rule_values, current, modified = self._full_pull(read_fields, fields, dry_run)
        else:
            assert cursor is not None
            rule_values, current, modified = self._incremental_pull(read_fields, cursor[0])
        deleted = self._forget_deleted(cursor[0] if cursor else None, dry_run)
        rule_values, current, modified = (
            frame.drop(index=list(deleted), errors="ignore")
            for frame in (rule_values, current, modified)
        )
        self.refusals = RefusalContext(modified, options_digest(fields, self.sync_fields), full)
        skip_writes = self._given_up(dry_run)

        segmentation = config.segmenter.run(
            rule_values,
            self.now,
            self.store.models(),
            fallback=self.options.fallback_segment,
            refit=refit,
        )
        killed = previous is not None and previous.status == "running"
        check_segment_names(self.settings, segmentation.segments, self.connector.limits)
        targets = segment_targets(self.settings, segmentation.segments)
        plan, kept_out, members = self._plan(
            segmentation,
            config.holdouts,
            targets,
            fields,
            current,
            skip_writes,
            read_all=mode == "full" or killed,
            dry_run=dry_run,
        )
        self.refusals = replace(
            self.refusals, options=options_digest(fields, self.sync_fields, plan.fields)
        )
        problems = (
            guardrail_problems(
                plan,
                rules=self.settings.guardrails,
                list_sizes={name: len(ids) for name, ids in members.items()},
                contacts=len(segmentation.assignments),
                previous_contacts=cursor[1] if cursor else None,
                full_pull=mode == "full",
                pull=self.pull_count,
                first_sync_values=None if self.store.has_written() else current,
            )
            + segmentation.validation_problems()
        )

        def outcome(status: str, result: ExecutionResult | None) -> SyncOutcome:
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
            raise GuardrailTripped(outcome("guardrail_abort", None))
        if dry_run:
            return outcome("planned", None)
        result = self._apply(plan)
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
        return outcome("done_with_failures" if result.failures else "done", result)

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
    ) -> tuple[Plan, dict[str, set[str]], dict[str, set[str]]]:
        """The plan, the contacts kept out of each list (holdout, opt-out), the lists' members."""
        lists, members = self._lists(targets, read_all=read_all, dry_run=dry_run)
        orphans, orphan_members = self._orphans(targets, dry_run=dry_run)
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
        )
        plan = dataclasses.replace(
            plan,
            orphans=orphans,
            list_changes=plan.list_changes + emptying_changes(orphans, orphan_members),
        )
        return plan, kept_out, members

    def _apply(self, plan: Plan) -> ExecutionResult:
        """Write the plan, each acknowledged batch checkpointed; forget contacts that are gone."""
        checkpoint = StoreCheckpoint(self.store, self.run_id, self.refusals)
        self.store.intend_lists(
            {c.segment: c.list_name for c in plan.list_changes if c.list_ref is None}
        )
        result = Executor(self.connector, self.retrier, self.progress, checkpoint).run(plan)
        self.store.forget_contacts(result.missing)
        return result

    def _mode(
        self,
        full: bool,
        cursor: tuple[datetime, int] | None,
        fields: Mapping[str, FieldInfo],
        read_fields: Sequence[str],
    ) -> str:
        """Full unless an incremental run can see everything it needs."""
        if full or cursor is None or any(name not in fields for name in self.sync_fields):
            return "full"
        last_full = self.store.last_full_run_started()
        if last_full is None or self.now - last_full > timedelta(
            hours=self.options.full_every_hours
        ):
            return "full"
        mirrored = self.store.mirror_fields()
        return "incremental" if mirrored is not None and set(read_fields) <= mirrored else "full"

    def _full_pull(
        self, read_fields: list[str], fields: Mapping[str, FieldInfo], dry_run: bool
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        # Only the segsync fields the CRM has: Salesforce refuses a query naming a missing one,
        # and on a first sync the plan has yet to create them.
        present = [name for name in self.sync_fields if name in fields]
        before = self._count_contacts()
        raw, modified = pull_contacts(
            self.connector, read_fields + present, self.retrier, self.progress
        )
        after = self._count_contacts()
        counts = [count for count in (before, after) if count is not None]
        self.pull_count = pull_count = PullCount(len(raw), min(counts) if counts else None)
        raw = raw.reindex(columns=read_fields + self.sync_fields).astype(object)
        raw = raw.where(raw.notna(), None)  # a field the CRM lacks reads as empty, not NaN
        rule_values = raw[read_fields]
        current = raw[self.sync_fields]
        if not dry_run:  # a pull that ended early replaces nothing: it only adds what it read
            complete = pull_count.complete
            self.store.save_mirror(_rows(rule_values), replace=complete)
            save_synced = self.store.replace_synced if complete else self.store.merge_synced
            save_synced(_rows(current.fillna("")))
        return rule_values, current, modified

    def _crm_time(self) -> datetime | None:
        """The CRM's time at its latest answer, when the connector can tell it."""
        return self.connector.crm_time() if isinstance(self.connector, CrmClock) else None

    def _count_contacts(self) -> int | None:
        """The CRM's own count of its contacts, when the connector can ask for it."""
        if not isinstance(self.connector, ContactCounting):
            return None
        return self.retrier.call(self.connector.count_contacts)

    def _forget_deleted(self, since: datetime | None, dry_run: bool) -> set[str]:
        """Contacts the CRM says it deleted since the last run: forgotten in the state store
        (mirror, synced values, list members, refusals) and left out of this run, so they are
        neither segmented nor written. Asked of the CRM, never inferred from a pull.

        Both CRMs take a deleted contact out of every list themselves (HubSpot on archiving,
        Salesforce deletes its campaign members along), so nothing is removed for them. A
        contact a merge deleted (Salesforce) is absorbed instead: its lists are the surviving
        record's now, in the CRM and so in the store (in dry runs too, as for the merges a pull
        reports), so the plan takes the survivor out of those it does not belong in.
        """
        if since is None or not isinstance(self.connector, DeletionReading):
            return set()
        merges: dict[str, str] = {}
        deleted = read_deleted(self.connector, since, self.retrier, merges=merges)
        self.store.absorb_merged(merges)
        if not dry_run:
            self.store.forget_contacts(deleted)
        return deleted

    def _incremental_pull(
        self, read_fields: list[str], since: datetime
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        merges: dict[str, str] = {}
        changed, modified = pull_changed_contacts(
            self.connector,
            read_fields + self.sync_fields,
            since,
            self.retrier,
            self.progress,
            merges=merges,
        )
        self.store.absorb_merged(merges)  # merged-away ids: forgotten, memberships moved
        mirror = self.store.mirror()
        mirror.update(_rows(changed[read_fields]))
        synced = self.store.synced_fields()
        synced.update(_rows(changed[self.sync_fields]))
        self.store.save_mirror(_rows(changed[read_fields]), replace=False)
        rule_values = text_frame(mirror, read_fields)
        current = text_frame(synced, self.sync_fields).reindex(rule_values.index)
        return rule_values, current, modified

    def _lists(
        self, targets: Sequence[SegmentTarget], *, read_all: bool, dry_run: bool
    ) -> tuple[dict[str, ListRef | None], dict[str, set[str]]]:
        """Each segment's list and members: read from the CRM, or from the state store.

        Every list found must be segsync's own (``claim_list``), checked before any write.
        An incremental run trusts the members it remembers only while the CRM reports the
        same member count: hand edits do not bump contacts' modification dates, so a list
        whose size differs is read again (a hand swap that keeps the size waits for the next
        full run).
        """
        tracked = self.store.members()
        owned = self.store.owned_lists()
        lists: dict[str, ListRef | None] = {}
        members: dict[str, set[str]] = {}
        for target in targets:
            found = self.retrier.call(self.connector.find_list, target.list_name)
            lists[target.name] = found
            if found is None:
                members[target.name] = set()
                continue
            claimed = claim_list(
                target,
                found,
                owned.get(target.name),
                tracked=target.name in tracked,
                adopt=self.options.adopt_lists,
                source=self.settings.source,
            )
            if claimed and not dry_run:
                self.store.own_list(target.name, found.id, found.name)
            # The store keeps no row for an empty list: a size of 0 needs no read either.
            remembered = tracked.get(target.name, set() if found.size == 0 else None)
            if not read_all and remembered is not None and found.size in (None, len(remembered)):
                members[target.name] = remembered
            else:
                members[target.name] = read_members(self.connector, found, self.retrier)
                if not dry_run:
                    self.store.replace_members(target.name, members[target.name])
        return lists, members

    def _orphans(
        self, targets: Sequence[SegmentTarget], *, dry_run: bool
    ) -> tuple[tuple[OrphanList, ...], dict[str, set[str]]]:
        """The owned lists of segments no longer configured, and the members of those this
        run empties. A list gone from the CRM (or renamed by hand) is reported once, then
        forgotten."""
        configured = {target.name for target in targets}
        action = self.options.orphan_lists
        orphans: list[OrphanList] = []
        members: dict[str, set[str]] = {}
        for segment, owned in sorted(self.store.owned_lists().items()):
            if segment in configured:
                continue
            found = self.retrier.call(self.connector.find_list, owned.list_name)
            if found is None or not owned.matches(found):
                if not dry_run:
                    self.store.forget_list(segment)
                orphans.append(OrphanList(segment, owned.list_name, None, None, action))
                continue
            size = found.size
            if action == "empty" and size != 0:
                members[segment] = read_members(self.connector, found, self.retrier)
                size = len(members[segment])
            orphans.append(OrphanList(segment, owned.list_name, found, size, action))
        return tuple(orphans), members

    def _check_orphan_action(self) -> None:
        if self.options.orphan_lists == "delete" and not isinstance(self.connector, ListDeleting):
            raise ConfigError(
                f"{self.settings.source}: sync.orphan_lists = \"delete\", but the "
                f"{self.connector.name} connector cannot delete lists: use \"keep\" or \"empty\""
            )

    def _opted_out(self, typed: pd.DataFrame) -> set[str]:
        name = self.options.opt_out_field
        if not name:
            return set()
        opted = typed[name].astype(str).str.lower().eq("true")  # bool or "true" text
        return set(opted.index[opted.to_numpy()])

    def _given_up(self, dry_run: bool) -> set[str]:
        """Contacts refused for good, or too often, whose cause is still there: not written.

        A refusal whose cause may have gone (see ``RefusalContext``) is cleared, unless this
        is a dry run, so the record is written again with a fresh count of attempts.
        """
        failures = self.store.failures()
        healed = [f.contact_id for f in failures if self.refusals.may_have_gone(f)]
        if healed and not dry_run:
            self.store.clear_failures(healed)
        limit = self.options.max_record_attempts
        return {f.contact_id for f in failures if given_up(f, limit)} - set(healed)


def _rows(frame: pd.DataFrame) -> dict[str, dict[str, str | None]]:
    clean = frame.astype(object).where(frame.notna(), None)
    records = zip(clean.index, clean.to_dict("records"), strict=False)
    return {str(cid): values for cid, values in records}


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
    run = SyncRun(
        connector,
        settings,
        store,
        progress,
        retry or RetryPolicy(),
        now or datetime.now(UTC),
    )
    try:
        with store.lock(settings.sync.lease_seconds):
            try:
                outcome = run.execute(dry_run=dry_run, force=force, full=full, refit=refit)
            except GuardrailTripped as exc:
                _finish(store, exc.args[0])
                raise
            except BaseException as exc:
                if getattr(run, "run_id", None) is not None:
                    store.finish_run(
                        run.run_id,
                        _failure_status(exc),
                        message=str(exc)[:2000],
                        api_calls=run.retrier.attempts,
                        retries=run.retrier.retries,
                    )
                raise
            _finish(store, outcome)
            return outcome
    finally:
        if own_store:
            store.close()


def _failure_status(exc: BaseException) -> str:
    return "budget_exhausted" if isinstance(exc, BudgetExhausted) else "failed"


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
