"""HubSpot's v3 contact lists: found by name, created (MANUAL), deleted, their members read a
page at a time and changed a chunk at a time, as HubSpot's answer confirms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from connectors.base import IdPage, ListRef, MembershipChange, NotFound, Transient
from connectors.hubspot.calls import HubSpotCalls
from connectors.hubspot.writes import answer_ids

CONTACT_OBJECT_TYPE_ID = "0-1"
EDITABLE_PROCESSING_TYPES = frozenset({"MANUAL", "SNAPSHOT"})
ADDED_KEYS = ("recordIdsAdded", "recordsIdsAdded")
"""HubSpot's OpenAPI spec (v3 and 2026-09) and the SDK's model spell the added ids
``recordsIdsAdded``; its docs also show ``recordIdsAdded``. Either is read."""


def _list_ref(described: Any) -> ListRef:
    """A v3 list object: ``size`` is its member count; only MANUAL and SNAPSHOT lists take
    membership changes (HubSpot's lists guide), DYNAMIC ones follow their filters."""
    return ListRef(
        id=str(described.list_id),
        name=described.name,
        size=described.size,
        editable=described.processing_type in EDITABLE_PROCESSING_TYPES,
    )


def confirmed_membership(answer: Any, *, added: bool, action: str) -> MembershipChange:
    """What HubSpot's membership answer confirms: the ids it added (or removed) and the ids it
    reports missing. An answer without those lists confirms nothing: ``Transient``."""
    keys = ADDED_KEYS if added else ("recordIdsRemoved",)
    found = [answer[key] for key in keys if isinstance(answer, dict) and key in answer]
    if not found or not isinstance(answer.get("recordIdsMissing", []), list):
        raise Transient(f"HubSpot {action}: the answer confirms no membership change")
    changed = [record_id for values in found for record_id in answer_ids(values)]
    return MembershipChange(
        changed=tuple(dict.fromkeys(changed)),
        missing=tuple(answer_ids(answer.get("recordIdsMissing"))),
    )


class ContactLists:
    """The lists of one connector, through the lists and memberships APIs."""

    def __init__(self, calls: HubSpotCalls, lists_api: Any, memberships_api: Any) -> None:
        self._calls = calls
        self._lists = lists_api
        self._memberships = memberships_api

    def find(self, name: str) -> ListRef | None:
        try:
            data = self._calls.call(
                f"find list {name!r}",
                self._lists.get_by_name_with_http_info,
                name,
                CONTACT_OBJECT_TYPE_ID,
            )
        except NotFound:
            return None
        return _list_ref(data.list)

    def create(self, name: str) -> ListRef:
        data = self._calls.call(
            f"create list {name!r}",
            self._lists.create_with_http_info,
            {"name": name, "objectTypeId": CONTACT_OBJECT_TYPE_ID, "processingType": "MANUAL"},
        )
        return _list_ref(data.list)

    def delete(self, list_ref: ListRef) -> None:
        """``DELETE /crm/v3/lists/{listId}``; HubSpot keeps a deleted list restorable for a
        while, readable by id only."""
        try:
            self._calls.call(
                f"delete list {list_ref.name!r}", self._lists.remove_with_http_info, list_ref.id
            )
        except NotFound:
            return

    def read_members_page(self, list_ref: ListRef, cursor: str | None, limit: int) -> IdPage:
        data = self._calls.call(
            f"read members of list {list_ref.name!r}",
            self._memberships.get_page_with_http_info,
            list_ref.id,
            after=cursor,
            limit=limit,
        )
        next_page = data.paging.next if data.paging else None
        return IdPage(
            ids=[row.record_id for row in data.results],
            next_cursor=next_page.after if next_page else None,
        )

    def add_members(self, list_ref: ListRef, ids: Sequence[str]) -> MembershipChange:
        return self._change_members(list_ref, ids, self._memberships.add_with_http_info, "add to")

    def remove_members(self, list_ref: ListRef, ids: Sequence[str]) -> MembershipChange:
        method = self._memberships.remove_with_http_info
        return self._change_members(list_ref, ids, method, "remove from")

    def _change_members(
        self, list_ref: ListRef, ids: Sequence[str], method: Callable[..., Any], verb: str
    ) -> MembershipChange:
        action = f"{verb} list {list_ref.name!r}"
        answer = self._calls.call_for_answer(action, method, list_ref.id, list(ids))
        return confirmed_membership(answer, added=verb == "add to", action=action)
