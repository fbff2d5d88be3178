"""The user permissions segsync needs to create its fields and grant them, as ``check`` sees them.

Creating or changing a custom field needs "Customize Application"; reading ``FieldPermissions``
needs "View Setup and Configuration", and creating or editing them (granting a field through
a permission set) "Manage Profiles and Permission Sets" (Salesforce's Object Reference,
FieldPermissions and PermissionSet). A user holds a permission when any permission set
assigned to it enables it; its profile's permissions live in the permission set the profile
owns, which ``PermissionSetAssignment`` lists too. The user is the one ``userinfo`` names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from simple_salesforce import format_soql

from connectors.access import AccessCheck
from connectors.salesforce.client import SalesforceClient

SETUP_PERMISSIONS = {
    "PermissionsCustomizeApplication": "Customize Application",
    "PermissionsViewSetup": "View Setup and Configuration",
    "PermissionsManageProfilesPermissionsets": "Manage Profiles and Permission Sets",
}
"""PermissionSet fields (the permissions' API names) and their names in Setup."""
PROFILE = "the profile"


def setup_checks(client: SalesforceClient) -> list[AccessCheck]:
    """Two rows: the configured permission set is assigned to the integration user, and the
    user holds every permission of ``SETUP_PERMISSIONS``."""
    name = client.permission_set
    user = client.call("identify the integration user", lambda sf: sf.oauth2("userinfo"))
    user_id = user.get("user_id") if isinstance(user, Mapping) else None
    if not isinstance(user_id, str):
        detail = "Salesforce did not say who the integration user is (userinfo)"
        return [AccessCheck(f"permission set {name}", "unchecked", detail)]
    fields = ", ".join(f"PermissionSet.{field}" for field in SETUP_PERMISSIONS)
    rows = client.query(
        "read the integration user's permission sets",
        format_soql(
            f"SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile, {fields} "
            "FROM PermissionSetAssignment WHERE AssigneeId = {}",
            user_id,
        ),
    )
    held = [row["PermissionSet"] for row in rows if isinstance(row.get("PermissionSet"), Mapping)]
    return [assignment_check(name, held), permissions_check(name, held)]


def assignment_check(name: str, held: Sequence[Mapping[str, Any]]) -> AccessCheck:
    """Whether the permission set segsync grants its fields through is the user's."""
    check = f"permission set {name}"
    if any(permission_set.get("Name") == name for permission_set in held):
        return AccessCheck(check, "ok", "assigned to the integration user")
    return AccessCheck(
        check,
        "failed",
        f"permission set {name} is not assigned to the integration user: assign it (Setup → "
        "Users → the integration user → Permission Set Assignments → Edit Assignments) or set "
        "permission_set in [salesforce] to one that is.",
    )


def permissions_check(name: str, held: Sequence[Mapping[str, Any]]) -> AccessCheck:
    """Whether the user holds every permission creating and granting fields needs."""
    check = "create and grant fields"
    missing = [
        label
        for field, label in SETUP_PERMISSIONS.items()
        if not any(permission_set.get(field) is True for permission_set in held)
    ]
    if not missing:
        sources = sorted({_source(p) for p in held if _enables_any(p)})
        return AccessCheck(
            check, "ok", f"{', '.join(SETUP_PERMISSIONS.values())} (from {', '.join(sources)})"
        )
    return AccessCheck(
        check,
        "failed",
        f"the integration user lacks {', '.join(missing)}, needed to create segsync's fields "
        f"and grant them: enable them on permission set {name} (Setup → Permission Sets → "
        f"{name} → System Permissions → Edit).",
    )


def _enables_any(permission_set: Mapping[str, Any]) -> bool:
    return any(permission_set.get(field) is True for field in SETUP_PERMISSIONS)


def _source(permission_set: Mapping[str, Any]) -> str:
    """How a person recognises where a permission comes from."""
    if permission_set.get("IsOwnedByProfile"):
        return PROFILE
    return f"permission set {permission_set.get('Name')}"
