"""The sandbox HubSpot's lists: create, find, members, duplicates, dynamic and deleted lists."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.lists import ListCreateRequest, MembershipChangeRequest
from hubspot.crm.lists.exceptions import ApiException as ListsApiException

from connectors.sandbox import HubSpotSandbox
from tests.support.hubspot_sdk import Apis


def test_list_create_find_add_remove_and_page_members(crm: HubSpotSandbox, api: Apis):
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


def test_dynamic_lists_refuse_membership_changes(crm: HubSpotSandbox, api: Apis):
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


def test_deleted_lists_are_gone_by_name_but_readable_by_id(crm: HubSpotSandbox, api: Apis):
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
