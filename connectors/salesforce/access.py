"""``segsync check`` for Salesforce: describes of the synced object, Campaign and
CampaignMember answer for the integration user, so their flags and the fields they show
(field-level security) say what a sync may do, without writing anything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.access import AccessCheck
from connectors.base import NotFound
from connectors.salesforce.client import SalesforceClient, login_check
from connectors.salesforce.fields import field_name_problem
from connectors.salesforce.permissions import setup_checks
from connectors.salesforce.settings import SalesforceSettings


class AccessProbe:
    """The describes and setup checks of one connector's integration user."""

    def __init__(self, client: SalesforceClient, settings: SalesforceSettings) -> None:
        self.client = client
        self.settings = settings
        self.sobject = settings.object

    def check_access(self, segment_fields: Sequence[str]) -> list[AccessCheck]:
        """Describe the person object, Campaign and CampaignMember. A describe answers for the
        integration user, so its flags and the fields it shows (field-level security) say what
        a sync may do, without writing anything."""
        plural = f"{self.sobject}s"
        person = self._describe(self.sobject)
        visible = {field["name"].lower(): field for field in person.get("fields") or ()}
        campaign, member = self._describe("Campaign"), self._describe("CampaignMember")
        # Campaign members follow the campaign's access, and only marketing users manage them.
        campaigns = self._object_grant("Read, Create and Edit", "Campaigns") + (
            " and tick Marketing User on its user record (Setup → Users)"
        )
        return [
            login_check(self.client.method),
            _flag(f"read {plural}", person, "queryable", self._object_grant("Read", plural)),
            _flag(f"update {plural}", person, "updateable", self._object_grant("Edit", plural)),
            *(self._field_check(name, visible.get(name.lower())) for name in segment_fields),
            *setup_checks(self.client),
            _flag("create campaigns", campaign, "createable", campaigns),
            _flag("add campaign members", member, "createable", campaigns),
            _flag("remove campaign members", member, "deletable", campaigns),
        ]

    def _describe(self, sobject: str) -> Mapping[str, Any]:
        """The object's describe; empty when the user may not see the object at all."""
        try:
            return self.client.rest(f"describe {sobject}", f"sobjects/{sobject}/describe")
        except NotFound:
            return {}

    def _object_grant(self, permission: str, plural: str) -> str:
        """Where a person grants an object permission to the integration user."""
        permission_set = self.settings.permission_set or "<permission set>"
        return (
            f"grant {permission} on {plural} to the integration user (Setup → Permission Sets → "
            f"{permission_set} → Object Settings → {plural} → Edit)"
        )

    def _field_check(self, field: str, described: Mapping[str, Any] | None) -> AccessCheck:
        """Whether segsync can write ``field``; one it cannot see yet is created or granted by
        the first sync (``ContactFields.ensure``), so it is left unchecked."""
        name = f"write field {field}"
        refused = field_name_problem(field)
        if refused:
            return AccessCheck(name, "failed", f"{refused}: rename it in [sync]")
        if described is None:
            detail = "not visible yet: the first sync creates it and grants it Read and Edit"
            return AccessCheck(name, "unchecked", detail)
        if described.get("updateable"):
            return AccessCheck(name, "ok", "visible and updateable")
        return AccessCheck(name, "failed", self.client.grant.message(field))


def _flag(name: str, described: Mapping[str, Any], flag: str, fix: str) -> AccessCheck:
    """Ok when the describe sets ``flag`` for the integration user, else failed with ``fix``."""
    if described.get(flag):
        return AccessCheck(name, "ok", f"describe says {flag}")
    return AccessCheck(name, "failed", fix)
