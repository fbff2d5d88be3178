"""An optional connector capability: a full pull read as disjoint parts, several at once.

Over the internet a call takes tens to hundreds of milliseconds, so one cursor followed page
after page reads at the latency's pace, not at the CRM's rate limit. A connector that can cut
its contacts into disjoint parts (HubSpot: ranges of ``hs_object_id``) lets the sync read those
parts concurrently, every page still paced and retried by the run's one call gateway.

Kept beside ``connectors.base`` rather than in it, which is at its size limit; it is part of
the same SDK and a plugin implements it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from connectors.base import ContactPage


@runtime_checkable
class PartitionedReading(Protocol):
    """What a connector may add so that a full pull reads several parts of the contacts at once.

    Optional: without it (or when ``contact_partitions`` answers None) a full pull follows
    ``read_contacts_page`` from the first page to the last, as it always did.
    """

    def contact_partitions(self, parts: int) -> Sequence[str] | None:
        """At most ``parts`` opaque keys of disjoint parts that together hold every contact
        ``read_contacts_page`` would list; None when this pull reads better in one sequence
        (too few contacts to be worth cutting, a fast CRM, or a bulk export serves it).

        The sync reserves no place with its pacer for this call: a connector that makes
        requests to answer (HubSpot: two searches, in their own bucket) spaces them itself.
        """

    def read_partition_page(
        self, fields: Sequence[str], partition: str, cursor: str | None
    ) -> ContactPage:
        """One page of the part's contacts, as ``read_contacts_page`` reads them (same fields,
        merge traces, modification times); None starts the part. A part may hold any number
        of contacts: its pages go on until it is read, whatever the CRM caps per query."""
