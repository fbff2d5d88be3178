"""The run history: one row per run, and one per batch a run had acknowledged by the CRM."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from sync.effect import BatchEffect
from sync.state.clock import aware, utcnow
from sync.state.schema import run_batches, runs
from sync.status import COMPLETED, RunMode, RunStatus


@dataclass(frozen=True)
class RunRecord:
    """One row of the run history."""

    id: int
    sync_name: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    mode: str
    dry_run: bool
    contacts: int
    writes: int
    list_adds: int
    list_removes: int
    failures: int
    api_calls: int
    retries: int
    batches_planned: int
    message: str
    summary: str

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class RunHistory:
    """One sync's rows of ``runs`` and ``run_batches``."""

    def __init__(self, sync_name: str) -> None:
        self.sync_name = sync_name

    def start(self, tx: Connection, mode: RunMode, dry_run: bool) -> int:
        """A new run, running from now; its id."""
        result = tx.execute(
            insert(runs).values(
                sync_name=self.sync_name,
                started_at=utcnow(),
                status=RunStatus.RUNNING,
                mode=mode,
                dry_run=dry_run,
            )
        )
        key = result.inserted_primary_key
        assert key is not None  # an INSERT of one row always reports its key
        return int(key[0])

    def update(self, tx: Connection, run_id: int, **values: Any) -> None:
        tx.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def last(self, connection: Connection) -> RunRecord | None:
        """The newest run that was meant to write (dry runs are plans, not runs)."""
        query = select(runs).where(runs.c.sync_name == self.sync_name, runs.c.dry_run.is_(False))
        row = connection.execute(query.order_by(runs.c.id.desc())).first()
        return _run(row) if row else None

    def last_full_started(self, connection: Connection) -> datetime | None:
        """When the newest full run that wrote its plan through started."""
        query = (
            select(runs.c.started_at)
            .where(
                runs.c.sync_name == self.sync_name,
                runs.c.mode == RunMode.FULL,
                runs.c.dry_run.is_(False),
                runs.c.status.in_(COMPLETED),
            )
            .order_by(runs.c.id.desc())
        )
        row = connection.execute(query).first()
        return aware(row.started_at) if row else None

    def recent(self, connection: Connection, limit: int) -> list[RunRecord]:
        """The newest ``limit`` runs, newest first."""
        query = (
            select(runs)
            .where(runs.c.sync_name == self.sync_name)
            .order_by(runs.c.id.desc())
            .limit(limit)
        )
        return [_run(row) for row in connection.execute(query)]

    def get(self, connection: Connection, run_id: int) -> RunRecord | None:
        row = connection.execute(select(runs).where(runs.c.id == run_id)).first()
        return _run(row) if row else None

    def record_batch(self, tx: Connection, run_id: int, seq: int, effect: BatchEffect) -> None:
        """Note that batch ``seq`` of run ``run_id`` reached the CRM."""
        tx.execute(
            insert(run_batches).values(
                run_id=run_id,
                seq=seq,
                kind=effect.kind,
                target=effect.target,
                size=effect.size,
                done_at=utcnow(),
            )
        )

    def batches_done(self, connection: Connection, run_id: int) -> int:
        query = select(func.count()).select_from(run_batches).where(run_batches.c.run_id == run_id)
        return int(connection.execute(query).scalar_one())

    def has_written(self, connection: Connection) -> bool:
        """Whether any run of this sync ever had a batch acknowledged by the CRM."""
        query = (
            select(run_batches.c.run_id)
            .join(runs, runs.c.id == run_batches.c.run_id)
            .where(runs.c.sync_name == self.sync_name)
            .limit(1)
        )
        return connection.execute(query).first() is not None

    def forget_person(self, tx: Connection, contact_id: str) -> int:
        """Remove the contact's lines from the summaries' failures; how many there were."""
        removed = 0
        for run_id, summary in tx.execute(
            select(runs.c.id, runs.c.summary).where(runs.c.sync_name == self.sync_name)
        ).all():
            data = json.loads(summary or "{}")
            failures = data.get("failures") or []
            kept = [f for f in failures if f.get("contact_id") != contact_id]
            if len(kept) != len(failures):
                removed += len(failures) - len(kept)
                data["failures"] = kept
                tx.execute(update(runs).where(runs.c.id == run_id).values(summary=json.dumps(data)))
        return removed


def _run(row: Any) -> RunRecord:
    values = dict(row._mapping)
    values["started_at"] = aware(values["started_at"])
    if values["finished_at"] is not None:
        values["finished_at"] = aware(values["finished_at"])
    return RunRecord(**values)
