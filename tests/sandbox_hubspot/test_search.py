"""The sandbox HubSpot's contact search: filters, sorts, paging and its 10,000-result ceiling."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException

from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.timestamps import ms_from_iso
from tests.support.hubspot_sdk import Apis, search


def test_search_filters_sorts_and_pages_exactly(crm: HubSpotSandbox, api: Apis):
    ids = crm.seed_contacts(400, seed=5)
    contacts = {cid: crm.store.contact(cid) for cid in ids}
    edited = ids[10:15]
    for cid in edited:
        crm.store.set_properties(cid, {"jobtitle": "Edited"})
    since = sorted(c["lastmodifieddate"] for c in contacts.values())[120]
    since_ms = str(ms_from_iso(since))  # search takes epoch milliseconds
    incremental = [
        {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": since_ms}]}
    ]

    first = search(
        api,
        filter_groups=incremental,
        sorts=["lastmodifieddate"],
        properties=["jobtitle"],
        limit=200,
    )
    second = search(
        api,
        filter_groups=incremental,
        sorts=["lastmodifieddate"],
        properties=["jobtitle"],
        limit=200,
        after=first.paging.next.after,
    )

    expected = sorted(
        (cid for cid in ids if crm.store.contact(cid)["lastmodifieddate"] >= since),
        key=lambda cid: (crm.store.contact(cid)["lastmodifieddate"], int(cid)),
    )
    assert first.total == len(expected) > 200
    assert [r.id for r in first.results + second.results] == expected
    assert second.paging is None
    assert [r.id for r in second.results][-5:] == edited  # the latest edits come last
    assert set(second.results[0].properties) == {
        "createdate",
        "hs_object_id",
        "jobtitle",
        "lastmodifieddate",
    }

    customers = search(
        api,
        filter_groups=[
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "CUSTOMER"},
                    {"propertyName": "employees", "operator": "GT", "value": "100"},
                ]
            }
        ],
        limit=200,
    )
    assert sorted(r.id for r in customers.results) == sorted(
        cid
        for cid, c in contacts.items()
        if c["lifecyclestage"] == "customer" and c["employees"] and float(c["employees"]) > 100
    )

    either = search(
        api,
        filter_groups=[
            {"filters": [{"propertyName": "industry", "operator": "NOT_HAS_PROPERTY"}]},
            {
                "filters": [
                    {"propertyName": "country", "operator": "IN", "values": ["germany", "France"]}
                ]
            },
        ],
        limit=200,
    )
    assert sorted(r.id for r in either.results) == sorted(
        cid
        for cid, c in contacts.items()
        if c["industry"] is None or (c["country"] or "").lower() in ("germany", "france")
    )
    assert set(either.results[0].properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }


def test_search_cannot_page_past_ten_thousand(crm: HubSpotSandbox, api: Apis):
    crm.store.add_contacts([{"email": f"c{i}@example.com"} for i in range(10_050)])

    last_page = search(api, limit=200, after="9800")
    with pytest.raises(ContactsApiException) as raised:
        search(api, limit=200, after=last_page.paging.next.after)
    with pytest.raises(ContactsApiException) as too_big:
        search(api, limit=201)

    assert last_page.total == 10_050
    assert len(last_page.results) == 200
    assert last_page.paging.next.after == "10000"
    assert raised.value.status == 400
    assert json.loads(raised.value.body)["category"] == "VALIDATION_ERROR"
    assert too_big.value.status == 400
