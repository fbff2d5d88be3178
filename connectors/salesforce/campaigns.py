"""Campaigns as segsync's lists: found by name, created with the configured member status,
deleted, and their CampaignMembers read, inserted and deleted for the synced object."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from simple_salesforce import format_soql

from connectors.base import IdPage, ListRef, MembershipChange, NotFound, RecordRejected, Transient
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.errors import record_result
from connectors.salesforce.paging import KeyedQuery, decode, encode, rest_page, where_clause
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.writes import require_one_result_each

CAMPAIGN_NAME_LENGTH = 80
"""Campaign.Name's length (Salesforce's object reference: Name, string, 80)."""
MEMBER_ALREADY_ADDED = "DUPLICATE_VALUE"


class Campaigns:
    """The campaigns of one connector. Members are the synced object's (``ContactId`` or
    ``LeadId``); ``converted_out`` leaves a converted lead's membership, its contact's now,
    alone."""

    def __init__(
        self,
        client: SalesforceClient,
        settings: SalesforceSettings,
        converted_out: tuple[str, ...],
    ) -> None:
        self.client = client
        self.settings = settings
        self.member_field = f"{settings.object}Id"
        self.converted_out = converted_out

    def find(self, name: str) -> ListRef | None:
        """The oldest Campaign of that name (Salesforce does not keep names unique)."""
        rows = self.client.query(
            f"find campaign {name!r}",
            format_soql(
                "SELECT Id, Name FROM Campaign WHERE Name = {} ORDER BY CreatedDate ASC LIMIT 1",
                name,
            ),
        )
        if not rows:
            return None
        campaign = ListRef(id=str(rows[0]["Id"]), name=str(rows[0]["Name"]))
        return dataclasses.replace(campaign, size=self._member_count(campaign))

    def _member_count(self, campaign: ListRef) -> int:
        """The campaign's members as ``read_members_page`` reads them, in one COUNT()
        query (``NumberOfContacts`` and ``NumberOfLeads`` would count converted leads too)."""
        result = self.client.rest(
            f"count members of campaign {campaign.name!r}",
            "query/",
            params={"q": "SELECT COUNT() FROM CampaignMember" + where_clause(
                self._member_where(campaign)
            )},
        )
        return int(result["totalSize"])

    def _member_where(self, campaign: ListRef) -> tuple[str, ...]:
        """The conditions of this sync's members of a campaign: its person object's, live."""
        return (
            format_soql("CampaignId = {}", campaign.id),
            f"{self.member_field} != null",
            *self.converted_out,
        )

    def create(self, name: str) -> ListRef:
        """An active Campaign that offers the configured member status."""
        created = self.client.rest(
            f"create campaign {name!r}",
            "sobjects/Campaign/",
            method="POST",
            body={"Name": name, "IsActive": True},
        )
        campaign = ListRef(id=str(created["id"]), name=name, size=0)
        self._ensure_member_status(campaign)
        return campaign

    def delete(self, list_ref: ListRef) -> None:
        """Delete the Campaign (to the recycle bin, with its members); a gone one is done."""
        try:
            self.client.rest(
                f"delete campaign {list_ref.name!r}",
                f"sobjects/Campaign/{list_ref.id}",
                method="DELETE",
            )
        except NotFound:
            return

    def _ensure_member_status(self, campaign: ListRef) -> None:
        """New campaigns offer "Sent" and "Responded"; add the configured status if missing."""
        status = self.settings.campaign_status
        rows = self.client.query(
            f"read member statuses of campaign {campaign.name!r}",
            format_soql(
                "SELECT Label, SortOrder FROM CampaignMemberStatus WHERE CampaignId = {}",
                campaign.id,
            ),
        )
        if any(row["Label"] == status for row in rows):
            return
        self.client.rest(
            f"add member status {status!r} to campaign {campaign.name!r}",
            "sobjects/CampaignMemberStatus/",
            method="POST",
            body={
                "CampaignId": campaign.id,
                "Label": status,
                "SortOrder": max((int(row["SortOrder"]) for row in rows), default=0) + 1,
                "HasResponded": False,
            },
        )

    def read_members_page(self, list_ref: ListRef, cursor: str | None) -> IdPage:
        query = KeyedQuery(
            "CampaignMember",
            ("Id", self.member_field),
            where=self._member_where(list_ref),
        )
        records, next_cursor = rest_page(
            self.client, f"read members of campaign {list_ref.name!r}", query, decode(cursor)
        )
        return IdPage(
            ids=[str(record[self.member_field]) for record in records],
            next_cursor=encode(next_cursor),
        )

    def add_members(self, list_ref: ListRef, ids: Sequence[str]) -> MembershipChange:
        """Insert CampaignMembers for the ids that are not members yet.

        Inserting an existing pair fails with ``DUPLICATE_VALUE``, so present members are
        read first; one that appears in between (a concurrent run) is already as asked.
        """
        present = self._members(list_ref, ids)
        new = [contact_id for contact_id in ids if contact_id not in present]
        if not new:
            return MembershipChange()
        records = [
            {
                "attributes": {"type": "CampaignMember"},
                "CampaignId": list_ref.id,
                self.member_field: contact_id,
                "Status": self.settings.campaign_status,
            }
            for contact_id in new
        ]
        results = self.client.rest(
            f"add to campaign {list_ref.name!r}",
            "composite/sobjects",
            method="POST",
            body={"allOrNone": False, "records": records},
        )
        return _membership_change(new, results, contacts_named=True)

    def remove_members(self, list_ref: ListRef, ids: Sequence[str]) -> MembershipChange:
        """Delete the CampaignMembers of these ids; ids that are not members are ignored, as are
        converted leads' (their contact's now)."""
        members = self._members(list_ref, ids, *self.converted_out)
        if not members:
            return MembershipChange()
        results = self.client.rest(
            f"remove from campaign {list_ref.name!r}",
            "composite/sobjects",
            method="DELETE",
            params={"ids": ",".join(members.values()), "allOrNone": "false"},
        )
        return _membership_change(list(members), results, contacts_named=False)

    def _members(self, list_ref: ListRef, ids: Sequence[str], *where: str) -> dict[str, str]:
        """CampaignMember Id by contact id, for those of ``ids`` in the campaign (and ``where``)."""
        if not ids:
            return {}
        rows = self.client.query(
            f"read members of campaign {list_ref.name!r}",
            format_soql(
                f"SELECT Id, {self.member_field} FROM CampaignMember "
                f"WHERE CampaignId = {{}} AND {self.member_field} IN {{}}",
                list_ref.id,
                list(ids),
            )
            + "".join(f" AND {condition}" for condition in where),
        )
        return {str(row[self.member_field]): str(row["Id"]) for row in rows}


def _membership_change(
    ids: Sequence[str], results: Sequence[Mapping[str, Any]], *, contacts_named: bool
) -> MembershipChange:
    """What a membership change's Collections results confirm, one result per id.

    A member added twice (``DUPLICATE_VALUE``, a concurrent run) or a member already gone is
    as asked. A record missing is the contact when the call named contacts (an insert), only
    the CampaignMember when it named members (a delete): then the contact itself is still
    there. Any other failure raises, for the first record that needs attention.

    The rest of the call is applied either way (``allOrNone`` is off), and the change is
    idempotent, so a lock makes the whole chunk transient: the retry redoes only what is left.
    """
    require_one_result_each("change campaign members", ids, results)
    outcomes = [record_result(i, r) for i, r in zip(ids, results, strict=True)]
    failures = [
        outcome
        for outcome in outcomes
        if not (outcome.ok or outcome.missing or outcome.code == MEMBER_ALREADY_ADDED)
    ]
    if any(failure.retryable for failure in failures):
        raise Transient(f"Salesforce campaign members locked: {failures[0].message}")
    if failures:
        first = failures[0]
        raise RecordRejected(first.contact_id, first.code, first.message, retryable=False)
    missing = [o.contact_id for o in outcomes if o.missing] if contacts_named else []
    return MembershipChange(
        changed=tuple(o.contact_id for o in outcomes if o.ok), missing=tuple(missing)
    )


