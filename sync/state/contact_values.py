"""Field values per contact, kept as JSON: one implementation for the two tables that hold
them, the mirror of pulled values (``contacts``) and the synced state (``synced``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.engine import Connection

from sync.state.rows import chunked, delete_ids, insert_rows, of_ids

V = TypeVar("V")
"""A field's value: ``str | None`` in the mirror (a field the CRM left empty), ``str`` in the
synced state."""


class ContactValues(Generic[V]):
    """One sync's rows of a ``(sync_name, contact_id, fields)`` table: contact id → the values
    of its fields, by field name."""

    def __init__(self, table: Table, sync_name: str) -> None:
        self.table = table
        self.sync_name = sync_name
        self._update = (
            update(table)
            .where(table.c.sync_name == sync_name, table.c.contact_id == bindparam("key"))
            .values(fields=bindparam("merged"))
        )

    def all(self, connection: Connection) -> dict[str, dict[str, V]]:
        query = select(self.table.c.contact_id, self.table.c.fields).where(
            self.table.c.sync_name == self.sync_name
        )
        return {row.contact_id: json.loads(row.fields) for row in connection.execute(query)}

    def field_names(self, connection: Connection) -> set[str] | None:
        """The fields the rows hold (those of any one row: all are pulled alike); None when
        there are no rows."""
        query = select(self.table.c.fields).where(self.table.c.sync_name == self.sync_name)
        row = connection.execute(query.limit(1)).first()
        return set(json.loads(row.fields)) if row else None

    def replace_all(self, tx: Connection, rows: Mapping[str, Mapping[str, V]]) -> None:
        """``rows`` become all the sync's rows."""
        tx.execute(delete(self.table).where(self.table.c.sync_name == self.sync_name))
        self._insert(tx, rows.items())

    def put(self, tx: Connection, rows: Mapping[str, Mapping[str, V]]) -> None:
        """Store ``rows``, replacing those of the same contacts."""
        self.forget(tx, list(rows))
        self._insert(tx, rows.items())

    def merge(self, tx: Connection, rows: Mapping[str, Mapping[str, V]]) -> None:
        """Store ``rows``' values over each contact's stored ones: fields not in ``rows`` keep
        theirs. A stored row is updated in place (one statement for all of them), a contact
        with none gets a new row."""
        found = select(self.table.c.contact_id, self.table.c.fields).where(of_ids(self.table))
        current: dict[str, dict[str, V]] = {
            row.contact_id: json.loads(row.fields)
            for chunk in chunked(list(rows))
            for row in tx.execute(found, {"sync": self.sync_name, "ids": list(chunk)})
        }
        updates = [
            {"key": cid, "merged": json.dumps({**current[cid], **values})}
            for cid, values in rows.items()
            if cid in current
        ]
        if updates:
            tx.execute(self._update, updates)
        self._insert(tx, ((cid, {**values}) for cid, values in rows.items() if cid not in current))

    def forget(self, tx: Connection, ids: Sequence[str]) -> int:
        """Forget the contacts ``ids``; how many rows held them."""
        return delete_ids(tx, self.table, self.sync_name, ids)

    def _insert(self, tx: Connection, rows: Iterable[tuple[str, Mapping[str, V]]]) -> None:
        """Insert (contact id, values) pairs, encoded as they come: memory stays flat."""
        insert_rows(
            tx,
            self.table,
            (
                {"sync_name": self.sync_name, "contact_id": cid, "fields": json.dumps(values)}
                for cid, values in rows
            ),
        )
