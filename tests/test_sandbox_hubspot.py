"""The sandbox CRM, driven through the real ``hubspot-api-client`` over loopback.

Each test asserts exact values (ids, statuses, bodies, end state), so a sandbox that drifts
from HubSpot's behaviour, or from what segsync's connector relies on, fails here first.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import urllib3
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.lists import ListCreateRequest, MembershipChangeRequest
from hubspot.crm.lists.exceptions import ApiException as ListsApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate, PropertyUpdate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

from connectors.sandbox import SandboxCRM, SandboxLimits, generate_contacts
from connectors.sandbox.limits import RateLimiter
from connectors.sandbox.store import ms_from_iso
from tests.support.hubspot_sdk import TOKEN, Apis, all_pages, batch_update, raw, sdk, search

BATCH_UPDATE = "POST /crm/v3/objects/contacts/batch/update"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def crm() -> Iterator[SandboxCRM]:
    with SandboxCRM(token=TOKEN, limits=SandboxLimits(ten_secondly=None, daily=None)) as sandbox:
        yield sandbox


@pytest.fixture
def api(crm: SandboxCRM) -> Apis:
    return sdk(crm)


# -- reading contacts ---------------------------------------------------------------------


def test_paging_returns_every_contact_once_in_ascending_id_order(crm: SandboxCRM, api: Apis):
    ids = crm.seed_contacts(250, seed=7)

    pages = all_pages(api, properties=["email"])

    assert [len(page) for page in pages] == [100, 100, 50]
    assert [cid for page in pages for cid in page] == ids
    assert ids[0] == "51" and ids[-1] == "300"  # crosses 99 → 100: numeric, not text order


def test_only_requested_properties_come_back_plus_the_system_three(crm: SandboxCRM, api: Apis):
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


def test_archived_contacts_leave_reads_and_lists(crm: SandboxCRM, api: Apis):
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


# -- writing contacts ---------------------------------------------------------------------


@pytest.fixture
def segment_property(crm: SandboxCRM, api: Apis) -> str:
    api.properties.create(
        "contacts",
        PropertyCreate(
            name="segsync_segment",
            label="Segment",
            type="enumeration",
            field_type="checkbox",
            group_name="contactinformation",
            options=[
                {"label": "High value", "value": "high_value", "hidden": False},
                {"label": "Churn risk", "value": "churn_risk", "hidden": False},
            ],
        ),
    )
    return "segsync_segment"


def test_batch_update_with_a_bad_option_rejects_the_whole_batch(
    crm: SandboxCRM, api: Apis, segment_property: str
):
    ids = crm.store.add_contacts([{"email": f"p{i}@example.com"} for i in range(3)])
    before = [crm.store.contact(cid) for cid in ids]

    with pytest.raises(ContactsApiException) as raised:
        batch_update(
            api,
            [
                (ids[0], {segment_property: "high_value"}),
                (ids[1], {segment_property: "high_value;vip"}),
                (ids[2], {segment_property: "churn_risk"}),
            ],
        )

    assert raised.value.status == 400
    body = json.loads(raised.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: [{")
    details = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert [(d["name"], d["error"]) for d in details] == [(segment_property, "INVALID_OPTION")]
    assert details[0]["message"].startswith("vip was not one of the allowed options: [label: ")
    assert [(e["code"], e["context"]) for e in body["errors"]] == [
        ("INVALID_OPTION", {"propertyName": [segment_property]})
    ]
    assert [crm.store.contact(cid) for cid in ids] == before  # nothing written


def test_batch_update_with_an_unknown_property_rejects_the_whole_batch(crm: SandboxCRM, api: Apis):
    ids = crm.store.add_contacts([{"email": "a@example.com"}, {"email": "b@example.com"}])

    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(ids[0], {"industry": "Retail"}), (ids[1], {"segmnet": "x"})])

    body = json.loads(raised.value.body)
    assert raised.value.status == 400
    assert body["errors"] == [
        {
            "message": 'Property "segmnet" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["segmnet"]},
        }
    ]
    assert crm.store.contact(ids[0])["industry"] is None


def test_batch_update_with_a_missing_id_writes_the_rest_and_answers_207(
    crm: SandboxCRM, api: Apis, segment_property: str
):
    ids = crm.seed_contacts(3, seed=1)
    seeded = {cid: crm.store.contact(cid)["lastmodifieddate"] for cid in ids}

    response = batch_update(
        api,
        [
            (ids[0], {segment_property: "high_value"}),
            ("987654", {segment_property: "high_value"}),
            (ids[2], {segment_property: "churn_risk;high_value"}),
        ],
    )

    assert type(response).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert response.status == "COMPLETE"
    assert response.num_errors == 1
    [error] = response.errors
    assert (error.status, error.category, error.context) == (
        "error",
        "OBJECT_NOT_FOUND",
        {"ids": ["987654"]},
    )
    assert sorted(r.id for r in response.results) == sorted([ids[0], ids[2]])
    by_id = {r.id: r for r in response.results}
    assert set(by_id[ids[0]].properties) == {
        segment_property,
        "createdate",
        "hs_object_id",
        "lastmodifieddate",
    }
    assert crm.store.contact(ids[0])[segment_property] == "high_value"
    assert crm.store.contact(ids[1])[segment_property] is None
    assert crm.store.contact(ids[2])[segment_property] == "churn_risk;high_value"
    for cid in (ids[0], ids[2]):
        modified = crm.store.contact(cid)["lastmodifieddate"]
        assert modified > seeded[cid]  # seed history ends 2025-06-30; writes are later
        assert by_id[cid].properties["lastmodifieddate"] == modified
    assert crm.store.contact(ids[1])["lastmodifieddate"] == seeded[ids[1]]


def test_batch_update_clears_appends_and_does_not_touch_unchanged(
    crm: SandboxCRM, api: Apis, segment_property: str
):
    [cid] = crm.store.add_contacts(
        [{"email": "a@example.com", "jobtitle": "CFO", segment_property: "high_value"}]
    )
    batch_update(api, [(cid, {"jobtitle": "", segment_property: ";churn_risk"})])
    assert crm.store.contact(cid)["jobtitle"] is None
    assert crm.store.contact(cid)[segment_property] == "high_value;churn_risk"

    modified = crm.store.contact(cid)["lastmodifieddate"]
    response = batch_update(api, [(cid, {segment_property: "high_value;churn_risk"})])
    assert type(response).__name__ == "BatchResponseSimplePublicObject"
    assert crm.store.contact(cid)["lastmodifieddate"] == modified  # same value: no update


def test_batch_update_refuses_oversized_batches_and_duplicate_ids(crm: SandboxCRM, api: Apis):
    ids = crm.store.add_contacts([{"email": f"p{i}@example.com"} for i in range(101)])

    with pytest.raises(ContactsApiException) as too_many:
        batch_update(api, [(cid, {"jobtitle": "x"}) for cid in ids])
    with pytest.raises(ContactsApiException) as duplicated:
        batch_update(api, [(ids[0], {"jobtitle": "x"}), (ids[0], {"jobtitle": "y"})])

    assert too_many.value.status == 400
    assert json.loads(duplicated.value.body)["message"] == (
        f"Duplicate IDs found in batch input: [{ids[0]}]. IDs must be unique"
    )
    assert all(crm.store.contact(cid)["jobtitle"] is None for cid in ids)


def test_read_only_properties_cannot_be_written(crm: SandboxCRM, api: Apis):
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])
    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(cid, {"hs_email_open": "3"})])
    assert json.loads(raised.value.body)["errors"][0]["code"] == "READ_ONLY_VALUE"


def test_dates_are_stored_as_hubspot_returns_them_and_bad_values_are_refused(
    crm: SandboxCRM, api: Apis
):
    for name, kind in (("renewal_date", "date"), ("last_synced", "datetime")):
        api.properties.create(
            "contacts",
            PropertyCreate(
                name=name, label=name, type=kind, field_type="date", group_name="contactinformation"
            ),
        )
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])

    batch_update(
        api, [(cid, {"renewal_date": "1767225600000", "last_synced": "2026-01-02T04:04:05+01:00"})]
    )
    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(cid, {"renewal_date": "next week", "employees": "many"})])

    stored = crm.store.contact(cid)
    assert (stored["renewal_date"], stored["last_synced"]) == (
        "2026-01-01",
        "2026-01-02T03:04:05.000Z",
    )
    assert [e["code"] for e in json.loads(raised.value.body)["errors"]] == [
        "INVALID_DATE",
        "INVALID_LONG",
    ]


# -- properties ---------------------------------------------------------------------------


def test_property_create_is_201_then_409_and_patch_replaces_options(api: Apis):
    spec = PropertyCreate(
        name="segsync_tier",
        label="Tier",
        type="enumeration",
        field_type="select",
        group_name="contactinformation",
        options=[{"label": "Gold", "value": "gold", "hidden": False}],
    )

    created = api.properties.create("contacts", spec)
    with pytest.raises(PropertiesApiException) as conflict:
        api.properties.create("contacts", spec)
    patched = api.properties.update(
        "contacts",
        "segsync_tier",
        PropertyUpdate(
            options=[
                {"label": "Gold", "value": "gold", "hidden": False},
                {"label": "Silver", "value": "silver", "hidden": False},
            ]
        ),
    )

    assert created is not None and created.name == "segsync_tier"  # None would mean "not 201"
    assert (created.type, created.field_type, created.hubspot_defined) == (
        "enumeration",
        "select",
        False,
    )
    assert conflict.value.status == 409
    assert json.loads(conflict.value.body)["category"] == "OBJECT_ALREADY_EXISTS"
    assert [o.value for o in patched.options] == ["gold", "silver"]
    assert [o.value for o in api.properties.get_by_name("contacts", "segsync_tier").options] == [
        "gold",
        "silver",
    ]


def test_property_create_validates_required_fields_and_group(api: Apis):
    with pytest.raises(PropertiesApiException) as no_label:
        api.properties.create(
            "contacts",
            {"name": "x", "type": "string", "fieldType": "text", "groupName": "contactinformation"},
        )
    with pytest.raises(PropertiesApiException) as no_group:
        api.properties.create(
            "contacts",
            PropertyCreate(
                name="x", label="X", type="string", field_type="text", group_name="nope"
            ),
        )
    with pytest.raises(PropertiesApiException) as missing:
        api.properties.get_by_name("contacts", "x")

    assert no_label.value.status == 400
    assert (
        "some of required attributes are not set [label]"
        in json.loads(no_label.value.body)["message"]
    )
    assert no_group.value.status == 400
    assert missing.value.status == 404


def test_standard_properties_have_hubspot_types(api: Apis):
    by_name = {p.name: p for p in api.properties.get_all("contacts").results}

    assert {
        name: (by_name[name].type, by_name[name].group_name)
        for name in (
            "email",
            "lifecyclestage",
            "createdate",
            "recent_deal_close_date",
            "hs_email_optout",
            "employees",
        )
    } == {
        "email": ("string", "contactinformation"),
        "lifecyclestage": ("enumeration", "contactinformation"),
        "createdate": ("datetime", "contactinformation"),
        "recent_deal_close_date": ("date", "deal_information"),
        "hs_email_optout": ("enumeration", "emailinformation"),
        "employees": ("number", "contactinformation"),
    }
    assert [o.value for o in by_name["lifecyclestage"].options] == [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ]


def test_group_create_is_201_then_409(api: Apis):
    group = PropertyGroupCreate(name="segsync", label="segsync", display_order=5)

    created = api.groups.create("contacts", group)
    with pytest.raises(PropertiesApiException) as conflict:
        api.groups.create("contacts", group)

    assert (created.name, created.display_order, created.archived) == ("segsync", 5, False)
    assert conflict.value.status == 409


def test_a_person_deleting_a_property_makes_writes_fail(
    crm: SandboxCRM, api: Apis, segment_property: str
):
    [cid] = crm.store.add_contacts([{"email": "a@example.com", segment_property: "high_value"}])

    crm.store.delete_property(segment_property)

    assert crm.store.property(segment_property) is None
    assert segment_property not in crm.store.contact(cid)
    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(cid, {segment_property: "high_value"})])
    assert json.loads(raised.value.body)["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


# -- lists --------------------------------------------------------------------------------


def test_list_create_find_add_remove_and_page_members(crm: SandboxCRM, api: Apis):
    ids = crm.store.add_contacts([{"email": f"p{i}@example.com"} for i in range(300)])

    created = api.lists.create(
        list_create_request=ListCreateRequest(
            name="High value", object_type_id="0-1", processing_type="MANUAL"
        )
    )
    list_id = created.list.list_id
    found = api.lists.get_by_name(list_name="HIGH VALUE", object_type_id="0-1")
    first = api.members.add(list_id=list_id, request_body=ids[:200] + ["424242"])
    second = api.members.add(list_id=list_id, request_body=ids[150:300])
    removed = api.members.remove(list_id=list_id, request_body=[ids[0], ids[1], "424242"])
    swapped = api.members.add_and_remove(
        list_id=list_id,
        membership_change_request=(
            MembershipChangeRequest(record_ids_to_add=[ids[0]], record_ids_to_remove=[ids[2]])
        ),
    )

    assert (
        created.list.name,
        created.list.processing_type,
        created.list.processing_status,
        created.list.size,
    ) == ("High value", "MANUAL", "COMPLETE", 0)
    assert found.list.list_id == list_id
    assert (first.records_ids_added, first.record_ids_missing) == (ids[:200], ["424242"])
    assert second.records_ids_added == ids[200:300]  # members already in are ignored
    assert (removed.record_ids_removed, removed.record_ids_missing) == (ids[:2], ["424242"])
    assert (swapped.records_ids_added, swapped.record_ids_removed) == ([ids[0]], [ids[2]])
    expected = [ids[0]] + ids[3:300]
    pages, after = [], None
    while True:
        page = api.members.get_page(list_id=list_id, after=after, limit=250)
        pages.append([m.record_id for m in page.results])
        assert page.total == len(expected)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert [len(p) for p in pages] == [250, 48]
    assert [rid for p in pages for rid in p] == expected
    assert crm.store.list_members(list_id) == set(expected)
    assert crm.store.list_by_name("high value")["listId"] == list_id
    assert crm.calls["POST /crm/v3/lists"] == 1  # the SDK posts to /crm/v3/lists/


def test_duplicate_list_names_and_unknown_lists(api: Apis):
    api.lists.create(
        list_create_request=ListCreateRequest(
            name="Churn risk", object_type_id="0-1", processing_type="MANUAL"
        )
    )

    with pytest.raises(ListsApiException) as duplicate:
        api.lists.create(
            list_create_request=ListCreateRequest(
                name="churn risk", object_type_id="0-1", processing_type="MANUAL"
            )
        )
    with pytest.raises(ListsApiException) as by_name:
        api.lists.get_by_name(list_name="Nope", object_type_id="0-1")
    with pytest.raises(ListsApiException) as by_id:
        api.members.add(list_id="9999", request_body=["1"])

    assert duplicate.value.status == 400
    body = json.loads(duplicate.value.body)
    assert (body["category"], body["subCategory"]) == (
        "VALIDATION_ERROR",
        "ILS.DUPLICATE_LIST_NAMES",
    )
    assert by_name.value.status == 404
    assert by_id.value.status == 404
    assert json.loads(by_id.value.body)["category"] == "OBJECT_NOT_FOUND"


def test_dynamic_lists_refuse_membership_changes(crm: SandboxCRM, api: Apis):
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])
    dynamic = api.lists.create(
        list_create_request=ListCreateRequest(
            name="Dynamic",
            object_type_id="0-1",
            processing_type="DYNAMIC",
            filter_branch={"filterBranchType": "OR", "filterBranches": [], "filters": []},
        )
    )

    with pytest.raises(ListsApiException) as refused:
        api.members.add(list_id=dynamic.list.list_id, request_body=[cid])

    assert refused.value.status == 400
    assert crm.store.list_members(dynamic.list.list_id) == set()


def test_deleted_lists_are_gone_by_name_but_readable_by_id(crm: SandboxCRM, api: Apis):
    created = api.lists.create(
        list_create_request=ListCreateRequest(
            name="Old segment", object_type_id="0-1", processing_type="MANUAL"
        )
    )
    list_id = created.list.list_id

    api.lists.remove(list_id=list_id)

    with pytest.raises(ListsApiException) as by_name:
        api.lists.get_by_name(list_name="Old segment", object_type_id="0-1")
    assert by_name.value.status == 404
    assert api.lists.get_by_id(list_id=list_id).list.deleted_at is not None
    assert crm.store.list_by_name("Old segment") is None
    recreated = api.lists.create(
        list_create_request=ListCreateRequest(
            name="Old segment", object_type_id="0-1", processing_type="MANUAL"
        )
    )
    assert recreated.list.list_id != list_id
    assert [r.status for r in crm.call_log if r.route == "DELETE /crm/v3/lists/{listId}"] == [204]


# -- auth, limits, faults -----------------------------------------------------------------


def test_a_wrong_token_is_401_with_hubspots_body(crm: SandboxCRM):
    with pytest.raises(ContactsApiException) as raised:
        sdk(crm, token="pat-na1-wrong").basic.get_page(limit=1)

    assert raised.value.status == 401
    body = json.loads(raised.value.body)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith(
        "Authentication credentials not found. This API supports " "OAuth 2.0 authentication"
    )
    assert crm.call_log[-1].status == 401


def test_rate_limit_headers_on_every_non_search_response(crm: SandboxCRM):
    raw(crm, "GET", "/crm/v3/objects/contacts")
    status, headers, _ = raw(crm, "GET", "/crm/v3/properties/contacts/nope")
    search_status, search_headers, _ = raw(crm, "POST", "/crm/v3/objects/contacts/search", {})

    assert status == 404
    assert {k: v for k, v in headers.items() if k.startswith("X-HubSpot-RateLimit")} == {
        "X-HubSpot-RateLimit-Max": "190",
        "X-HubSpot-RateLimit-Remaining": "188",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Daily": "625000",
        "X-HubSpot-RateLimit-Daily-Remaining": "624998",
    }
    assert search_status == 200
    assert not [k for k in search_headers if k.startswith("X-HubSpot-RateLimit")]


def test_injected_429_has_hubspots_body_and_the_retry_goes_through(crm: SandboxCRM, api: Apis):
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])
    crm.inject_faults(status=429, count=2, route=BATCH_UPDATE)

    failures = []
    for _ in range(2):
        with pytest.raises(ContactsApiException) as raised:
            batch_update(api, [(cid, {"jobtitle": "CFO"})])
        failures.append(raised.value)
        assert crm.store.contact(cid)["jobtitle"] is None
    batch_update(api, [(cid, {"jobtitle": "CFO"})])

    body = json.loads(failures[0].body)
    assert {k: v for k, v in body.items() if k != "correlationId"} == {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": "publicapi:private_app-api-calls-ten-secondly:3141592:24681357",
    }
    assert failures[0].status == 429
    assert failures[0].headers["X-HubSpot-RateLimit-Remaining"] == "0"
    writes = [r for r in crm.call_log if r.route == BATCH_UPDATE]
    assert [r.status for r in writes] == [429, 429, 200]
    assert len({r.body_sha1 for r in writes}) == 1
    assert crm.store.contact(cid)["jobtitle"] == "CFO"


def test_injected_5xx_and_dropped_connections(crm: SandboxCRM, api: Apis):
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])
    crm.inject_faults(status=502, count=1, route=None)
    crm.inject_faults(status="disconnect", count=1, route=BATCH_UPDATE)
    crm.inject_faults(status=504, count=1, route=BATCH_UPDATE, after_commit=True)

    with pytest.raises(ContactsApiException) as gateway:
        api.basic.get_page(limit=1)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        batch_update(api, [(cid, {"jobtitle": "CEO"})])
    assert crm.store.contact(cid)["jobtitle"] is None  # dropped before anything happened
    with pytest.raises(ContactsApiException) as timeout:
        batch_update(api, [(cid, {"jobtitle": "CTO"})])

    assert gateway.value.status == 502
    assert gateway.value.body.startswith("<html>")
    assert timeout.value.status == 504
    assert crm.store.contact(cid)["jobtitle"] == "CTO"  # committed, only the answer was lost
    assert [r.status for r in crm.call_log] == [502, 0, 504]
    with pytest.raises(ValueError):
        crm.inject_faults(status=418)
    with pytest.raises(ValueError):
        crm.inject_faults(status=429, route="POST /crm/v3/objects/contacts/batch/updat")


def test_ten_secondly_and_daily_limits_are_enforced():
    with SandboxCRM(token=TOKEN, limits=SandboxLimits(ten_secondly=3)) as crm:
        statuses = [raw(crm, "GET", "/crm/v3/objects/contacts")[0] for _ in range(4)]
        _, headers, body = raw(crm, "GET", "/crm/v3/objects/contacts")
    assert statuses == [200, 200, 200, 429]
    assert json.loads(body)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert (headers["X-HubSpot-RateLimit-Max"], headers["X-HubSpot-RateLimit-Remaining"]) == (
        "3",
        "0",
    )

    with SandboxCRM(token=TOKEN, limits=SandboxLimits(daily=2)) as crm:
        statuses = [raw(crm, "GET", "/crm/v3/objects/contacts")[0] for _ in range(3)]
        _, headers, body = raw(crm, "GET", "/crm/v3/objects/contacts")
    assert statuses == [200, 200, 429]
    assert json.loads(body)["policyName"] == "DAILY"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_search_has_its_own_five_per_second_bucket(crm: SandboxCRM):
    results = [raw(crm, "POST", "/crm/v3/objects/contacts/search", {}) for _ in range(6)]

    assert [status for status, _, _ in results] == [200] * 5 + [429]
    status, headers, body = results[5]
    assert json.loads(body)["policyName"] == "SECONDLY"
    assert json.loads(body)["message"] == "You have reached your secondly limit."
    assert not [k for k in headers if k.startswith("X-HubSpot-RateLimit")]
    assert raw(crm, "GET", "/crm/v3/objects/contacts")[0] == 200  # other bucket unaffected


def test_rate_limiter_windows_roll():
    now = [0.0]
    limiter = RateLimiter(
        SandboxLimits(ten_secondly=2), clock=lambda: now[0], today=lambda: date(2025, 1, 1)
    )

    decisions = [limiter.admit(search=False).refused_by for _ in range(3)]
    now[0] = 10.001
    after_window = limiter.admit(search=False)

    assert decisions == [None, None, "TEN_SECONDLY_ROLLING"]
    assert (after_window.refused_by, after_window.remaining) == (None, 1)
    assert after_window.daily_remaining == 625_000 - 3


def test_unknown_routes_are_404_json(crm: SandboxCRM):
    status, headers, body = raw(crm, "GET", "/crm/v3/objects/deals")
    assert status == 404
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert json.loads(body)["status"] == "error"
    assert crm.calls["GET /crm/v3/objects/deals"] == 1


# -- search -------------------------------------------------------------------------------


def test_search_filters_sorts_and_pages_exactly(crm: SandboxCRM, api: Apis):
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


def test_search_cannot_page_past_ten_thousand(crm: SandboxCRM, api: Apis):
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


# -- store helpers and seed data ----------------------------------------------------------


def test_a_persons_edit_shows_up_in_reads(crm: SandboxCRM, api: Apis):
    [cid] = crm.seed_contacts(1, seed=2)
    old = crm.store.contact(cid)["lastmodifieddate"]

    crm.store.set_properties(cid, {"industry": "Retail"})

    [contact] = api.basic.get_page(limit=1, properties=["industry"]).results
    assert contact.properties["industry"] == "Retail"
    assert contact.properties["lastmodifieddate"] > old
    assert round(contact.updated_at.timestamp() * 1000) == ms_from_iso(
        contact.properties["lastmodifieddate"]
    )
    with pytest.raises(ValueError):
        crm.store.set_properties(cid, {"industyr": "Retail"})


def test_seed_is_deterministic_realistic_and_honestly_messy():
    rows = generate_contacts(4000, seed=11)

    assert rows == generate_contacts(4000, seed=11)
    assert rows != generate_contacts(4000, seed=12)
    assert len(rows) == 4000
    emails = [r["email"] for r in rows if r["email"]]
    assert 0.003 < (len(emails) - len({e.lower() for e in emails})) / 4000 < 0.007
    people = [
        (r["firstname"], r["lastname"], r["company"])
        for r in rows
        if all((r["firstname"], r["lastname"], r["company"]))
    ]
    assert len(people) - len(set(people)) >= 20  # ~1% duplicates in all
    industries = {r["industry"] for r in rows if r["industry"]}
    assert {
        "Healthcare",
        "Biotechnology",
        "Software",
        "Financial Services",
        "Retail",
        "Manufacturing",
        "Education",
    } <= industries
    assert any(i != i.strip() or i == i.lower() for i in industries)  # " Retail", "healthcare"
    assert 0.03 < sum(r["industry"] is None for r in rows) / 4000 < 0.09
    customers = [r for r in rows if r["lifecyclestage"] == "customer"]
    assert sum(int(r["num_purchases"]) >= 1 for r in customers) / len(customers) > 0.95
    assert all(r["num_purchases"] == "0" for r in rows if r["lifecyclestage"] == "lead")
    big = [
        float(r["annualrevenue"])
        for r in rows
        if r["annualrevenue"] and r["employees"] and int(r["employees"]) >= 500
    ]
    small = [
        float(r["annualrevenue"])
        for r in rows
        if r["annualrevenue"] and r["employees"] and int(r["employees"]) < 50
    ]
    assert sum(big) / len(big) > 10 * sum(small) / len(small)
    for row in rows:
        assert ISO_MS.match(row["createdate"]) and row["createdate"] < "2025-06-30"
        assert row["createdate"] <= row["lastmodifieddate"] < "2025-06-30"
        assert row["notes_last_updated"] is None or ISO_MS.match(row["notes_last_updated"])
        assert row["recent_deal_close_date"] is None or re.match(
            r"^\d{4}-\d{2}-\d{2}$", row["recent_deal_close_date"]
        )
        assert row["hs_email_optout"] in ("true", "false")
        assert row["employees"] is None or row["employees"].isdigit()


def test_seed_does_not_depend_on_hash_randomisation():
    script = (
        "import hashlib, json; from connectors.sandbox import generate_contacts; "
        "print(hashlib.sha1(json.dumps(generate_contacts(500, 3)).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1
