"""The contract every connector must meet, as a reusable pytest base class.

A connector's test module subclasses ``ConnectorContract`` and overrides two fixtures:
``backend`` (a ``CrmBackend``: how the test seeds and inspects the CRM behind the connector)
and ``connector`` (the connector under test, pointed at that CRM). Every assertion reads the
CRM's own state through the backend, never the connector's account of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest

from connectors.base import Connector, ContactPage, IdPage, PropertyWrite, SegmentField
from connectors.capabilities import ContactCounting, DeletionReading
from connectors.testing.backend import CrmBackend

_Page = TypeVar("_Page", ContactPage, IdPage)


def read_pages(read_page: Callable[[str | None], _Page]) -> list[_Page]:
    """Every page of one read, following each page's cursor from None to the last page."""
    pages, cursor = [], None
    while True:
        page = read_page(cursor)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages


def pull_all(connector: Connector, fields: list[str]) -> list[ContactPage]:
    """Every page of a full pull of ``fields``."""
    return read_pages(lambda cursor: connector.read_contacts_page(fields, cursor))


class ConnectorContract:
    """Full pull, incremental pull, fields, batch writes and lists, with exact end states."""

    @pytest.fixture
    def backend(self) -> CrmBackend:
        """Override: a ``CrmBackend`` over a new, empty CRM for each test."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the 'backend' fixture: "
            "return a CrmBackend over an empty CRM (see connectors.testing)"
        )

    @pytest.fixture
    def connector(self, backend: CrmBackend) -> Connector:
        """Override: the connector under test, talking to ``backend``'s CRM (yield, then close)."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the 'connector' fixture: "
            "return your connector, talking to the backend's CRM (see connectors.testing)"
        )

    def test_full_pull_returns_every_contact_once_with_the_requested_field(
        self, backend: CrmBackend, connector: Connector
    ) -> None:
        count = connector.limits.read_page_size * 2 + 7
        ids = backend.seed(count, seed=31)
        pages = pull_all(connector, [backend.text_field])
        pulled = [contact.id for page in pages for contact in page.contacts]
        assert sorted(pulled) == sorted(ids)
        assert len(pages) == 3
        first = pages[0].contacts[0]
        assert first.properties[backend.text_field] == backend.values(first.id)[backend.text_field]
        assert first.modified_at is not None

    def test_incremental_pull_returns_exactly_the_contacts_edited_since(
        self, backend: CrmBackend, connector: Connector
    ) -> None:
        ids = backend.seed(60, seed=32)
        since = datetime.now(UTC) - timedelta(seconds=1)
        edited = ids[5:12]
        for contact_id in edited:
            backend.edit(contact_id, {backend.text_field: f"Edited {contact_id}"})
        pages = read_pages(
            lambda cursor: connector.read_changed_contacts_page([backend.text_field], since, cursor)
        )
        # Pages may overlap: the last copy of a contact is the one that counts.
        seen = {c.id: c.properties[backend.text_field] for page in pages for c in page.contacts}
        assert seen == {contact_id: f"Edited {contact_id}" for contact_id in edited}

    def test_describe_reports_the_text_field(
        self, backend: CrmBackend, connector: Connector
    ) -> None:
        fields = {info.name: info for info in connector.describe_fields()}
        assert fields[backend.text_field].type == "string"

    def test_segment_field_creation_is_idempotent_and_extends_options(
        self, backend: CrmBackend, connector: Connector
    ) -> None:
        spec = SegmentField(backend.segment_field, "Segment", "why", "single_select", ("A", "B"))
        connector.ensure_segment_field(spec)
        connector.ensure_segment_field(spec)
        wider = SegmentField(
            backend.segment_field, "Segment", "why", "single_select", ("A", "B", "C")
        )
        connector.ensure_segment_field(wider)
        fields = {info.name: info for info in connector.describe_fields()}
        assert fields[backend.segment_field].type == "enumeration"
        assert fields[backend.segment_field].options == ("A", "B", "C")

    def test_a_bad_record_fails_alone_and_the_rest_of_the_batch_is_written(
        self, backend: CrmBackend, connector: Connector
    ) -> None:
        ids = backend.seed(3, seed=33)
        missing = backend.missing_contact_id()
        writes = [PropertyWrite(i, {backend.text_field: f"Title {i}"}) for i in ids]
        writes.insert(1, PropertyWrite(missing, {backend.text_field: "nobody"}))
        results = connector.write_properties(writes)
        assert [(r.contact_id, r.ok) for r in results] == [
            (ids[0], True),
            (missing, False),
            (ids[1], True),
            (ids[2], True),
        ]
        assert results[1].code != ""
        assert [backend.values(i)[backend.text_field] for i in ids] == [f"Title {i}" for i in ids]

    def test_lists_are_found_created_and_changed_exactly_as_the_answers_say(
        self, backend: CrmBackend, connector: Connector
    ) -> None:
        ids = backend.seed(12, seed=34)
        assert connector.find_list("segsync: Contract") is None
        created = connector.create_list("segsync: Contract")
        assert connector.find_list("segsync: Contract") == created
        added = connector.add_list_members(created, ids[:8])
        assert (sorted(added.changed), added.missing) == (sorted(ids[:8]), ())
        # Already members are fine, neither changed nor missing; an unknown id is missing.
        missing = backend.missing_contact_id()
        again = connector.add_list_members(created, [*ids[6:10], missing])
        assert (sorted(again.changed), again.missing) == (sorted(ids[8:10]), (missing,))
        removed = connector.remove_list_members(created, [*ids[:3], ids[11]])
        assert (sorted(removed.changed), removed.missing) == (sorted(ids[:3]), ())
        assert backend.list_members("segsync: Contract") == set(ids[3:10])
        pages = read_pages(lambda cursor: connector.read_list_members_page(created, cursor))
        assert {member for page in pages for member in page.ids} == set(ids[3:10])

    def test_the_crm_count_is_what_a_full_pull_lists(
        self, backend: CrmBackend, connector: Connector
    ) -> None:
        if not isinstance(connector, ContactCounting):
            pytest.skip("the connector cannot count contacts (optional)")
        ids = backend.seed(25, seed=35)
        backend.delete(ids[4])
        pulled = {contact.id for page in pull_all(connector, []) for contact in page.contacts}
        assert connector.count_contacts() == len(pulled) == 24

    def test_deleted_contacts_are_read_from_the_crm_since_a_time(
        self, backend: CrmBackend, connector: Connector
    ) -> None:
        if not isinstance(connector, DeletionReading):
            pytest.skip("the connector cannot read deletions (optional)")
        ids = backend.seed(12, seed=36)
        since = datetime.now(UTC) - timedelta(seconds=1)
        for contact_id in ids[2:5]:
            backend.delete(contact_id)
        pages = read_pages(lambda cursor: connector.read_deleted_contacts_page(since, cursor))
        assert {deleted for page in pages for deleted in page.ids} == set(ids[2:5])
        later = connector.read_deleted_contacts_page(since + timedelta(days=1), None)
        assert later.ids == []
