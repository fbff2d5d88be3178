"""Issue #14, item 3: a first full sync makes the calls it needs, each once.

The plan has just read the field list and looked each list up by name: the executor creates
what the plan saw missing straight away, rather than reading a property or looking a list up
again first. The safety those second reads gave is kept another way: a retry after a lost
create answer finds what the create made, and a list a person created in the meantime is
refused by the CRM's duplicate-name check, not taken over.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from connectors.base import ListRef, RequestRejected, SegmentField, Transient
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.config import ConfigError
from sync.state.store import StateStore
from tests.conftest import make_settings
from tests.expectations import sync

SEGMENTS = [
    {"name": "Big", "priority": 10, "rule": "employees >= 200"},
    {"name": "Small", "priority": 5, "rule": "employees < 200"},
]
BIG_LIST = "segsync: Big"


def seed(crm: HubSpotSandbox) -> list[str]:
    """Five contacts: two Small (0 and 100 employees), three Big."""
    return crm.store.add_contacts(
        {"email": f"c{n}@example.com", "employees": str(n * 100)} for n in range(5)
    )


def test_first_sync_makes_each_call_once(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    seed(crm)

    sync(connector, crm, tmp_path, SEGMENTS)

    assert Counter(call.route for call in crm.call_log) == {
        "GET /crm/v3/properties/contacts": 1,  # the field list
        "POST /crm/v3/objects/contacts/search": 2,  # the contacts counted before and after
        "GET /crm/v3/objects/contacts": 1,  # the pull: one page
        "GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}": 2,  # one per list
        "POST /crm/v3/properties/contacts/groups": 1,
        "POST /crm/v3/properties/contacts": 3,  # the three fields, created without a read
        "POST /crm/v3/objects/contacts/batch/update": 1,
        "POST /crm/v3/lists": 2,  # created without a second look-up
        "PUT /crm/v3/lists/{listId}/memberships/add": 2,
    }


def test_a_lost_create_answer_is_retried_by_finding_the_list(
    crm: HubSpotSandbox,
    connector: HubSpotConnector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = seed(crm)
    create = connector.create_list
    lost: list[str] = []

    def answer_lost_once(name: str) -> ListRef:
        created = create(name)
        if name == BIG_LIST and not lost:  # lists are created several at once: pick one
            lost.append(name)
            raise Transient("connection reset before the answer arrived")
        return created

    monkeypatch.setattr(connector, "create_list", answer_lost_once)

    sync(connector, crm, tmp_path, SEGMENTS)

    big = crm.store.live_list_named(BIG_LIST)
    assert lost == [BIG_LIST]
    assert big is not None and crm.store.list_members(str(big.list_id)) == set(ids[2:])
    # One create per list (Big's answer lost, Small's not): the retry found Big, made none.
    assert [c.status for c in crm.call_log if c.route == "POST /crm/v3/lists"] == [200, 200]
    settings = make_settings(crm, SEGMENTS, tmp_path)
    store = StateStore(settings.state_url(), settings.sync.name)
    assert store.owned_lists()["Big"].list_id == str(big.list_id)
    store.close()


def test_a_list_a_person_creates_during_the_run_is_not_taken_over(
    crm: HubSpotSandbox,
    connector: HubSpotConnector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(crm)
    find = connector.find_list

    def person_creates_it_after_the_plan_looked(name: str) -> ListRef | None:
        found = find(name)
        if name == BIG_LIST and crm.store.live_list_named(name) is None:
            crm.store.create_list(name, "MANUAL")
        return found

    monkeypatch.setattr(connector, "find_list", person_creates_it_after_the_plan_looked)

    with pytest.raises(RequestRejected, match="A list named 'segsync: Big' already exists"):
        sync(connector, crm, tmp_path, SEGMENTS)

    monkeypatch.undo()
    with pytest.raises(ConfigError, match="already exists and segsync did not create it"):
        sync(connector, crm, tmp_path, SEGMENTS)  # the next run does not take it over either

    persons = crm.store.live_list_named(BIG_LIST)
    assert persons is not None and crm.store.list_members(str(persons.list_id)) == set()


def test_a_field_created_since_the_field_list_was_read_is_extended_not_failed(
    crm: HubSpotSandbox, connector: HubSpotConnector
) -> None:
    """The plan saw the field missing; a person (or a lost answer's retry) created it since:
    HubSpot's 409 sends the connector to read it and add the options it lacks."""
    spec = SegmentField("segsync_segment", "Segment", "The primary segment.", "single_select",
                        ("Big",))
    connector.ensure_segment_field(spec)
    before = len(crm.call_log)

    connector.ensure_segment_field(replace(spec, options=("Big", "Small"), missing=True))

    assert [(c.route, c.status) for c in crm.call_log[before:]] == [
        ("POST /crm/v3/properties/contacts", 409),
        ("GET /crm/v3/properties/contacts/{propertyName}", 200),
        ("PATCH /crm/v3/properties/contacts/{propertyName}", 200),
    ]
    prop = crm.store.property("segsync_segment")
    assert prop is not None and [o["value"] for o in prop["options"]] == ["Big", "Small"]
