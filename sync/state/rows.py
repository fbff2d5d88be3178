"""Row operations over many contacts at once, in chunks: databases cap bound parameters, and
memory stays flat on mirrors of 10^6 contacts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, insert
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
    deleted = 0
    for chunk in chunked(ids):
        deleted += tx.execute(
            delete(table).where(
                table.c.sync_name == sync_name, table.c.contact_id.in_(chunk), *where
            )
        ).rowcount
    return deleted


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
