"""The executor: carries out a plan against a connector, batch by batch.

It is the only part of the sync that writes to the CRM. Every call goes through the run's
``Retrier`` (pacing and retries); every batch that reaches the CRM is reported to the
checkpoint before the next one starts, so a run killed at any moment leaves a record of
exactly what was done. Per-record rejections are collected, never raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from connectors.base import Connector, ListRef, WriteResult
from sync.plan import ListChange, Plan
from sync.progress import ProgressSink
from sync.retry import Retrier

T = TypeVar("T")

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
        self.result = ExecutionResult()

    def run(self, plan: Plan) -> ExecutionResult:
        """Fields first (writes need their options), then properties, then lists."""
        for spec in plan.fields:
            self._call(self.connector.ensure_segment_field, spec)
            self.checkpoint.batch_done("field", spec.name, 1)
        self._write_properties(plan)
        self._apply_list_changes(plan.list_changes)
        return self.result

    def _write_properties(self, plan: Plan) -> None:
        self.progress.start(WRITE_STEP, len(plan.writes))
        values = {write.contact_id: write.values for write in plan.writes}
        for batch in chunks(plan.writes, self.connector.limits.write_batch_size):
            outcomes = self._call(self.connector.write_properties, batch)
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
        self.progress.finish(WRITE_STEP)

    def _apply_list_changes(self, changes: Sequence[ListChange]) -> None:
        size = self.connector.limits.list_change_batch_size
        self.progress.start(LISTS_STEP, sum(len(c.add) + len(c.remove) for c in changes))
        for change in changes:
            list_ref = change.list_ref or self._find_or_create_list(change.list_name)
            for ids in chunks(change.add, size):
                self._call(self.connector.add_list_members, list_ref, ids)
                self.checkpoint.batch_done("list_add", change.segment, len(ids), added=ids)
                self.progress.advance(LISTS_STEP, len(ids))
            for ids in chunks(change.remove, size):
                self._call(self.connector.remove_list_members, list_ref, ids)
                self.checkpoint.batch_done("list_remove", change.segment, len(ids), removed=ids)
                self.progress.advance(LISTS_STEP, len(ids))
            self.result.list_adds[change.segment] = len(change.add)
            self.result.list_removes[change.segment] = len(change.remove)
        self.progress.finish(LISTS_STEP)

    def _find_or_create_list(self, name: str) -> ListRef:
        """A list the plan saw missing may have been created since (by a person, a rerun).

        Finding and creating are retried as one unit: when a create's answer is lost, the
        retry finds the list it made instead of failing on the duplicate name.
        """

        def find_or_create() -> ListRef:
            return self.connector.find_list(name) or self.connector.create_list(name)

        return self._call(find_or_create)
