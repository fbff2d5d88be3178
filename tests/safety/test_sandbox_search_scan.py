"""The sandbox's search reads only the contacts a page can hold (issue #14, item 7).

segsync pages an incremental search by ``hs_object_id GT <last id>`` sorted by id: each page
must read the contacts above that id only, not every contact of the portal again, so a
benchmark's pull measures segsync rather than the sandbox. The answers stay exact: the same
contacts, totals and paging as a scan of every contact gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.hubspot.store import ContactRecord, HubSpotStore
from tests.conftest import TOKEN
from tests.support.hubspot_sdk import sdk, search

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The contacts each search scan of the store read, one count per scan."""
    counts: list[int] = []
    contacts_from = HubSpotStore.contacts_from

    def counted(self: HubSpotStore, first_id: int, archived: bool) -> Iterator[ContactRecord]:
        counts.append(0)
        for record in contacts_from(self, first_id, archived):
            counts[-1] += 1
            yield record

    monkeypatch.setattr(HubSpotStore, "contacts_from", counted)
    return counts


def test_each_page_of_a_keyset_pull_reads_only_the_contacts_above_its_cursor(
    crm: HubSpotSandbox, connector: HubSpotConnector, reads: list[int]
) -> None:
    ids = crm.seed_contacts(650, seed=23)

    pulled: list[str] = []
    cursor = None
    while True:
        page = connector.read_changed_contacts_page(["email"], EPOCH, cursor)
        pulled += [contact.id for contact in page.contacts]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pulled == ids
    assert reads == [650, 450, 250, 50]


def test_an_id_bound_only_some_groups_hold_still_finds_every_match(
    crm: HubSpotSandbox, reads: list[int]
) -> None:
    api = sdk(crm, TOKEN)
    ids = crm.seed_contacts(300, seed=24)
    above = [{"propertyName": "hs_object_id", "operator": "GTE", "value": ids[250]}]
    customers = [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}]
    expected = [
        cid
        for cid in ids
        if int(cid) >= int(ids[250]) or crm.store.contact(cid)["lifecyclestage"] == "customer"
    ]

    either = search(api, filter_groups=[{"filters": above}, {"filters": customers}], limit=200)
    above_only = search(api, filter_groups=[{"filters": above}], sorts=["-hs_object_id"], limit=5)

    assert either.total == len(expected) > 50
    assert [r.id for r in either.results] == expected[:200]
    assert above_only.total == 50
    assert [r.id for r in above_only.results] == ids[::-1][:5]
    assert reads == [300, 50]
