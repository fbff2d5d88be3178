"""Row operations over many contacts at once, in chunks: databases cap bound parameters, and
memory stays flat on mirrors of 10^6 contacts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Delete, Table, and_, bindparam, delete, insert, select
from sqlalchemy.engine import Connection

CHUNK = 5_000
"""Rows per statement (ids per ``IN``, rows per executemany)."""


def chunked(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    """Consecutive slices of at most ``CHUNK`` ids."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def delete_ids(
    tx: Connection, table: Table, sync_name: str, ids: Sequence[str], *where: ColumnElement[bool]
) -> int:
    """Delete the sync's rows of ``table`` for the contacts ``ids`` (and ``where``); how many
    there were."""
    statement = _delete_of_ids(table).where(*where) if where else _delete_of_ids(table)
    deleted = 0
    for chunk in chunked(ids):
        deleted += tx.execute(statement, {"sync": sync_name, "ids": list(chunk)}).rowcount
    return deleted


def of_ids(table: Table) -> ColumnElement[bool]:
    """The sync's rows of the contacts in the ``ids`` parameter (``sync`` the sync name), as a
    statement built once may take them: a run's checkpoints ask it hundreds of times, and a
    statement built afresh each time cost more than the database's own work."""
    return and_(
        table.c.sync_name == bindparam("sync"),
        table.c.contact_id.in_(bindparam("ids", expanding=True)),
    )


@cache
def _delete_of_ids(table: Table) -> Delete:
    return delete(table).where(of_ids(table))


def insert_rows(tx: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Insert ``rows``, ``CHUNK`` at a time, without holding them all in memory."""
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            tx.execute(insert(table), chunk)
            chunk = []
    if chunk:
        tx.execute(insert(table), chunk)


def ids_by_segment(connection: Connection, table: Table, sync_name: str) -> dict[str, set[str]]:
    """The sync's contact ids in a ``(sync_name, segment, contact_id)`` table, by segment."""
    query = select(table.c.segment, table.c.contact_id).where(table.c.sync_name == sync_name)
    found: dict[str, set[str]] = {}
    for row in connection.execute(query):
        found.setdefault(row.segment, set()).add(row.contact_id)
    return found
