"""The Salesforce sandbox's campaign members: add, duplicates, remove."""

from __future__ import annotations

from simple_salesforce import Salesforce, format_soql

from connectors.sandbox import SalesforceSandbox
from tests.support.salesforce_rest import COLLECTIONS, contact, error


def test_campaign_members_add_duplicate_and_remove(box: SalesforceSandbox, sf: Salesforce) -> None:
    people = [contact(sf, LastName=f"M{i}") for i in range(3)]
    campaign = sf.Campaign.create({"Name": "segsync: High value", "IsActive": True})
    assert list(campaign) == ["id", "success", "errors"] and campaign["id"].startswith("701")
    added = sf.restful(
        COLLECTIONS,
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "CampaignMember"},
                    "CampaignId": campaign["id"],
                    "ContactId": person,
                }
                for person in [people[0], people[1], people[0]]
            ],
        },
    )
    assert [r["success"] for r in added] == [True, True, False]
    assert added[2] == error("DUPLICATE_VALUE", "Already a campaign member.")
    assert box.store.campaign_members(campaign["id"]) == {people[0], people[1]}
    assert box.store.campaign_by_name("segsync: High value")["NumberOfContacts"] == 2

    members = sf.query(
        format_soql(
            "SELECT Id, ContactId, Status FROM CampaignMember WHERE CampaignId = {c} "
            "ORDER BY ContactId",
            c=campaign["id"],
        )
    )["records"]
    assert [(m["ContactId"], m["Status"]) for m in members] == [
        (people[0], "Sent"),
        (people[1], "Sent"),
    ]
    removed = sf.restful(
        COLLECTIONS,
        method="DELETE",
        params={"ids": f"{members[0]['Id']},{members[0]['Id']}", "allOrNone": "false"},
    )
    assert removed == [
        {"id": members[0]["Id"], "success": True, "errors": []},
        {"id": members[0]["Id"], **error("ENTITY_IS_DELETED", "entity is deleted")},
    ]
    box.store.delete("Contact", people[1])  # deleting a contact deletes its memberships
    assert box.store.campaign_members(campaign["id"]) == set()
    statuses = sf.query(
        format_soql(
            "SELECT Label, IsDefault FROM CampaignMemberStatus WHERE "
            "CampaignId = {c} ORDER BY Label",
            c=campaign["id"],
        )
    )["records"]
    assert [(s["Label"], s["IsDefault"]) for s in statuses] == [
        ("Responded", False),
        ("Sent", True),
    ]
