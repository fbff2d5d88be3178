"""The executor: carries out a plan against a connector, batch by batch.

It is the only part of the sync that writes to the CRM. Every call goes through the run's
``Retrier`` (pacing and retries). Independent batches (property writes, list member chunks) run
on up to ``limits.max_concurrency`` threads: one call at a time, a CRM's latency rather than its
rate limit would cap the run, and the pacer keeps all threads together within the rate. Each
batch the CRM acknowledged is reported to the checkpoint as soon as its answer is back, on the
calling thread (the state store is not thread-safe), so a run killed at any moment leaves a
record of exactly what was done: what the CRM's answer confirmed, nothing more. Per-record
rejections are collected, never raised; a batch the CRM refuses whole for some invalid record
is split in halves until that record stands alone, so the others are written in the same run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from connectors.base import (
    BatchRejected,
    Connector,
    ListRef,
    MembershipChange,
    PropertyWrite,
    RequestRejected,
    WriteResult,
)
from connectors.capabilities import ListDeleting
from sync.effect import BatchEffect
from sync.plan import ListChange, OrphanList, Plan
from sync.progress import ProgressSink
from sync.retry import Retrier
from sync.status import BatchKind

T = TypeVar("T")
R = TypeVar("R")

UNCONFIRMED_RESENDS = 2
"""How often records a write's answer did not confirm are resent within one run."""
WRITE_STEP = "Writing segment properties"
LISTS_STEP = "Updating lists"


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Checkpoint(Protocol):
    """Receives each batch the CRM acknowledged, with its effect (the state store, in a run)."""

    def batch_done(self, effect: BatchEffect) -> None: ...


class NoCheckpoint:
    """For callers that keep no state (one-off library use)."""

    def batch_done(self, effect: BatchEffect) -> None:
        """Nothing is remembered."""


@dataclass
class ExecutionResult:
    """What the executor did: records written, list members moved, records refused or gone."""

    written: set[str] = field(default_factory=set)
    failures: list[WriteResult] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    list_adds: dict[str, int] = field(default_factory=dict)
    list_removes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Batch(Generic[R]):
    """One call to the CRM (``send``, run on a worker) and how to record its answer
    (``record``, run on the executor's own thread, which returns the batches the answer calls
    for next: the halves of a refused batch, the records to resend)."""

    send: Callable[[], R]
    record: Callable[[R], Iterable[_Batch[Any]]]


def _refused(contact_id: str, rejection: BatchRejected) -> WriteResult:
    """A record that a batch of its own was refused for: the CRM's code and message."""
    code = rejection.code or "REJECTED"
    return WriteResult(contact_id, ok=False, code=code, message=str(rejection))


