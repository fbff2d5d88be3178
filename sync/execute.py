"""The executor: carries out a plan against a connector, batch by batch.

It is the only part of the sync that writes to the CRM. Every call goes through the run's
``Retrier`` (pacing and retries). Independent batches (property writes, list member chunks) run
on up to ``limits.max_concurrency`` threads: one call at a time, a CRM's latency rather than its
rate limit would cap the run, and the pacer keeps all threads together within the rate. Each
batch the CRM acknowledged is reported to the checkpoint as soon as its answer is back, on the
calling thread (the state store is not thread-safe), so a run killed at any moment leaves a
record of exactly what was done. Per-record rejections are collected, never raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from connectors.base import Connector, ListDeleting, ListRef, PropertyWrite, WriteResult
from sync.plan import ListChange, OrphanList, Plan
from sync.progress import ProgressSink
from sync.retry import Retrier

T = TypeVar("T")
R = TypeVar("R")

WRITE_STEP = "Writing segment properties"
LISTS_STEP = "Updating lists"


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Checkpoint(Protocol):
    """Receives each batch the CRM acknowledged, with its effect (the state store, in a run)."""

    def batch_done(
        self,
        kind: str,
        target: str,
        size: int,
        *,
        written: Mapping[str, Mapping[str, str]] | None = None,
        added: Iterable[str] = (),
        removed: Iterable[str] = (),
        failures: Sequence[WriteResult] = (),
        created: ListRef | None = None,
        deleted: bool = False,
    ) -> None: ...


class NoCheckpoint:
    """For callers that keep no state (one-off library use)."""

    def batch_done(self, kind: str, target: str, size: int, **effects: object) -> None:
        pass


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
    (``record``, run on the executor's own thread)."""

    send: Callable[[], R]
    record: Callable[[R], None]


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
            self.checkpoint.batch_done("field", spec.name, 1)
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
                self.checkpoint.batch_done("list_delete", orphan.segment, 1, deleted=True)

    def _write_properties(self, plan: Plan) -> None:
        self.progress.start(WRITE_STEP, len(plan.writes))
        values = {write.contact_id: write.values for write in plan.writes}

        def record(batch: Sequence[PropertyWrite], outcomes: list[WriteResult]) -> None:
            written = {o.contact_id: values[o.contact_id] for o in outcomes if o.ok}
            missing = [o.contact_id for o in outcomes if not o.ok and o.missing]
            refused = [o for o in outcomes if not o.ok and not o.missing]
            self.checkpoint.batch_done(
                "write", "properties", len(batch), written=written, failures=refused
            )
            self.result.written.update(written)
            self.result.missing.extend(missing)
            self.result.failures.extend(refused)
            self.progress.advance(WRITE_STEP, len(batch))

        self._run_batches(
            _Batch(
                partial(self._call, self.connector.write_properties, batch), partial(record, batch)
            )
            for batch in chunks(plan.writes, self.connector.limits.write_batch_size)
        )
        self.progress.finish(WRITE_STEP)

    def _apply_list_changes(self, changes: Sequence[ListChange]) -> None:
        """Every list is found or created first, then all member chunks run as one pool."""
        size = self.connector.limits.list_change_batch_size
        self.progress.start(LISTS_STEP, sum(len(c.add) + len(c.remove) for c in changes))
        batches: list[_Batch[None]] = []
        for change in changes:
            list_ref = change.list_ref or self._create_list(change)
            batches.extend(
                self._list_batch("list_add", change.segment, list_ref, ids)
                for ids in chunks(change.add, size)
            )
            batches.extend(
                self._list_batch("list_remove", change.segment, list_ref, ids)
                for ids in chunks(change.remove, size)
            )
        self._run_batches(batches)
        for change in changes:
            self.result.list_adds[change.segment] = len(change.add)
            self.result.list_removes[change.segment] = len(change.remove)
        self.progress.finish(LISTS_STEP)

    def _list_batch(
        self, kind: str, segment: str, list_ref: ListRef, ids: Sequence[str]
    ) -> _Batch[None]:
        """One chunk of a list's additions (``list_add``) or removals (``list_remove``)."""
        adding = kind == "list_add"
        send = self.connector.add_list_members if adding else self.connector.remove_list_members

        def record(_answer: None) -> None:
            self.checkpoint.batch_done(
                kind, segment, len(ids), added=ids if adding else (), removed=() if adding else ids
            )
            self.progress.advance(LISTS_STEP, len(ids))

        return _Batch(partial(self._call, send, list_ref, ids), record)

    def _run_batches(self, batches: Iterable[_Batch[Any]]) -> None:
        """Send the batches, up to ``workers`` at a time, recording each answer on this thread.

        After a failure no new batch is sent, but those already in flight are waited for and
        recorded before the first failure is raised: the checkpoint must not miss a batch the
        CRM carried out.
        """
        todo = iter(batches)
        in_flight: dict[Future[Any], _Batch[Any]] = {}
        failure: BaseException | None = None
        with ThreadPoolExecutor(self.workers, thread_name_prefix="segsync-batch") as pool:
            while True:
                while failure is None and len(in_flight) < self.workers:
                    batch = next(todo, None)
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
                        batch.record(future.result())
                    except BaseException as exc:  # the batches in flight are still recorded
                        failure = failure or exc
        if failure is not None:
            raise failure

    def _create_list(self, change: ListChange) -> ListRef:
        """The segment's new list, recorded as segsync's own as soon as the CRM has it."""
        list_ref = self._find_or_create_list(change.list_name)
        self.checkpoint.batch_done("list_create", change.segment, 1, created=list_ref)
        return list_ref

    def _find_or_create_list(self, name: str) -> ListRef:
        """A list the plan saw missing may have been created since (by a person, a rerun).

        Finding and creating are retried as one unit: when a create's answer is lost, the
        retry finds the list it made instead of failing on the duplicate name.
        """

        def find_or_create() -> ListRef:
            return self.connector.find_list(name) or self.connector.create_list(name)

        return self._call(find_or_create, requests=self.connector.limits.setup_requests)
