"""The run lease: at most one run of a sync at a time, across processes and hosts.

A lock row that never expires turns one SIGKILLed run (a pod evicted, a container OOM-killed)
into a sync that refuses to start for ever. So the lock is a *lease*: the holder renews it
from a heartbeat thread every third of ``lease_seconds``; a run that dies stops renewing, and
once its lease has lapsed the next run takes it over. A holder on this host whose process is
gone is taken over at once. Taking a lease is a compare-and-swap on the row, so two runs that
find the same lapsed lease cannot both win, on SQLite and PostgreSQL alike.

The holder names its host, its process and a random token: a reused pid, or another container
with the same hostname, is never mistaken for the holder.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, Select, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sync.state.clock import aware, utcnow
from sync.state.schema import leases

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 300.0
"""How long a run's lease lasts without a heartbeat: long enough to ride out a stalled
database connection, short enough that a killed run blocks its schedule for minutes, not days."""


class SyncLocked(Exception):
    """Another run of the same sync holds a live lease."""


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a sync's lease, since when, and until when unless renewed."""

    holder: str
    acquired_at: datetime
    expires_at: datetime

    def lapsed(self, now: datetime) -> bool:
        return self.expires_at <= now

    def describe(self, now: datetime) -> str:
        state = "lapsed" if self.lapsed(now) else "expires"
        return (
            f"{self.holder}, since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"{state} {self.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        )


def new_holder_name() -> str:
    """``host:pid:token``: the token tells a reused pid or a cloned hostname from the holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _process_gone(holder: str) -> bool:
    """Whether the holder ran on this host in a process that no longer exists."""
    host, _, rest = holder.partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RunLease:
    """The lease of one sync in the ``leases`` table of a state store."""

    def __init__(self, engine: Engine, sync_name: str, lease_seconds: float) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.engine = engine
        self.sync_name = sync_name
        self.lease = timedelta(seconds=lease_seconds)

    def current(self) -> LeaseHolder | None:
        """The lease as the store holds it (live or lapsed), or None."""
        with self.engine.connect() as connection:
            row = connection.execute(self._select()).first()
        return _holder(row) if row else None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lease for the duration, renewed by a heartbeat; release it at the end."""
        me = new_holder_name()
        self._acquire(me)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(me, stop), name="segsync-lease", daemon=True
        )
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            self.release(me)

    def release(self, holder: str | None = None) -> bool:
        """Drop the lease (only ``holder``'s, when given); whether a row was removed."""
        query = delete(leases).where(leases.c.sync_name == self.sync_name)
        if holder is not None:
            query = query.where(leases.c.holder == holder)
        with self.engine.begin() as tx:
            return tx.execute(query).rowcount > 0

    def _acquire(self, me: str) -> None:
        now = utcnow()
        values = {"holder": me, "acquired_at": now, "expires_at": now + self.lease}
        try:
            with self.engine.begin() as tx:
                row = tx.execute(self._select()).first()
                if row is None:
                    tx.execute(insert(leases).values(sync_name=self.sync_name, **values))
                    return
                self._take_over(tx, row, values, now)
        except IntegrityError:  # another run inserted the lease between our read and insert
            raise SyncLocked(
                f"sync {self.sync_name!r} is already running (it started a moment ago); "
                "wait for it to finish"
            ) from None

    def _take_over(
        self, tx: Connection, row: Row[Any], values: dict[str, Any], now: datetime
    ) -> None:
        """Replace a lapsed or dead holder's lease with ours, if no other run did it first."""
        current = _holder(row)
        if not (current.lapsed(now) or _process_gone(current.holder)):
            raise SyncLocked(
                f"sync {self.sync_name!r} is already running ({current.describe(now)}); "
                "wait for it to finish, or run `segsync unlock` if it is dead"
            )
        taken = tx.execute(
            update(leases)
            .where(
                leases.c.sync_name == self.sync_name,
                leases.c.holder == current.holder,
                leases.c.expires_at == row.expires_at,
            )
            .values(**values)
        )
        if taken.rowcount != 1:
            raise SyncLocked(
                f"sync {self.sync_name!r}: another run took over the lapsed lease of "
                f"{current.holder} first"
            )
        log.warning("took over the lease of sync %r from %s", self.sync_name, current.holder)

    def _heartbeat(self, me: str, stop: threading.Event) -> None:
        """Renew the lease every third of its length until told to stop."""
        interval = self.lease.total_seconds() / 3
        while not stop.wait(interval):
            try:
                with self.engine.begin() as tx:
                    renewed = tx.execute(
                        update(leases)
                        .where(leases.c.sync_name == self.sync_name, leases.c.holder == me)
                        .values(expires_at=utcnow() + self.lease)
                    ).rowcount
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease has slack
                log.warning("could not renew the lease of sync %r", self.sync_name, exc_info=True)
                continue
            if not renewed:
                log.error("sync %r lost its lease (released by `segsync unlock`?)", self.sync_name)
                return

    def _select(self) -> Select[Any]:
        return select(leases).where(leases.c.sync_name == self.sync_name)


def _holder(row: Row[Any]) -> LeaseHolder:
    return LeaseHolder(row.holder, aware(row.acquired_at), aware(row.expires_at))
