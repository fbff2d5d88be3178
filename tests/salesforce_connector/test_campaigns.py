"""Salesforce connector campaigns: segment lists as campaigns, and their members added and
removed (pinned with ``responses``)."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from connectors.base import ListRef, RecordRejected, Transient
from connectors.salesforce import SalesforceConnector
from tests.support.salesforce_api import API, INSTANCE, body, query_params, settings, soql

CAMPAIGN = ListRef("701C", "segsync: Champions")


def test_find_list_reads_the_oldest_campaign_of_that_name(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        json={
            "totalSize": 1,
            "done": True,
            "records": [{"Id": "701C", "Name": "segsync: Champions"}],
        },
    )
    mock.add("GET", f"{API}query/", json={"totalSize": 7, "done": True, "records": []})
    mock.add("GET", f"{API}query/", json={"totalSize": 0, "done": True, "records": []})
    found = connector.find_list("segsync: Champions")
    assert (found, found and found.size) == (CAMPAIGN, 7)
    assert connector.find_list("it's missing") is None
    assert soql(mock.calls[1]) == (
        "SELECT COUNT() FROM CampaignMember WHERE CampaignId = '701C' AND ContactId != null"
    )
    assert soql(mock.calls[2]) == (
        "SELECT Id, Name FROM Campaign WHERE Name = 'it\\'s missing' "
        "ORDER BY CreatedDate ASC LIMIT 1"
    )


def test_create_list_adds_the_member_status_when_the_campaign_lacks_it(
    mock: responses.RequestsMock,
) -> None:
    salesforce = SalesforceConnector(settings(campaign_status="Synced"))
    mock.add("POST", f"{API}sobjects/Campaign/", json={"id": "701C", "success": True, "errors": []})
    statuses = [{"Label": "Sent", "SortOrder": 1}, {"Label": "Responded", "SortOrder": 2}]
    mock.add("GET", f"{API}query/", json={"totalSize": 2, "done": True, "records": statuses})
    mock.add(
        "POST",
        f"{API}sobjects/CampaignMemberStatus/",
        json={"id": "01Y1", "success": True, "errors": []},
    )
    assert salesforce.create_list("segsync: Champions") == CAMPAIGN
    assert body(mock.calls[0]) == {"Name": "segsync: Champions", "IsActive": True}
    assert body(mock.calls[2]) == {
        "CampaignId": "701C",
        "Label": "Synced",
        "SortOrder": 3,
        "HasResponded": False,
    }


def test_adding_members_skips_existing_pairs_and_tolerates_duplicates_and_deleted_contacts(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        json={"totalSize": 1, "done": True, "records": [{"Id": "00v1", "ContactId": "003A"}]},
    )
    duplicate = {
        "success": False,
        "errors": [
            {"statusCode": "DUPLICATE_VALUE", "message": "Already a campaign member.", "fields": []}
        ],
    }
    deleted = {
        "success": False,
        "errors": [
            {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
        ],
    }
    mock.add(
        "POST",
        f"{API}composite/sobjects",
        json=[{"id": "00v2", "success": True, "errors": []}, duplicate, deleted],
    )
    connector.add_list_members(CAMPAIGN, ["003A", "003B", "003C", "003D"])
    assert soql(mock.calls[0]) == (
        "SELECT Id, ContactId FROM CampaignMember "
        "WHERE CampaignId = '701C' AND ContactId IN ('003A','003B','003C','003D')"
    )
    assert body(mock.calls[1]) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "CampaignMember"},
                "CampaignId": "701C",
                "ContactId": cid,
                "Status": "Sent",
            }
            for cid in ("003B", "003C", "003D")
        ],
    }


def test_adding_only_existing_members_sends_nothing(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        json={"totalSize": 1, "done": True, "records": [{"Id": "00v1", "ContactId": "003A"}]},
    )
    connector.add_list_members(CAMPAIGN, ["003A"])
    assert len(mock.calls) == 1


def test_member_failures_raise_locks_as_transient_and_others_as_rejected(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    def failure(code: str, message: str) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": code, "message": message, "fields": []}],
        }

    for _ in range(2):
        mock.add("GET", f"{API}query/", json={"totalSize": 0, "done": True, "records": []})
    mock.add(
        "POST",
        f"{API}composite/sobjects",
        json=[failure("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")],
    )
    mock.add(
        "POST",
        f"{API}composite/sobjects",
        json=[
            failure(
                "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "insufficient access rights on cross-reference id",
            )
        ],
    )
    with pytest.raises(Transient, match="unable to obtain exclusive access"):
        connector.add_list_members(CAMPAIGN, ["003A"])
    with pytest.raises(RecordRejected) as caught:
        connector.add_list_members(CAMPAIGN, ["003A"])
    assert str(caught.value) == (
        "record 003A rejected (INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY): insufficient "
        "access rights on cross-reference id"
    )


def test_removing_members_deletes_their_campaign_member_ids(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    members = [{"Id": "00v1", "ContactId": "003A"}, {"Id": "00v2", "ContactId": "003B"}]
    mock.add("GET", f"{API}query/", json={"totalSize": 2, "done": True, "records": members})
    gone = {
        "success": False,
        "errors": [
            {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
        ],
    }
    mock.add(
        "DELETE",
        f"{API}composite/sobjects",
        json=[{"id": "00v1", "success": True, "errors": []}, gone],
    )
    connector.remove_list_members(CAMPAIGN, ["003A", "003B", "003Z"])
    assert query_params(mock.calls[1]) == {
        "ids": ["00v1,00v2"],
        "allOrNone": ["false"],
    }


def test_list_members_page_by_locator(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    more = "/services/data/v59.0/query/01gD0000002HU6KIAW-2000"
    mock.add(
        "GET",
        f"{API}query/",
        json={
            "totalSize": 2,
            "done": False,
            "nextRecordsUrl": more,
            "records": [{"Id": "00v1", "ContactId": "003A"}],
        },
    )
    mock.add(
        "GET",
        f"{INSTANCE}{more}",
        json={"totalSize": 2, "done": True, "records": [{"Id": "00v2", "ContactId": "003B"}]},
    )
    first = connector.read_list_members_page(CAMPAIGN, None)
    last = connector.read_list_members_page(CAMPAIGN, first.next_cursor)
    assert (first.ids, last.ids, last.next_cursor) == (["003A"], ["003B"], None)
    assert soql(mock.calls[0]) == (
        "SELECT Id, ContactId FROM CampaignMember WHERE CampaignId = '701C' "
        "AND ContactId != null ORDER BY Id ASC"
    )


def test_limits_match_salesforce(connector: SalesforceConnector) -> None:
    limits = connector.limits
    assert (
        limits.read_page_size,
        limits.write_batch_size,
        limits.list_read_page_size,
        limits.list_change_batch_size,
    ) == (2000, 200, 2000, 200)
    assert (limits.budget.per_window, limits.budget.window_seconds, limits.budget.daily) == (
        None,
        None,
        100_000,
    )
