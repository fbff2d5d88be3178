"""The records the CRM refused, kept between runs with their attempts and what each refusal
depended on (the policy that reads them is ``sync.refusals``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from sync.state.rows import chunked, delete_ids
from sync.state.schema import record_failures


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


class RefusedRecords:
    """One sync's rows of ``record_failures``."""

    def __init__(self, sync_name: str) -> None:
        self.sync_name = sync_name

    def record(self, tx: Connection, failure: RecordFailure) -> None:
        """Keep a refusal, one more attempt than the contact's last one."""
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

    def kept(self, connection: Connection, run_id: int | None = None) -> list[RecordFailure]:
        """The refusals kept (only those last refused in ``run_id``, when given)."""
        query = select(record_failures).where(record_failures.c.sync_name == self.sync_name)
        if run_id is not None:
            query = query.where(record_failures.c.run_id == run_id)
        rows = connection.execute(query.order_by(record_failures.c.contact_id))
        return [_failure(row) for row in rows]

    def of(self, connection: Connection, ids: Sequence[str]) -> list[RecordFailure]:
        """The refusals kept of the contacts ``ids``."""
        return [
            _failure(row)
            for chunk in chunked(ids)
            for row in connection.execute(
                select(record_failures).where(
                    record_failures.c.sync_name == self.sync_name,
                    record_failures.c.contact_id.in_(chunk),
                )
            )
        ]

    def refused_ids(self, connection: Connection) -> list[str]:
        query = select(record_failures.c.contact_id).where(
            record_failures.c.sync_name == self.sync_name
        )
        return [row.contact_id for row in connection.execute(query)]

    def clear_all(self, tx: Connection) -> int:
        """Forget every refusal of the sync; how many there were."""
        query = delete(record_failures).where(record_failures.c.sync_name == self.sync_name)
        return int(tx.execute(query).rowcount)

    def forget(self, tx: Connection, ids: Sequence[str]) -> int:
        """Forget the refusals of the contacts ``ids``; how many there were."""
        return delete_ids(tx, record_failures, self.sync_name, ids)


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
