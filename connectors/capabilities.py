"""What a connector may add beyond ``connectors.base.Connector``: each capability is optional,
found with ``isinstance`` at run time, and its docstring says what the sync does without it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Protocol, runtime_checkable

from connectors.base import ContactPage, IdPage, ListRef


@runtime_checkable
class ListDeleting(Protocol):
    """What a connector may add so that ``[sync] orphan_lists = "delete"`` can delete the lists
    of segments no longer configured. Optional: without it that setting is a config error."""

    def delete_list(self, list_ref: ListRef) -> None:
        """Delete the list (HubSpot list, Salesforce campaign); an already deleted one is done."""


def answer_date(headers: Mapping[str, str]) -> datetime | None:
    """An answer's ``Date`` header (an HTTP date, RFC 9110 §5.6.7): the CRM's clock when it
    answered; None when absent or unreadable."""
    value = headers.get("Date")
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


@runtime_checkable
class CrmClock(Protocol):
    """What a connector may add so that the incremental cursor runs on the CRM's own clock.

    Optional: without it the sync bounds the next pull by the newest change it read and its
    own clock's measure of the pull, which re-reads every change since that newest one.
    """

    def crm_time(self) -> datetime | None:
        """The CRM's time when its latest answer left it (the answer's ``Date`` header, which
        counts whole seconds, so never later than the truth); None before any answer."""


@runtime_checkable
class ContactCounting(Protocol):
    """What a connector may add so that a full pull can prove it read every contact.

    Optional: without it a pull that ends early (a page without a next link before the end)
    cannot be told from a complete one, and the sync can only compare with its last run.
    """

    def count_contacts(self) -> int | None:
        """How many contacts ``read_contacts_page`` would list now, by the CRM's own count
        (one cheap call); None when the CRM cannot say."""


@runtime_checkable
class DeletionReading(Protocol):
    """What a connector may add so that the sync learns which contacts the CRM deleted.

    Optional: without it a deleted contact is only forgotten when a full pull no longer
    finds it or a write finds it gone; absence from a pull is never taken for deletion.
    """

    def read_deleted_contacts_page(self, since: datetime, cursor: str | None) -> IdPage:
        """One page of the ids of contacts deleted at or after ``since``, by asking the CRM
        (its recycle bin or archive), never by inference; None starts. Pages may hold no ids
        and still continue. Merged-away records need not be listed (``Contact.merged_from``);
        a CRM that marks them among its deleted records (Salesforce) answers with a
        ``DeletionPage`` naming the record each went into."""


@runtime_checkable
class FieldNaming(Protocol):
    """What a connector may add so that a field name its CRM would refuse is caught before a
    run writes anything, with the CRM's own rule in the message. Optional."""

    def field_name_problem(self, name: str) -> str | None:
        """Why the CRM would refuse ``name`` for a new contact field, or None if it is valid."""


@runtime_checkable
class PartitionedReading(Protocol):
    """What a connector may add so that a full pull reads several parts of the contacts at once.

    Optional: without it (or when ``contact_partitions`` answers None) a full pull follows
    ``read_contacts_page`` from the first page to the last, as it always did.
    """

    def contact_partitions(self, parts: int) -> Sequence[str] | None:
        """Opaque keys of parts that together hold every contact ``read_contacts_page`` would
        list, each contact in one part, in the order a sequential pull meets them; None when
        this pull reads better in one sequence (too few contacts to be worth cutting, a fast
        CRM, or a bulk export serves it). At most ``parts`` parts, plus one when the first is
        read from the front by a cursor: the sync starts the first part, then the others from
        the last, so a cursor and the parts behind it meet in between.

        The sync reserves no place with its pacer for this call: a connector that makes
        requests to answer (HubSpot: two searches, in their own bucket) spaces them itself.
        """

    def partition_wanted(self, partition: str) -> bool:
        """Whether the part is still to be read when its turn comes (asked once, making no
        request): a part another reader has reached is that reader's."""

    def read_partition_page(
        self, fields: Sequence[str], partition: str, cursor: str | None
    ) -> ContactPage:
        """One page of the part's contacts, as ``read_contacts_page`` reads them (same fields,
        merge traces, modification times); None starts the part. A part may hold any number
        of contacts: its pages go on until it is read, whatever the CRM caps per query."""
