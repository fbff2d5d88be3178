"""The sandbox HubSpot's contact reads: paging, requested properties, archived contacts."""

from __future__ import annotations

import pytest
from hubspot.crm.lists import ListCreateRequest

from connectors.sandbox import HubSpotSandbox
from tests.support.hubspot_sdk import ISO_MS, Apis, all_pages


def test_paging_returns_every_contact_once_in_ascending_id_order(crm: HubSpotSandbox, api: Apis):
    ids = crm.seed_contacts(250, seed=7)

    pages = all_pages(api, properties=["email"])

    assert [len(page) for page in pages] == [100, 100, 50]
    assert [cid for page in pages for cid in page] == ids
    assert ids[0] == "51" and ids[-1] == "300"  # crosses 99 → 100: numeric, not text order


def test_only_requested_properties_come_back_plus_the_system_three(crm: HubSpotSandbox, api: Apis):
    [cid] = crm.store.add_contacts([{"email": "ada@example.com", "industry": "Software"}])

    page = api.basic.get_page(limit=10, properties=["industry", "jobtitle", "no_such_property"])

    [contact] = page.results
    stored = crm.store.contact(cid)
    assert contact.properties == {
        "createdate": stored["createdate"],
        "hs_object_id": cid,
        "industry": "Software",
        "jobtitle": None,  # asked for and unset: null; unknown names are ignored
        "lastmodifieddate": stored["lastmodifieddate"],
    }
    assert ISO_MS.match(contact.properties["createdate"])
    assert page.paging is None
    default = api.basic.get_page(limit=10).results[0].properties
    assert set(default) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }


def test_archived_contacts_leave_reads_and_lists(crm: HubSpotSandbox, api: Apis):
    ids = crm.store.add_contacts([{"email": f"p{i}@example.com"} for i in range(3)])
    listed = api.lists.create(
        list_create_request=ListCreateRequest(
            name="Archive test", object_type_id="0-1", processing_type="MANUAL"
        )
    )
    api.members.add(list_id=listed.list.list_id, request_body=ids)

    crm.store.archive_contact(ids[1])

    assert all_pages(api) == [[ids[0], ids[2]]]
    assert all_pages(api, archived=True) == [[ids[1]]]
    assert crm.store.list_members(listed.list.list_id) == {ids[0], ids[2]}
    with pytest.raises(KeyError):
        crm.store.contact("999999")
