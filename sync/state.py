"""The state store: what segsync remembers between runs, in SQLite by default.

It goes through SQLAlchemy Core, so a PostgreSQL URL works the same. It holds:

- ``runs`` and ``run_batches``: the history, and how far the current run got (each batch is
  recorded in the same transaction as its effect on the synced state — that is the checkpoint);
- ``contacts``: a mirror of the field values last pulled, so an incremental run can segment
  every contact while pulling only the changed ones;
- ``synced`` and ``members``: what the CRM holds of segsync's fields and lists, as last seen or
  written, so an incremental run plans without re-reading everything;
- ``record_failures``: per-record rejections, with attempts, so they are retried but not forever,
  and with what each depended on, so they are tried afresh once the cause may have gone;
- ``owned_lists``: the CRM list of each segment that segsync created (or was told to adopt),
  by id: a list that merely has a segment's list name is never taken over silently;
- ``cursors``, ``models`` (cluster models), ``leases`` (the run lease, see ``sync.lease``)
  and ``schema_version`` (the layout's version, for migrations).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.schema import CreateIndex, CreateTable

from connectors.base import ListRef
from sync.effect import BatchEffect
from sync.lease import DEFAULT_LEASE_SECONDS, RunLease, SyncLocked  # noqa: F401 - re-exported
from sync.private import PRIVATE_FOLDER, ensure_private_file

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sync_name", String(200), nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(40), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("contacts", Integer, nullable=False, default=0),
    Column("writes", Integer, nullable=False, default=0),
    Column("list_adds", Integer, nullable=False, default=0),
    Column("list_removes", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("retries", Integer, nullable=False, default=0),
    Column("batches_planned", Integer, nullable=False, default=0),
    Column("message", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default="{}"),
)
run_batches = Table(
    "run_batches",
    metadata,
    Column("run_id", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("target", String(300), nullable=False),
    Column("size", Integer, nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=False),
)
contacts = Table(
    "contacts",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("fields", Text, nullable=False),
)
synced = Table(
    "synced",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("fields", Text, nullable=False),
)
members = Table(
    "members",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("segment", String(300), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
)
owned_lists = Table(
    "owned_lists",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("segment", String(300), primary_key=True),
    Column("list_id", String(64), nullable=False),
    Column("list_name", String(300), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
record_failures = Table(
    "record_failures",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("code", String(100), nullable=False),
    Column("message", Text, nullable=False),
    Column("retryable", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("contact_modified_at", Text),
    Column("options_digest", Text),
)
ADDED_COLUMNS = {"record_failures": ("contact_modified_at", "options_digest")}
"""Nullable columns added after the first release: ``create_schema`` adds them to an older
database when it opens it (creating tables only creates the missing ones)."""
cursors = Table(
    "cursors",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("watermark", DateTime(timezone=True), nullable=False),
    Column("contacts_seen", Integer, nullable=False),
)
leases = Table(
    "leases",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("holder", String(300), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
schema_version = Table(
    "schema_version",
    metadata,
    Column("component", String(40), primary_key=True),
    Column("version", Integer, nullable=False),
)
models = Table(
    "models",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("blob", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

CHUNK = 5_000
"""Rows per executemany: keeps memory flat on 10^6-contact mirrors."""

SCHEMA_VERSION = 4
"""The state store's layout: 1 had an eternal ``locks`` table, 2 has ``leases``, 3 records
what each refusal depended on, 4 has ``owned_lists`` (an older segsync would create lists
without recording them, which this one would then refuse as someone else's). A later release
that changes a table migrates from the version recorded in ``schema_version``."""
SCHEMA_LOCK_KEY = 0x5E65_5E6C
"""PostgreSQL advisory lock held while creating the schema: concurrent ``CREATE TABLE IF NOT
EXISTS`` can still collide in PostgreSQL's catalog, so first runs on a fresh database queue."""


class StateStoreUnavailable(Exception):
    """The state store cannot be opened; the message says what to install or fix."""


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


PENDING_LIST_ID = ""
"""The list id of an owned list segsync set out to create and has not seen created yet."""


@dataclass(frozen=True)
class OwnedList:
    """A CRM list segsync owns: the one it created (or adopted) for ``segment``."""

    segment: str
    list_id: str
    list_name: str
    created_at: datetime

    def matches(self, found: ListRef) -> bool:
        """Whether ``found`` is this list: its id, or (while its creation was under way) its
        name."""
        if self.list_id == PENDING_LIST_ID:
            return self.list_name.casefold() == found.name.casefold()
        return self.list_id == found.id


@dataclass(frozen=True)
class RecordFailure:
    """A record the CRM refused, as kept between runs."""

    contact_id: str
    run_id: int
    code: str
    message: str
    retryable: bool
    attempts: int
    contact_modified_at: str | None = None
    """The contact's modification time (ISO 8601) as last pulled before the refusal: a later
    one means the contact changed since. None when unknown (not pulled, an older store)."""
    options_digest: str | None = None
    """A digest of the segsync fields' options when the contact was refused."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; everything segsync stores is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def create_schema(engine: Engine) -> None:
    """Create what is missing, idempotently, and record the layout's version.

    Several processes may open a fresh database at once (CronJobs started together): each
    table is created with IF NOT EXISTS, under an advisory lock on PostgreSQL. A store written
    by a newer segsync is refused rather than misread.
    """
    with engine.begin() as tx:
        if tx.dialect.name == "postgresql":
            tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        for table in metadata.sorted_tables:
            tx.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                tx.execute(CreateIndex(index, if_not_exists=True))
        _add_missing_columns(tx)
        stored = tx.execute(
            select(schema_version.c.version).where(schema_version.c.component == "state")
        ).scalar()
        if stored is None:  # another process may record it first: that is no conflict
            tx.execute(
                _insert_if_absent(tx, schema_version).values(
                    component="state", version=SCHEMA_VERSION
                )
            )
        elif stored > SCHEMA_VERSION:
            raise StateStoreUnavailable(
                f"the state store was written by a newer segsync (schema {stored}, this one "
                f"reads {SCHEMA_VERSION}): upgrade segsync"
            )
        elif stored < SCHEMA_VERSION:
            tx.execute(
                update(schema_version)
                .where(schema_version.c.component == "state")
                .values(version=SCHEMA_VERSION)
            )


def _insert_if_absent(tx: Connection, table: Table) -> Any:
    """An INSERT that leaves an existing row with the same key alone (SQLite, PostgreSQL)."""
    dialect_insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}.get(
        tx.dialect.name
    )
    return dialect_insert(table).on_conflict_do_nothing() if dialect_insert else insert(table)


def _engine(url: str) -> Engine:
    """The engine for ``url``; a missing database driver is one line saying what to install.

    A new SQLite file is created readable by its owner only: it holds contact data. (SQLite
    gives its WAL and shared-memory files the database file's permissions.)
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateStoreUnavailable(f"state_url is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        try:
            ensure_private_file(Path(parsed.database))
        except OSError as exc:
            raise StateStoreUnavailable(
                f"cannot create the state database {parsed.database}: {exc.strerror}"
            ) from None
    try:
        return create_engine(parsed)
    except ModuleNotFoundError as exc:
        extra = " (pip install 'segsync[postgres]')" if url.startswith("postgres") else ""
        raise StateStoreUnavailable(
            f"state_url needs the database driver {exc.name!r}, which is not installed{extra}"
        ) from None
    except ArgumentError as exc:
        raise StateStoreUnavailable(f"state_url is not a database URL: {exc}") from None


def default_url(state_dir: Path) -> str:
    state_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    return f"sqlite:///{state_dir / 'state.db'}"


class StateStore:
    """segsync's memory, scoped to one sync name."""

    def __init__(self, url: str, sync_name: str) -> None:
        self.sync_name = sync_name
        self.engine: Engine = _engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        create_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    # -- lock ------------------------------------------------------------------------------

    def lease(self, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> RunLease:
        """The sync's run lease (see ``sync.lease``)."""
        return RunLease(self.engine, leases, self.sync_name, lease_seconds)

    @contextmanager
    def lock(self, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Iterator[None]:
        """Hold the sync's lease for the duration; a lapsed or dead holder's is taken over."""
        with self.lease(lease_seconds).held():
            yield

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, mode: str, dry_run: bool) -> int:
        with self.transaction() as tx:
            result = tx.execute(
                insert(runs).values(
                    sync_name=self.sync_name,
                    started_at=utcnow(),
                    status="running",
                    mode=mode,
                    dry_run=dry_run,
                )
            )
            return int(result.inserted_primary_key[0])

    def update_run(self, run_id: int, **values: Any) -> None:
        with self.transaction() as tx:
            tx.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def finish_run(self, run_id: int, status: str, **values: Any) -> None:
        self.update_run(run_id, status=status, finished_at=utcnow(), **values)

    def last_run(self) -> RunRecord | None:
        """The newest run that was meant to write (dry runs are plans, not runs)."""
        query = select(runs).where(runs.c.sync_name == self.sync_name, runs.c.dry_run.is_(False))
        row = self._first(query.order_by(runs.c.id.desc()))
        return _run(row) if row else None

    def last_full_run_started(self) -> datetime | None:
        """When the newest full run that wrote its plan through started."""
        query = (
            select(runs.c.started_at)
            .where(
                runs.c.sync_name == self.sync_name,
                runs.c.mode == "full",
                runs.c.dry_run.is_(False),
                runs.c.status.in_(("done", "done_with_failures")),
            )
            .order_by(runs.c.id.desc())
        )
        row = self._first(query)
        return _aware(row.started_at) if row else None

    def runs(self, limit: int = 50) -> list[RunRecord]:
        query = (
            select(runs)
            .where(runs.c.sync_name == self.sync_name)
            .order_by(runs.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [_run(row) for row in connection.execute(query)]

    def run(self, run_id: int) -> RunRecord | None:
        row = self._first(select(runs).where(runs.c.id == run_id))
        return _run(row) if row else None

    def batches_done(self, run_id: int) -> int:
        query = select(func.count()).select_from(run_batches).where(run_batches.c.run_id == run_id)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def _first(self, query: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(query).first()

    # -- checkpoints: a batch and its effect on the synced state, in one transaction ------

    def record_batch(
        self, run_id: int, seq: int, effect: BatchEffect, *, refusals: Sequence[RecordFailure] = ()
    ) -> None:
        """Remember that a batch reached the CRM, and what the CRM now holds because of it.

        ``refusals`` are the effect's failures as kept between runs, with what each depended
        on (see ``sync.refusals``).
        """
        with self.transaction() as tx:
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
            if effect.written:
                self._merge_synced(tx, effect.written)
                self._delete_ids(tx, record_failures, list(effect.written))
            if effect.added:
                self._add_members(tx, effect.target, list(effect.added))
            if effect.removed:
                self._remove_members(tx, effect.target, list(effect.removed))
            for failure in refusals:
                self._record_failure(tx, failure)
            if effect.created is not None:
                self._own(tx, effect.target, effect.created.id, effect.created.name)
            if effect.deleted:
                self._forget_list(tx, effect.target)

    # -- owned lists -------------------------------------------------------------------------

    def owned_lists(self) -> dict[str, OwnedList]:
        """The list segsync owns for each segment, by segment."""
        query = select(owned_lists).where(owned_lists.c.sync_name == self.sync_name)
        with self.engine.connect() as connection:
            return {row.segment: _owned(row) for row in connection.execute(query)}

    def intend_lists(self, names: Mapping[str, str]) -> None:
        """Before creating lists (segment → list name): a run killed between a create and
        its checkpoint leaves a list that the next run must still know as its own."""
        with self.transaction() as tx:
            for segment, list_name in names.items():
                self._own(tx, segment, PENDING_LIST_ID, list_name)

    def own_list(self, segment: str, list_id: str, list_name: str) -> None:
        """Take a list the config adopts (or an older segsync made) as the segment's own."""
        with self.transaction() as tx:
            self._own(tx, segment, list_id, list_name)

    def forget_list(self, segment: str) -> None:
        """A list gone from the CRM: neither owned nor its members remembered any more."""
        with self.transaction() as tx:
            self._forget_list(tx, segment)

    def _forget_list(self, tx: Connection, segment: str) -> None:
        for table in (owned_lists, members):
            tx.execute(
                delete(table).where(
                    table.c.sync_name == self.sync_name, table.c.segment == segment
                )
            )

    def _own(self, tx: Connection, segment: str, list_id: str, list_name: str) -> None:
        """One list per segment: a new one (the old deleted by hand) replaces the old."""
        where = (owned_lists.c.sync_name == self.sync_name) & (owned_lists.c.segment == segment)
        tx.execute(delete(owned_lists).where(where))
        tx.execute(
            insert(owned_lists).values(
                sync_name=self.sync_name,
                segment=segment,
                list_id=list_id,
                list_name=list_name,
                created_at=utcnow(),
            )
        )

    def has_written(self) -> bool:
        """Whether any run of this sync ever had a batch acknowledged by the CRM."""
        query = (
            select(run_batches.c.run_id)
            .join(runs, runs.c.id == run_batches.c.run_id)
            .where(runs.c.sync_name == self.sync_name)
            .limit(1)
        )
        return self._first(query) is not None

    # -- synced state ----------------------------------------------------------------------

    def synced_fields(self) -> dict[str, dict[str, str]]:
        query = select(synced.c.contact_id, synced.c.fields).where(
            synced.c.sync_name == self.sync_name
        )
        with self.engine.connect() as connection:
            return {row.contact_id: json.loads(row.fields) for row in connection.execute(query)}

    def replace_synced(self, values: Mapping[str, Mapping[str, str]]) -> None:
        """After a full pull: the CRM's own values become the synced state, and the refusals
        of contacts the pull did not find (deleted, merged away) are forgotten with them."""
        with self.transaction() as tx:
            tx.execute(delete(synced).where(synced.c.sync_name == self.sync_name))
            self._insert_chunks(
                tx,
                synced,
                (
                    {"sync_name": self.sync_name, "contact_id": cid, "fields": json.dumps(v)}
                    for cid, v in values.items()
                ),
            )
            refused = tx.execute(
                select(record_failures.c.contact_id).where(
                    record_failures.c.sync_name == self.sync_name
                )
            )
            self._delete_ids(
                tx,
                record_failures,
                [row.contact_id for row in refused if row.contact_id not in values],
            )

    def merge_synced(self, values: Mapping[str, Mapping[str, str]]) -> None:
        """After a pull that missed some contacts: the pulled ones' values as the CRM holds
        them, the others' as last known (their refusals are kept too)."""
        with self.transaction() as tx:
            self._merge_synced(tx, values)

    def _merge_synced(self, tx: Connection, written: Mapping[str, Mapping[str, str]]) -> None:
        ids = list(written)
        current = {
            row.contact_id: json.loads(row.fields)
            for start in range(0, len(ids), CHUNK)
            for row in tx.execute(
                select(synced.c.contact_id, synced.c.fields).where(
                    synced.c.sync_name == self.sync_name,
                    synced.c.contact_id.in_(ids[start : start + CHUNK]),
                )
            )
        }
        self._delete_ids(tx, synced, ids)
        self._insert_chunks(
            tx,
            synced,
            (
                {
                    "sync_name": self.sync_name,
                    "contact_id": cid,
                    "fields": json.dumps({**current.get(cid, {}), **values}),
                }
                for cid, values in written.items()
            ),
        )

    def members(self) -> dict[str, set[str]]:
        query = select(members.c.segment, members.c.contact_id).where(
            members.c.sync_name == self.sync_name
        )
        found: dict[str, set[str]] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                found.setdefault(row.segment, set()).add(row.contact_id)
        return found

    def replace_members(self, segment: str, ids: Iterable[str]) -> None:
        """After reading a list from the CRM: its members as the CRM holds them."""
        with self.transaction() as tx:
            tx.execute(
                delete(members).where(
                    members.c.sync_name == self.sync_name, members.c.segment == segment
                )
            )
            self._add_members(tx, segment, list(ids))

    def _add_members(self, tx: Connection, segment: str, ids: list[str]) -> None:
        self._delete_ids(tx, members, ids, members.c.segment == segment)
        self._insert_chunks(
            tx,
            members,
            ({"sync_name": self.sync_name, "segment": segment, "contact_id": i} for i in ids),
        )

    def _remove_members(self, tx: Connection, segment: str, ids: list[str]) -> None:
        self._delete_ids(tx, members, ids, members.c.segment == segment)

    # -- contact mirror ----------------------------------------------------------------------

    def mirror(self) -> dict[str, dict[str, str | None]]:
        query = select(contacts.c.contact_id, contacts.c.fields).where(
            contacts.c.sync_name == self.sync_name
        )
        with self.engine.connect() as connection:
            return {row.contact_id: json.loads(row.fields) for row in connection.execute(query)}

    def mirror_fields(self) -> set[str] | None:
        """The fields the mirror holds (None when empty): a new rule field needs a full pull."""
        row = self._first(
            select(contacts.c.fields).where(contacts.c.sync_name == self.sync_name).limit(1)
        )
        return set(json.loads(row.fields)) if row else None

    def save_mirror(self, rows: Mapping[str, Mapping[str, str | None]], *, replace: bool) -> None:
        """Store pulled values: all of them after a full pull, the changed ones otherwise."""
        with self.transaction() as tx:
            if replace:
                tx.execute(delete(contacts).where(contacts.c.sync_name == self.sync_name))
            else:
                self._delete_ids(tx, contacts, list(rows))
            self._insert_chunks(
                tx,
                contacts,
                (
                    {"sync_name": self.sync_name, "contact_id": cid, "fields": json.dumps(v)}
                    for cid, v in rows.items()
                ),
            )

    def forget_contacts(self, ids: Iterable[str]) -> None:
        """Contacts the CRM no longer has (deleted, merged away)."""
        ids = list(ids)
        if not ids:
            return
        with self.transaction() as tx:
            self._forget(tx, ids)

    def forget_person(self, contact_id: str) -> int:
        """Erase one contact from this sync's memory (an erasure request): its mirrored values,
        synced fields, list memberships, refusals, and its lines in the run history's
        summaries. Returns how many rows and summary entries held it."""
        held = 0
        with self.transaction() as tx:
            for table in (contacts, synced, members, record_failures):
                held += tx.execute(
                    delete(table).where(
                        table.c.sync_name == self.sync_name, table.c.contact_id == contact_id
                    )
                ).rowcount
            for run_id, summary in tx.execute(
                select(runs.c.id, runs.c.summary).where(runs.c.sync_name == self.sync_name)
            ).all():
                data = json.loads(summary or "{}")
                failures = data.get("failures") or []
                kept = [f for f in failures if f.get("contact_id") != contact_id]
                if len(kept) != len(failures):
                    held += len(failures) - len(kept)
                    data["failures"] = kept
                    tx.execute(
                        update(runs).where(runs.c.id == run_id).values(summary=json.dumps(data))
                    )
        return held

    def absorb_merged(self, merges: Mapping[str, str]) -> None:
        """Contacts the CRM merged into others (old id → surviving id), as a pull reported them.

        The old ids are forgotten, and each survivor takes over their list memberships, as the
        CRM carries a merged record's static list memberships over to the new one: so a later
        incremental plan removes the survivor from the lists it should not be in. The
        survivor's own values come from the pull that reported the merge.
        """
        old_ids = list(merges)
        if not old_ids:
            return
        with self.transaction() as tx:
            carried: dict[str, list[str]] = {}
            for start in range(0, len(old_ids), CHUNK):
                for row in tx.execute(
                    select(members.c.segment, members.c.contact_id).where(
                        members.c.sync_name == self.sync_name,
                        members.c.contact_id.in_(old_ids[start : start + CHUNK]),
                    )
                ):
                    carried.setdefault(row.segment, []).append(merges[row.contact_id])
            self._forget(tx, old_ids)
            for segment, survivors in carried.items():
                self._add_members(tx, segment, list(dict.fromkeys(survivors)))

    def _forget(self, tx: Connection, ids: list[str]) -> None:
        for table in (contacts, synced, members, record_failures):
            self._delete_ids(tx, table, ids)

    # -- cursor ------------------------------------------------------------------------------

    def cursor(self) -> tuple[datetime, int] | None:
        row = self._first(select(cursors).where(cursors.c.sync_name == self.sync_name))
        return (_aware(row.watermark), row.contacts_seen) if row else None  # type: ignore[return-value]

    def save_cursor(self, watermark: datetime, contacts_seen: int) -> None:
        with self.transaction() as tx:
            tx.execute(delete(cursors).where(cursors.c.sync_name == self.sync_name))
            tx.execute(
                insert(cursors).values(
                    sync_name=self.sync_name, watermark=watermark, contacts_seen=contacts_seen
                )
            )

    # -- record failures -----------------------------------------------------------------

    def _record_failure(self, tx: Connection, failure: RecordFailure) -> None:
        where = (record_failures.c.sync_name == self.sync_name) & (
            record_failures.c.contact_id == failure.contact_id
        )
        previous = tx.execute(
            select(record_failures.c.attempts, record_failures.c.contact_modified_at).where(where)
        ).first()
        tx.execute(delete(record_failures).where(where))
        tx.execute(
            insert(record_failures).values(
                sync_name=self.sync_name,
                contact_id=failure.contact_id,
                run_id=failure.run_id,
                code=failure.code,
                message=failure.message,
                retryable=failure.retryable,
                attempts=(previous.attempts if previous else 0) + 1,
                # Not pulled this run: the time it was last seen at still stands.
                contact_modified_at=failure.contact_modified_at
                or (previous.contact_modified_at if previous else None),
                options_digest=failure.options_digest,
            )
        )

    def clear_failures(self, contact_ids: Iterable[str] | None = None) -> int:
        """Forget the refusals of these contacts (all when None), so the next run writes them
        again with a fresh count of attempts. How many were cleared."""
        with self.transaction() as tx:
            if contact_ids is None:
                return int(
                    tx.execute(
                        delete(record_failures).where(record_failures.c.sync_name == self.sync_name)
                    ).rowcount
                )
            ids = list(contact_ids)
            known = {f.contact_id for f in self._failures(tx, ids)}
            self._delete_ids(tx, record_failures, ids)
            return len(known)

    def failures(self, run_id: int | None = None) -> list[RecordFailure]:
        """The refused records kept (only those last refused in ``run_id``, when given)."""
        query = select(record_failures).where(record_failures.c.sync_name == self.sync_name)
        if run_id is not None:
            query = query.where(record_failures.c.run_id == run_id)
        with self.engine.connect() as connection:
            return [
                _failure(row)
                for row in connection.execute(query.order_by(record_failures.c.contact_id))
            ]

    def _failures(self, tx: Connection, ids: list[str]) -> list[RecordFailure]:
        return [
            _failure(row)
            for start in range(0, len(ids), CHUNK)
            for row in tx.execute(
                select(record_failures).where(
                    record_failures.c.sync_name == self.sync_name,
                    record_failures.c.contact_id.in_(ids[start : start + CHUNK]),
                )
            )
        ]

    # -- models --------------------------------------------------------------------------

    def models(self) -> dict[str, bytes]:
        """Every stored cluster model of this sync, by cluster set name."""
        query = select(models.c.name, models.c.blob).where(models.c.sync_name == self.sync_name)
        with self.engine.connect() as connection:
            return {row.name: bytes(row.blob) for row in connection.execute(query)}

    def save_model(self, name: str, blob: bytes) -> None:
        with self.transaction() as tx:
            tx.execute(
                delete(models).where(models.c.sync_name == self.sync_name, models.c.name == name)
            )
            tx.execute(
                insert(models).values(
                    sync_name=self.sync_name, name=name, blob=blob, updated_at=utcnow()
                )
            )

    def _delete_ids(self, tx: Connection, table: Table, ids: Sequence[str], *where: Any) -> None:
        """Delete this sync's rows for ``ids``, in chunks (databases cap bound parameters)."""
        for start in range(0, len(ids), CHUNK):
            tx.execute(
                delete(table).where(
                    table.c.sync_name == self.sync_name,
                    table.c.contact_id.in_(ids[start : start + CHUNK]),
                    *where,
                )
            )

    @staticmethod
    def _insert_chunks(tx: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK:
                tx.execute(insert(table), chunk)
                chunk = []
        if chunk:
            tx.execute(insert(table), chunk)


def _run(row: Any) -> RunRecord:
    values = dict(row._mapping)
    values["started_at"] = _aware(values["started_at"])
    values["finished_at"] = _aware(values["finished_at"])
    return RunRecord(**values)


def _owned(row: Any) -> OwnedList:
    created = _aware(row.created_at)
    assert created is not None  # the column is NOT NULL
    return OwnedList(row.segment, row.list_id, row.list_name, created)


def _failure(row: Any) -> RecordFailure:
    return RecordFailure(
        row.contact_id,
        row.run_id,
        row.code,
        row.message,
        row.retryable,
        row.attempts,
        row.contact_modified_at,
        row.options_digest,
    )


def _add_missing_columns(tx: Connection) -> None:
    """Bring a database made by an older segsync up to date: add the nullable columns it
    lacks (``ALTER TABLE ... ADD COLUMN`` works alike on SQLite and PostgreSQL)."""
    inspector = inspect(tx)
    for table_name, names in ADDED_COLUMNS.items():
        present = {column["name"] for column in inspector.get_columns(table_name)}
        table = metadata.tables[table_name]
        for name in names:
            if name not in present:
                column_type = table.c[name].type.compile(dialect=tx.dialect)
                tx.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {column_type}"))


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets `segsync runs` read while a sync writes; synchronous=NORMAL is safe with WAL."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
