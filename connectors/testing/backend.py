"""What a connector's tests provide so the contract can check the CRM's own state.

The contract never takes the connector's word for what happened: it seeds contacts, makes a
person's edits and reads end states through a ``CrmBackend``, which works on the CRM directly
(its files, its database, a local server of its API, or a test account through another client).
"""

from __future__ import annotations

from typing import Protocol


class CrmBackend(Protocol):
    """Test-side access to the CRM a connector talks to.

    Each test gets a new backend over an empty CRM: no contacts, no segsync fields, no lists.
    Everything it changes must be visible to the connector at once.
    """

    text_field: str
    """A contact field of free text that people edit and the connector can read and write,
    reported by ``describe_fields`` as ``"string"`` (HubSpot ``jobtitle``, Salesforce
    ``Title``)."""

    segment_field: str
    """A name the CRM accepts for a new contact field: the contract has the connector create
    it as a single-select field (HubSpot ``segsync_segment``, Salesforce ``Segment__c``)."""

    def seed(self, count: int, seed: int) -> list[str]:
        """Create ``count`` contacts, each with a value in ``text_field``, and return their ids.

        They are existing data: last modified well before the test started (at least a second
        before). The same ``seed`` gives the same values."""
        ...

    def values(self, contact_id: str) -> dict[str, str | None]:
        """The contact's field values as the CRM stores them now, by field name."""
        ...

    def edit(self, contact_id: str, values: dict[str, str]) -> None:
        """A person edits the contact: its fields take ``values`` and it is modified now."""
        ...

    def list_members(self, list_name: str) -> set[str] | None:
        """The ids of the contacts in the CRM's list of that name; None when there is none."""
        ...

    def missing_contact_id(self) -> str:
        """An id in the CRM's own format that names no contact."""
        ...

    def delete(self, contact_id: str) -> None:
        """A person deletes the contact, the CRM's own way (HubSpot archives it).

        Only the tests of the optional ``ContactCounting`` and ``DeletionReading`` call it."""
        ...