class Executor:
    """Applies one plan through one connector."""

    def __init__(
        self,
        connector: Connector,
        retrier: Retrier,
        progress: ProgressSink,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.connector = connector
        self._call = retrier.call
        self.progress = progress
        self.checkpoint = checkpoint or NoCheckpoint()
        self.workers = connector.limits.max_concurrency
        self.result = ExecutionResult()

    def run(self, plan: Plan) -> ExecutionResult:
        """Fields first (writes need their options), then properties, then lists."""
        for spec in plan.fields:
            self._call(
                self.connector.ensure_segment_field,
                spec,
                requests=self.connector.limits.setup_requests,
            )
            self.checkpoint.batch_done(BatchEffect(BatchKind.FIELD, spec.name, 1))
        self._write_properties(plan)
        self._apply_list_changes(plan.list_changes)
        self._delete_orphans(plan.orphans)
        return self.result

    def _delete_orphans(self, orphans: Sequence[OrphanList]) -> None:
        """Delete the orphan lists ``orphan_lists = "delete"`` names; the store forgets them."""
        for orphan in orphans:
            if orphan.to_delete:
                assert orphan.list_ref is not None and isinstance(self.connector, ListDeleting)
                self._call(self.connector.delete_list, orphan.list_ref)
                self.checkpoint.batch_done(
                    BatchEffect(BatchKind.LIST_DELETE, orphan.segment, 1, deleted=True)
                )

    def _write_properties(self, plan: Plan) -> None:
        self.progress.start(WRITE_STEP, len(plan.writes))
        self._run_batches(
            self._write_batch(batch, UNCONFIRMED_RESENDS)
            for batch in chunks(plan.writes, self.connector.limits.write_batch_size)
        )
        self.progress.finish(WRITE_STEP)

    def _write_batch(
        self, batch: Sequence[PropertyWrite], resends: int
    ) -> _Batch[list[WriteResult] | BatchRejected]:
        """One batch write; its answer may ask for more batches (see ``_record_writes``)."""

        def send() -> list[WriteResult] | BatchRejected:
            try:
                return self._call(self.connector.write_properties, batch)
            except BatchRejected as exc:  # answered on this thread: split, not fail
                return exc

        return _Batch(send, partial(self._record_writes, batch, resends))

    def _record_writes(
        self,
        batch: Sequence[PropertyWrite],
        resends: int,
        answer: list[WriteResult] | BatchRejected,
    ) -> list[_Batch[Any]]:
        """Checkpoint what the CRM confirmed, and return the batches still to send.

        A batch refused whole is split in halves, each resent, until each refused record
        stands alone and becomes a failure of its own: every innocent record of the batch is
        written in the same run, in at most 2·log2(batch size) more calls. Records the answer
        did not confirm (or refused as retryable) are resent up to ``resends`` times; after
        that they are retryable failures, for the next run.
        """
        if isinstance(answer, BatchRejected):
            if len(batch) > 1:
                middle = len(batch) // 2
                halves = (batch[:middle], batch[middle:])
                return [self._write_batch(half, resends) for half in halves]
            answer = [_refused(batch[0].contact_id, answer)]
        again = [o.contact_id for o in answer if not o.ok and o.retryable] if resends else []
        settled = [o for o in answer if o.contact_id not in again]
        values = {write.contact_id: write.values for write in batch}
        written = {o.contact_id: values[o.contact_id] for o in settled if o.ok}
        missing = [o.contact_id for o in settled if not o.ok and o.missing]
        refused = [o for o in settled if not o.ok and not o.missing]
        self.checkpoint.batch_done(
            BatchEffect(
                BatchKind.WRITE, "properties", len(batch), written=written, failures=tuple(refused)
            )
        )
        self.result.written.update(written)
        self.result.missing.extend(missing)
        self.result.failures.extend(refused)
        self.progress.advance(WRITE_STEP, len(settled))
        retry = [write for write in batch if write.contact_id in again]
        return [self._write_batch(retry, resends - 1)] if retry else []

    def _apply_list_changes(self, changes: Sequence[ListChange]) -> None:
        """The missing lists are created first, several at once, then all member chunks run
        as one pool."""
        size = self.connector.limits.list_change_batch_size
        self.progress.start(LISTS_STEP, sum(len(c.add) + len(c.remove) for c in changes))
        created: dict[str, ListRef] = {}
        self._run_batches(
            self._create_list(change, created) for change in changes if change.list_ref is None
        )
        batches: list[_Batch[MembershipChange]] = []
        for change in changes:
            list_ref = change.list_ref or created[change.segment]
            batches.extend(
                self._list_batch(BatchKind.LIST_ADD, change.segment, list_ref, ids)
                for ids in chunks(change.add, size)
            )
            batches.extend(
                self._list_batch(BatchKind.LIST_REMOVE, change.segment, list_ref, ids)
                for ids in chunks(change.remove, size)
            )
        self._run_batches(batches)
        for change in changes:
            self.result.list_adds[change.segment] = len(change.add)
            self.result.list_removes[change.segment] = len(change.remove)
        self.progress.finish(LISTS_STEP)

    def _list_batch(
        self, kind: BatchKind, segment: str, list_ref: ListRef, ids: Sequence[str]
    ) -> _Batch[MembershipChange]:
        """One chunk of a list's additions (``list_add``) or removals (``list_remove``).

        Only what the CRM's answer allows is recorded: an added id is a member unless the CRM
        reported it missing, and a missing contact is gone from the CRM, so it is forgotten
        like a write's missing record.
        """
        adding = kind is BatchKind.LIST_ADD
        send = self.connector.add_list_members if adding else self.connector.remove_list_members

        def record(answer: MembershipChange) -> list[_Batch[Any]]:
            missing = set(answer.missing)
            present = [i for i in ids if i not in missing]
            self.checkpoint.batch_done(
                BatchEffect(
                    kind,
                    segment,
                    len(ids),
                    added=tuple(present) if adding else (),
                    removed=() if adding else tuple(present),
                )
            )
            self.result.missing.extend(missing)
            self.progress.advance(LISTS_STEP, len(ids))
            return []

        return _Batch(partial(self._call, send, list_ref, ids), record)

    def _run_batches(self, batches: Iterable[_Batch[Any]]) -> None:
        """Send the batches, up to ``workers`` at a time, recording each answer on this thread.

        The batches an answer asks for (a split, a resend) go out before the next new one.
        After a failure no new batch is sent, but those already in flight are waited for and
        recorded before the first failure is raised: the checkpoint must not miss a batch the
        CRM carried out.
        """
        todo = iter(batches)
        follow_ups: deque[_Batch[Any]] = deque()
        in_flight: dict[Future[Any], _Batch[Any]] = {}
        failure: BaseException | None = None
        with ThreadPoolExecutor(self.workers, thread_name_prefix="segsync-batch") as pool:
            while True:
                while failure is None and len(in_flight) < self.workers:
                    batch = follow_ups.popleft() if follow_ups else next(todo, None)
                    if batch is None:
                        break
                    in_flight[pool.submit(batch.send)] = batch
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = in_flight.pop(future)
                    error = future.exception()
                    try:
                        if error is not None:
                            raise error
                        follow_ups.extend(batch.record(future.result()))
                    except BaseException as exc:  # the batches in flight are still recorded
                        failure = failure or exc
        if failure is not None:
            raise failure

    def _create_list(
        self, change: ListChange, created: dict[str, ListRef]
    ) -> _Batch[ListRef | RequestRejected]:
        """The segment's new list, recorded as segsync's own as soon as the CRM has it (and
        put in ``created``).

        A create the CRM refuses made no list: the intent to create it is forgotten, so a list
        of that name a person made meanwhile (HubSpot refuses the duplicate name) is never
        taken for segsync's own by a later run.
        """

        def send() -> ListRef | RequestRejected:
            try:
                return self._find_or_create_list(change.list_name)
            except RequestRejected as exc:  # answered: recorded on the executor's thread
                return exc

        def record(answer: ListRef | RequestRejected) -> list[_Batch[Any]]:
            if isinstance(answer, RequestRejected):
                self.checkpoint.batch_done(
                    BatchEffect(BatchKind.LIST_CREATE_REFUSED, change.segment, 1, deleted=True)
                )
                raise answer
            self.checkpoint.batch_done(
                BatchEffect(BatchKind.LIST_CREATE, change.segment, 1, created=answer)
            )
            created[change.segment] = answer
            return []

        return _Batch(send, record)

    def _find_or_create_list(self, name: str) -> ListRef:
        """Create the list the plan saw missing, in one call; a retry finds it first.

        Creating and finding are retried as one unit: when a create's answer is lost, the
        retry finds the list it made instead of making a second one (Salesforce allows
        duplicate campaign names). The first attempt does not look: the plan read the name a
        moment ago, and a list a person created since is not taken over silently, as the
        CRM's duplicate-name refusal (HubSpot) fails the run with its message.
        """
        attempts = 0

        def create() -> ListRef:
            nonlocal attempts
            attempts += 1
            found = self.connector.find_list(name) if attempts > 1 else None
            return found or self.connector.create_list(name)

        return self._call(create, requests=self.connector.limits.setup_requests)
