"""The state store's layout: its tables, their creation, and the layout's version.

``create_schema`` runs whenever a store is opened: it creates what is missing, brings an older
database up to date, and refuses one written by a newer segsync rather than misread it.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Insert,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, CreateTable

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
segment_moves = Table(
    "segment_moves",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("run_id", Integer, primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("previous", String(300)),
    Column("segment", String(300)),
    Column("confirmed", Boolean, nullable=False),
    Column("moved_at", DateTime(timezone=True), index=True),
)
models = Table(
    "models",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("blob", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
holdout_entries = Table(
    "holdout_entries",
    metadata,
    Column("sync_name", String(200), primary_key=True),
    Column("segment", String(300), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("held_out", Boolean, nullable=False),
    Column("converted_on_entry", Boolean, nullable=False),
    Column("converted_at", DateTime(timezone=True)),
)


SCHEMA_VERSION = 6
"""The state store's layout: 1 had an eternal ``locks`` table, 2 has ``leases``, 3 records
what each refusal depended on, 4 has ``owned_lists`` (an older segsync would create lists
without recording them, which this one would then refuse as someone else's), 5 has
``holdout_entries`` (when each contact entered each held-out segment), 6 records each
contact's moves between primary segments (``segment_moves``). A later release that changes
a table migrates from the version recorded in ``schema_version``."""
SCHEMA_LOCK_KEY = 0x5E65_5E6C
"""PostgreSQL advisory lock held while creating the schema: concurrent ``CREATE TABLE IF NOT
EXISTS`` can still collide in PostgreSQL's catalog, so first runs on a fresh database queue."""


class StateStoreUnavailable(Exception):
    """The state store cannot be opened; the message says what to install or fix."""


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


def _insert_if_absent(tx: Connection, table: Table) -> Insert:
    """An INSERT that leaves an existing row with the same key alone (SQLite, PostgreSQL)."""
    if tx.dialect.name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing()
    if tx.dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return insert(table)


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
