"""Private-app scopes in the sandbox HubSpot portal: which route needs which, and the 403.

A sandbox token can be given fewer than all scopes, so a client's handling of HubSpot's
``MISSING_SCOPES`` refusal (and ``segsync check``'s diagnosis of it) can be exercised. The
body is HubSpot's (captured in public issue threads, 2021-2026): a fixed message, the
acceptable scopes in ``errors[0].context.requiredGranularScopes`` ("one or more of"), a link,
and ``category: MISSING_SCOPES``. The token-info endpoint, which needs no scope, tells a
private app which scopes its token holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection

from connectors.sandbox.server import Request, Response, json_response

CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
SCHEMAS_READ = "crm.schemas.contacts.read"
SCHEMAS_WRITE = "crm.schemas.contacts.write"
LISTS_READ = "crm.lists.read"
LISTS_WRITE = "crm.lists.write"
EXPORT = "crm.export"
ALL_SCOPES = frozenset(
    {CONTACTS_READ, CONTACTS_WRITE, SCHEMAS_READ, SCHEMAS_WRITE, LISTS_READ, LISTS_WRITE, EXPORT}
)

TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"

_PROPERTY_READ = (CONTACTS_READ, SCHEMAS_READ)
ROUTE_SCOPES: dict[str, tuple[str, ...]] = {
    "GET /crm/v3/objects/contacts": (CONTACTS_READ,),
    "GET /crm/v3/objects/contacts/{contactId}": (CONTACTS_READ,),
    "POST /crm/v3/objects/contacts/merge": (CONTACTS_WRITE,),
    "POST /crm/v3/objects/contacts/search": (CONTACTS_READ,),
    "POST /crm/v3/objects/contacts/batch/update": (CONTACTS_WRITE,),
    "GET /crm/v3/properties/contacts/groups": _PROPERTY_READ,
    "POST /crm/v3/properties/contacts/groups": (SCHEMAS_WRITE,),
    "GET /crm/v3/properties/contacts": _PROPERTY_READ,
    "POST /crm/v3/properties/contacts": (SCHEMAS_WRITE,),
    "GET /crm/v3/properties/contacts/{propertyName}": _PROPERTY_READ,
    "PATCH /crm/v3/properties/contacts/{propertyName}": (SCHEMAS_WRITE,),
    "POST /crm/v3/lists": (LISTS_WRITE,),
    "GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}": (LISTS_READ,),
    "GET /crm/v3/lists/{listId}": (LISTS_READ,),
    "DELETE /crm/v3/lists/{listId}": (LISTS_WRITE,),
    "PUT /crm/v3/lists/{listId}/memberships/add": (LISTS_WRITE,),
    "PUT /crm/v3/lists/{listId}/memberships/remove": (LISTS_WRITE,),
    "PUT /crm/v3/lists/{listId}/memberships/add-and-remove": (LISTS_WRITE,),
    "GET /crm/v3/lists/{listId}/memberships": (LISTS_READ,),
}
"""The scopes that admit each route, any one of them being enough (HubSpot's reference)."""
EXPORT_ROUTE_SCOPES: dict[str, tuple[str, ...]] = {
    "POST /crm/v3/exports/export/async": (EXPORT,),
    "GET /crm/v3/exports/export/async/tasks/{taskId}/status": (EXPORT,),
}
"""The exports API's routes (``exports``), by the CRM Exports v3 spec's security."""


def missing_scopes(route: str, granted: Collection[str]) -> Response | None:
    """HubSpot's 403 when ``granted`` holds none of the scopes ``route`` needs, else None."""
    required = ROUTE_SCOPES.get(route) or EXPORT_ROUTE_SCOPES.get(route, ())
    if not required or any(scope in granted for scope in required):
        return None
    return json_response(
        403,
        {
            "status": "error",
            "message": "This app hasn't been granted all required scopes to make this call. "
            "Read more about required scopes here: https://developers.hubspot.com/scopes.",
            "errors": [
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": list(required)},
                }
            ],
            "links": {"scopes": "https://developers.hubspot.com/scopes"},
            "category": "MISSING_SCOPES",
        },
    )


def token_info(
    token: str | None, granted: Collection[str], portal_id: int, app_id: int
) -> Callable[[Request], Response]:
    """The handler of ``POST /oauth/v2/private-apps/get/access-token-info`` (``{tokenKey}``):
    the portal, app and scopes of the private-app ``token``, 400 for any other key (sandbox
    text); None when the portal's token is no private app's (a Service Key)."""

    def handle(request: Request) -> Response:
        try:
            key = json.loads(request.body or b"{}").get("tokenKey")
        except (json.JSONDecodeError, AttributeError):
            key = None
        if token is None or key != token:
            return json_response(
                400,
                {"status": "error", "message": "Invalid token key", "category": "VALIDATION_ERROR"},
            )
        return json_response(
            200, {"userId": 1, "hubId": portal_id, "appId": app_id, "scopes": sorted(granted)}
        )

    return handle
