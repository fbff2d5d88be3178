"""The HubSpot CRM v3 endpoints of the sandbox, and HubSpot's error bodies.

Status codes matter more than anywhere else here: ``hubspot-api-client`` deserialises by exact
status (property create 201, list create 200, batch update 200 or 207) and silently returns
None for any other 2xx. Every body text below is HubSpot's where evidence exists (captures in
public integrations and HubSpot's docs); where none was found the text is marked "sandbox text"
and only the status and ``category`` should be relied upon.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable
from itertools import islice, takewhile
from typing import Any

from connectors.sandbox.hubspot import schema
from connectors.sandbox.hubspot.search import SearchRejected, compile_search
from connectors.sandbox.hubspot.store import ContactRecord, HubSpotStore, ListRecord
from connectors.sandbox.limits import ListingCut, Policy, Usage
from connectors.sandbox.server import Request, Response, Router, json_response
from connectors.sandbox.timestamps import iso_from_ms, parse_timestamp_ms

PORTAL_ID = 24_681_357
"""The sandbox portal's id, as it appears in HubSpot's messages."""

APP_ID = 3_141_592
"""The sandbox private app's id, as it appears in rate-limit group names."""

SEARCH_ROUTE = "POST /crm/v3/objects/contacts/search"

MAX_BATCH_INPUTS = 100
DAY_MS = 86_400_000
MAX_PAGE = 100
DEFAULT_PAGE = 10
MAX_MEMBERSHIP_PAGE = 250
DEFAULT_MEMBERSHIP_PAGE = 100
LIST_PROCESSING_TYPES = ("MANUAL", "SNAPSHOT", "DYNAMIC")
EDITABLE_LIST_TYPES = ("MANUAL", "SNAPSHOT")
PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
FIELD_TYPES = (
    "textarea", "text", "date", "file", "number", "select", "radio", "checkbox",
    "booleancheckbox", "calculation_equation",
)
PROPERTY_REQUIRED = ("name", "label", "type", "fieldType", "groupName")
PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""Internal names HubSpot accepts: lower-case letters, digits and underscores, starting with a
letter (HubSpot's properties guide; ``Segsync_Segment`` is refused with a 400)."""
PROPERTY_PATCHABLE = (
    "label", "description", "groupName", "options", "displayOrder", "hidden", "formField",
    "type", "fieldType", "calculationFormula",
)


class ApiError(Exception):
    """Ends a handler early with a ready HubSpot error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def error_response(
    status: int,
    message: str,
    category: str | None,
    *,
    context: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    sub_category: str | None = None,
) -> Response:
    """HubSpot's error envelope, keys in HubSpot's order, correlation id also as a header."""
    correlation = str(uuid.uuid4())
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": correlation}
    if errors is not None:
        body["errors"] = errors
    if context is not None:
        body["context"] = context
    if category is not None:
        body["category"] = category
    if sub_category is not None:
        body["subCategory"] = sub_category
    return json_response(status, body, {"X-HubSpot-Correlation-Id": correlation})


def unauthorized() -> Response:
    """401 for a missing or wrong bearer token (HubSpot's text, captured 2023-2025)."""
    return error_response(
        401,
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
        "you can find more details at https://developers.hubspot.com/docs/methods/auth/"
        "oauth-overview",
        "INVALID_AUTHENTICATION",
    )


def rate_limited(policy: Policy, usage: Usage) -> Response:
    """429 as HubSpot sends it for each policy.

    Burst: ``{status, message, errorType, correlationId, policyName, groupName}`` with the
    rate-limit headers (captured). Search: "You have reached your secondly limit." with
    ``policyName`` SECONDLY and no headers, as search never sends them. Daily: the documented
    text with ``policyName`` DAILY; its ``groupName`` was not captured, so none is sent.
    """
    correlation = str(uuid.uuid4())
    body: dict[str, Any] = {"status": "error"}
    headers = {"X-HubSpot-Correlation-Id": correlation}
    if policy == "SECONDLY":
        body |= {"message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
                 "correlationId": correlation, "policyName": "SECONDLY"}
    elif policy == "DAILY":
        body |= {"message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
                 "correlationId": correlation, "policyName": "DAILY"}
        headers |= usage.headers()
    else:
        body |= {"message": "You have reached your ten_secondly_rolling limit.",
                 "errorType": "RATE_LIMIT", "correlationId": correlation,
                 "policyName": "TEN_SECONDLY_ROLLING",
                 "groupName": f"publicapi:private_app-api-calls-ten-secondly:{APP_ID}:{PORTAL_ID}"}
        headers |= usage.headers()
    return json_response(429, body, headers)


CLOUDFLARE_TITLES = {
    520: "Web server is returning an unknown error",
    521: "Web server is down",
    522: "Connection timed out",
    523: "Origin is unreachable",
    524: "A timeout occurred",
}


def server_error(status: int) -> Response:
    """A 5xx the way HubSpot's stack produces it.

    500 comes from the application as JSON ``"internal error"`` (captured); 502-504 from the
    nginx edge and 52x from Cloudflare, both as HTML pages (captured), which is why a client
    must not assume an error body is JSON.
    """
    if status == 500:
        return error_response(500, "internal error", None)
    if status in CLOUDFLARE_TITLES:
        title = f"api.hubapi.com | {status}: {CLOUDFLARE_TITLES[status]}"
    else:
        title = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable",
                 504: "504 Gateway Time-out"}[status]
    page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body bgcolor=\"white\">\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n")
    return Response(status=status, body=page.encode(), content_type="text/html")


def garbled_answer(kind: str, served: Response | None) -> Response:
    """A 200 that confirms less than ``served`` did (see ``HubSpotSandbox.inject_faults``).

    ``{}`` and the HTML page are what a misbehaving proxy or a maintenance page in front of
    the API hand back (sandbox choice: no capture of HubSpot itself doing it); the partial
    answer keeps the first half of ``results`` (rounded down). An error answer is passed on.
    """
    if served is not None and served.status >= 300:
        return served
    headers = served.headers if served is not None else {}
    if kind == "empty_answer":
        return json_response(200, {}, headers)
    if kind == "html_answer":
        page = b"<html><head><title>HubSpot</title></head><body>Please wait</body></html>"
        return Response(status=200, body=page, content_type="text/html", headers=headers)
    assert served is not None  # a partial answer is always carried out
    payload = json.loads(served.body)
    results = payload.get("results")
    if isinstance(results, list):
        payload["results"] = results[: len(results) // 2]
    return json_response(served.status, payload, headers)


def unknown_route(request: Request) -> Response:
    """404 for a path the sandbox does not serve (sandbox text)."""
    return error_response(404, f"resource not found: {request.method} {request.path}", None)


def _validation(message: str, **extra: Any) -> ApiError:
    return ApiError(error_response(400, message, "VALIDATION_ERROR", **extra))


def _not_found(message: str) -> ApiError:
    return ApiError(error_response(404, message, "OBJECT_NOT_FOUND"))


def _json_body(request: Request) -> Any:
    """The parsed body; HubSpot's 400 wording for input it cannot parse."""
    try:
        return json.loads(request.body or b"")
    except json.JSONDecodeError as exc:
        raise _validation(
            f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def _as_text(value: Any) -> str:
    """A property value as text; JSON null clears like "" (a sandbox choice, unverified)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    """A numeric query parameter, capped at ``maximum`` (sandbox choice: HubSpot's answer to
    a larger page size was not found in the evidence; capping keeps paging correct)."""
    raw = request.query_value(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or int(raw) == 0:
        raise _validation(f"{name}: {raw!r} is not a positive integer")
    return min(int(raw), maximum)


def _render_contact(record: ContactRecord, names: list[str]) -> dict[str, Any]:
    """A contact as the v3 object APIs return it; properties sorted by name, unset as null."""
    rendered: dict[str, Any] = {
        "id": str(record.id),
        "properties": {name: record.value(name) for name in names},
        "createdAt": iso_from_ms(record.created_ms),
        "updatedAt": iso_from_ms(record.updated_ms),
        "archived": record.archived_ms is not None,
    }
    if record.archived_ms is not None:
        rendered["archivedAt"] = iso_from_ms(record.archived_ms)
    return rendered


def _read_names(requested: list[str], defined: set[str]) -> list[str]:
    """Which properties a read returns: HubSpot's defaults when none are asked for, otherwise
    the asked-for ones that exist (unknown names are ignored) plus the system three."""
    if not requested:
        return sorted(schema.DEFAULT_READ_PROPERTIES)
    return sorted({name for name in requested if name in defined} | set(schema.SYSTEM_PROPERTIES))


def _split_names(values: list[str] | None) -> list[str]:
    """``properties=a&properties=b`` and ``properties=a,b`` are both accepted by HubSpot."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


class HubSpotApi:
    """The route handlers, over one store. ``register`` puts them in a router."""

    def __init__(self, store: HubSpotStore, listing_cut: ListingCut | None = None) -> None:
        self._store = store
        self._listing_cut = listing_cut or ListingCut()

    def register(self, router: Router) -> None:
        """Add every served route. Groups come before ``{propertyName}`` so "groups" is not
        taken for a property name."""
        routes: list[tuple[str, str, Callable[[Request], Response]]] = [
            ("GET", "/crm/v3/objects/contacts", self.list_contacts),
            ("POST", "/crm/v3/objects/contacts/search", self.search_contacts),
            ("POST", "/crm/v3/objects/contacts/batch/update", self.batch_update_contacts),
            ("POST", "/crm/v3/objects/contacts/merge", self.merge_contacts),
            ("GET", "/crm/v3/objects/contacts/{contactId}", self.get_contact),
            ("GET", "/crm/v3/properties/contacts/groups", self.list_groups),
            ("POST", "/crm/v3/properties/contacts/groups", self.create_group),
            ("GET", "/crm/v3/properties/contacts", self.list_properties),
            ("POST", "/crm/v3/properties/contacts", self.create_property),
            ("GET", "/crm/v3/properties/contacts/{propertyName}", self.get_property),
            ("PATCH", "/crm/v3/properties/contacts/{propertyName}", self.update_property),
            ("POST", "/crm/v3/lists", self.create_list),
            ("GET", "/crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}",
             self.get_list_by_name),
            ("GET", "/crm/v3/lists/{listId}", self.get_list),
            ("DELETE", "/crm/v3/lists/{listId}", self.delete_list),
            ("PUT", "/crm/v3/lists/{listId}/memberships/add", self.add_members),
            ("PUT", "/crm/v3/lists/{listId}/memberships/remove", self.remove_members),
            ("PUT", "/crm/v3/lists/{listId}/memberships/add-and-remove",
             self.add_and_remove_members),
            ("GET", "/crm/v3/lists/{listId}/memberships", self.get_memberships),
        ]
        for method, template, handler in routes:
            router.add(method, template, _guarded(handler))

    # -- contacts --------------------------------------------------------------------------

    def list_contacts(self, request: Request) -> Response:
        """``GET /crm/v3/objects/contacts``: ascending ids; ``after`` is the next id to read."""
        limit = _int_param(request, "limit", DEFAULT_PAGE, MAX_PAGE)
        after = request.query_value("after") or "0"
        if not after.isdigit():
            raise _validation(f"after: {after!r} is not a valid paging cursor")
        archived = (request.query_value("archived") or "false").lower() == "true"
        requested = _split_names(request.query.get("properties"))
        with self._store.transaction():
            names = _read_names(requested, set(self._store.property_types()))
            page = list(islice(self._store.contacts_from(int(after), archived), limit + 1))
            if not archived:
                page = self._cut_short(page)
            results = [_render_contact(record, names) for record in page[:limit]]
        payload: dict[str, Any] = {"results": results}
        if len(page) > limit:
            next_after = str(page[limit].id)
            host = request.headers.get("Host", "")
            payload["paging"] = {"next": {
                "after": next_after,
                "link": f"http://{host}{request.path}?after={next_after}",
            }}
        return json_response(200, payload)

    def _cut_short(self, page: list[ContactRecord]) -> list[ContactRecord]:
        """The page without the live contacts past a test's ``ListingCut``: the page that
        reaches the cut ends there, with no next link (the caller pages on what is left)."""
        after = self._listing_cut.after
        if after is None:
            return page
        listed = {record.id for record in islice(self._store.contacts_from(0, False), after)}
        return [record for record in page if record.id in listed]

    def search_contacts(self, request: Request) -> Response:
        """``POST /crm/v3/objects/contacts/search``: see ``search`` for the rules."""
        body = _json_body(request)
        with self._store.transaction():
            types = self._store.property_types()
            try:
                query = compile_search(body, types)
            except SearchRejected as exc:
                raise _validation(str(exc)) from exc
            records = self._store.contacts_from(query.first_id, archived=False)
            if (end := query.end_id) is not None:
                records = takewhile(lambda record: record.id < end, records)
            total, window, next_offset = query.page(records)
            names = _read_names(query.properties, set(types))
            results = [_render_contact(record, names) for record in window]
        payload: dict[str, Any] = {"total": total, "results": results}
        if next_offset is not None:
            payload["paging"] = {"next": {"after": str(next_offset)}}
        return json_response(200, payload)

    def get_contact(self, request: Request) -> Response:
        """``GET /crm/v3/objects/contacts/{contactId}``. An id a merge folded away answers with
        the record it went into, under that record's id (HubSpot's changelog "Updated merge
        functionality for contacts and companies"; a community report shows batch read doing
        the same). Unknown or archived: 404 ``OBJECT_NOT_FOUND`` (the message is sandbox text).
        """
        requested = _split_names(request.query.get("properties"))
        with self._store.transaction():
            record = self._store.active_contact(request.params["contactId"])
            if record is None:
                raise _not_found(f"Contact {request.params['contactId']} does not exist")
            names = _read_names(requested, set(self._store.property_types()))
            return json_response(200, _render_contact(record, names))

    def merge_contacts(self, request: Request) -> Response:
        """``POST /crm/v3/objects/contacts/merge`` with ``{primaryObjectId, objectIdToMerge}``
        → 200 and the record the merge created (documented; see ``HubSpotStore.
        merge_contacts`` for what a merge does). An id that is not a live contact is a 404,
        merging a contact with itself a 400 (sandbox choices and texts).
        """
        body = _json_body(request)
        primary = body.get("primaryObjectId") if isinstance(body, dict) else None
        other = body.get("objectIdToMerge") if isinstance(body, dict) else None
        if not isinstance(primary, str) or not isinstance(other, str):
            raise _validation("Invalid input JSON: 'primaryObjectId' and 'objectIdToMerge' are "
                              "required strings")
        with self._store.transaction():
            try:
                merged_id = self._store.merge_contacts(primary, other)
            except KeyError as exc:
                raise _not_found(f"Contact {exc.args[0]} does not exist") from exc
            except ValueError as exc:
                raise _validation(str(exc)) from exc
            record = self._store.active_contact(merged_id)
            assert record is not None
            return json_response(200, _render_contact(record, list(schema.DEFAULT_READ_PROPERTIES)))

    def batch_update_contacts(self, request: Request) -> Response:
        """``POST /crm/v3/objects/contacts/batch/update``.

        What HubSpot does, and the evidence (captured responses in amp-labs/connectors'
        HubSpot fixtures, 2025-11, and rudder-transformer's network mocks):

        * An unknown property, a read-only one or a value outside an enumeration's options
          anywhere in the batch rejects the whole batch: 400 ``VALIDATION_ERROR``, message
          "Property values were not valid: [...]" plus ``errors[]`` with one
          ``{message, code, context:{propertyName}}`` per problem. Nothing is written.
        * Repeated ids reject the whole batch: 400 "Duplicate IDs found in batch input: [...].
          IDs must be unique" with ``context.ids``.
        * Ids that do not exist (or are archived) do not stop the others: 207 with the
          written records in ``results`` and one ``OBJECT_NOT_FOUND`` error listing them in
          ``context.ids``; the error entries carry no ``errors``/``links`` keys.
        * An id a merge folded away writes the record it went into, as reads by that id do
          (sandbox choice: no evidence of what HubSpot's batch update does with one; it is the
          stricter case for a client, whose stale id then changes another record).
        * ``idProperty`` is refused (HubSpot: update by a non-unique property).
        * Results do not come back in input order (integrators report it), so the sandbox
          shuffles them, deterministically per request body.
        """
        inputs = self._batch_inputs(_json_body(request))
        started = iso_from_ms(self._store.now_ms())
        with self._store.transaction():
            definitions = {prop["name"]: prop for prop in self._store.properties()}
            problems = [
                problem
                for _, values in inputs
                for name, value in values.items()
                if (problem := _value_problem(definitions.get(name), name, value)) is not None
            ]
            if problems:
                raise _property_problems(problems)
            results: list[dict[str, Any]] = []
            missing: list[str] = []
            for contact_id, values in inputs:
                record = self._store.active_contact(contact_id)
                if record is None:
                    missing.append(contact_id)
                    continue
                self._store.write_values(record, _stored_values(record, values, definitions))
                names = sorted(set(values) | set(schema.SYSTEM_PROPERTIES))
                results.append(_render_contact(record, names))
        random.Random(hashlib.sha1(request.body).digest()).shuffle(results)
        payload: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            payload["numErrors"] = 1
            payload["errors"] = [{
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some CONTACT objects, they may be deleted or not "
                           "exist. Check that ids are valid.",
                "context": {"ids": missing},
            }]
        payload["startedAt"] = started
        payload["completedAt"] = iso_from_ms(self._store.now_ms())
        return json_response(207 if missing else 200, payload)

    def _batch_inputs(self, body: Any) -> list[tuple[str, dict[str, str]]]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise _validation("Invalid input JSON: 'inputs' must be a non-empty list")
        if len(inputs) > MAX_BATCH_INPUTS:
            # Sandbox text: HubSpot answers 400 above 100 inputs; its wording was not captured.
            raise _validation(
                f"Batch input size {len(inputs)} exceeds the limit of {MAX_BATCH_INPUTS} inputs"
            )
        parsed: list[tuple[str, dict[str, str]]] = []
        for item in inputs:
            if not isinstance(item, dict) or "id" not in item:
                raise _validation("Invalid input JSON: every input needs an 'id'")
            if item.get("idProperty"):
                raise _validation(
                    f"Unable to perform update/upsert by non-unique 0-1 property "
                    f"{item['idProperty']} in portal ID {PORTAL_ID}"
                )
            properties = item.get("properties")
            if not isinstance(properties, dict):
                raise _validation("Invalid input JSON: every input needs 'properties'")
            parsed.append((str(item["id"]), {k: _as_text(v) for k, v in properties.items()}))
        counts = Counter(cid for cid, _ in parsed)
        duplicates = [cid for cid, seen in counts.items() if seen > 1]
        if duplicates:
            raise _validation(
                f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. "
                "IDs must be unique",
                context={"ids": duplicates},
            )
        return parsed

    # -- properties ------------------------------------------------------------------------

    def list_properties(self, request: Request) -> Response:
        """``GET /crm/v3/properties/contacts``."""
        return json_response(200, {"results": self._store.properties()})

    def get_property(self, request: Request) -> Response:
        """``GET /crm/v3/properties/contacts/{propertyName}``; 404 when missing."""
        return json_response(200, self._existing_property(request.params["propertyName"]))

    def create_property(self, request: Request) -> Response:
        """``POST /crm/v3/properties/contacts`` → 201; 409 when the name is taken.

        Missing required fields get the wording of the Immutables builders HubSpot's Java
        services use ("Cannot build PropertyCreate, some of required attributes are not set
        [...]"); the "Invalid input JSON on line 1, column N" prefix is unverified.
        """
        body = _json_body(request)
        if not isinstance(body, dict):
            raise _validation("Invalid input JSON: a property must be a JSON object")
        absent = [key for key in PROPERTY_REQUIRED if not body.get(key)]
        if absent:
            raise _validation(
                f"Invalid input JSON on line 1, column {len(request.body)}: Cannot build "
                f"PropertyCreate, some of required attributes are not set [{', '.join(absent)}]"
            )
        if not isinstance(body["name"], str) or not PROPERTY_NAME.fullmatch(body["name"]):
            # The 400 is HubSpot's; the message is sandbox text.
            raise _validation(
                f"Property name '{body['name']}' is invalid: internal names contain only "
                "lower-case letters, numbers and underscores, and start with a letter."
            )
        with self._store.transaction():
            if self._store.property(body["name"]) is not None:
                # Sandbox text; the 409 status is documented, the category is HubSpot's usual
                # one for an existing object.
                raise ApiError(error_response(
                    409, f"A property named '{body['name']}' already exists.",
                    "OBJECT_ALREADY_EXISTS",
                ))
            definition = self._new_property(body)
            self._store.put_property(definition)
        return json_response(201, definition)

    def update_property(self, request: Request) -> Response:
        """``PATCH /crm/v3/properties/contacts/{propertyName}``; ``options`` replace all."""
        body = _json_body(request)
        if not isinstance(body, dict):
            raise _validation("Invalid input JSON: a property update must be a JSON object")
        changes = {key: value for key, value in body.items() if key in PROPERTY_PATCHABLE}
        with self._store.transaction():
            current = self._existing_property(request.params["propertyName"])
            updated = {**current, **changes}
            self._check_property_fields(updated)
            updated["options"] = _options(updated["options"])
            updated["updatedAt"] = iso_from_ms(self._store.now_ms())
            self._store.put_property(updated)
        return json_response(200, updated)

    def _existing_property(self, name: str) -> dict[str, Any]:
        """The property, or a 404 ``OBJECT_NOT_FOUND`` (the message is sandbox text)."""
        definition = self._store.property(name)
        if definition is None:
            raise _not_found(f"Unable to find property {name} on object type contacts")
        return definition

    def _check_property_fields(self, fields: dict[str, Any]) -> None:
        """400 for a type, field type, group or option list HubSpot would not accept."""
        if fields["type"] not in PROPERTY_TYPES:
            raise _validation(f"Invalid input JSON: type {fields['type']!r} is not one of "
                              f"{list(PROPERTY_TYPES)}")
        if fields["fieldType"] not in FIELD_TYPES:
            raise _validation(f"Invalid input JSON: fieldType {fields['fieldType']!r} is not "
                              f"one of {list(FIELD_TYPES)}")
        if self._store.group(fields["groupName"]) is None:
            raise _validation(f"Property group {fields['groupName']} does not exist")
        options = fields.get("options") or []
        if not isinstance(options, list) or not all(
            isinstance(o, dict) and "label" in o and "value" in o for o in options
        ):
            raise _validation("Invalid input JSON: every option needs a 'label' and a 'value'")

    def _new_property(self, body: dict[str, Any]) -> dict[str, Any]:
        """A complete property JSON (every field the SDK's ``Property`` model requires)."""
        self._check_property_fields(body)
        now = iso_from_ms(self._store.now_ms())
        return {
            "name": body["name"],
            "label": body["label"],
            "type": body["type"],
            "fieldType": body["fieldType"],
            "description": body.get("description") or "",
            "groupName": body["groupName"],
            "options": _options(body.get("options") or []),
            "displayOrder": body.get("displayOrder", -1),
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": bool(body.get("hasUniqueValue")),
            "hidden": bool(body.get("hidden")),
            "hubspotDefined": False,
            "modificationMetadata": dict(schema.EDITABLE_CUSTOM),
            "formField": bool(body.get("formField")),
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
        }

    def list_groups(self, request: Request) -> Response:
        """``GET /crm/v3/properties/contacts/groups``."""
        return json_response(200, {"results": self._store.groups()})

    def create_group(self, request: Request) -> Response:
        """``POST /crm/v3/properties/contacts/groups`` → 201; 409 when the name is taken."""
        body = _json_body(request)
        if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
            absent = [k for k in ("name", "label") if not isinstance(body, dict) or not body.get(k)]
            raise _validation(
                f"Invalid input JSON on line 1, column {len(request.body)}: Cannot build "
                f"PropertyGroupCreate, some of required attributes are not set "
                f"[{', '.join(absent)}]"
            )
        with self._store.transaction():
            if self._store.group(body["name"]) is not None:
                raise ApiError(error_response(  # sandbox text, as for properties
                    409, f"A property group named '{body['name']}' already exists.",
                    "OBJECT_ALREADY_EXISTS",
                ))
            group = {"name": body["name"], "label": body["label"],
                     "displayOrder": body.get("displayOrder", -1), "archived": False}
            self._store.put_group(group)
        return json_response(201, group)

    # -- lists -----------------------------------------------------------------------------

    def create_list(self, request: Request) -> Response:
        """``POST /crm/v3/lists/`` → 200 ``{"list": ...}``.

        A second list with the same name (case-insensitively: lookup by name ignores case,
        so names must be unique that way) is a 400 ``VALIDATION_ERROR`` with subCategory
        ``ILS.DUPLICATE_LIST_NAMES`` (category and subCategory as integrations match them;
        the message is sandbox text).
        """
        body = _json_body(request)
        if not isinstance(body, dict):
            raise _validation("Invalid input JSON: a list must be a JSON object")
        name, object_type, processing = (
            body.get("name"), body.get("objectTypeId"), body.get("processingType")
        )
        if not isinstance(name, str) or not name.strip():
            raise _validation("Invalid input JSON: 'name' is required")
        if object_type != "0-1":
            raise _validation(f"The sandbox serves contact lists only (objectTypeId 0-1), "
                              f"not {object_type!r}")
        if processing not in LIST_PROCESSING_TYPES:
            raise _validation(f"processingType must be one of {list(LIST_PROCESSING_TYPES)}")
        if processing == "DYNAMIC" and not isinstance(body.get("filterBranch"), dict):
            raise _validation("A DYNAMIC list needs a 'filterBranch'")
        with self._store.transaction():
            if self._store.live_list_named(name) is not None:
                raise _validation(f"A list named '{name}' already exists.",
                                  sub_category="ILS.DUPLICATE_LIST_NAMES")
            record = self._store.create_list(name, processing, object_type,
                                             body.get("filterBranch"))
            return json_response(200, {"list": record.as_dict()})

    def get_list_by_name(self, request: Request) -> Response:
        """``GET /crm/v3/lists/object-type-id/0-1/name/{listName}``; deleted lists are not
        found by name (HubSpot issue hubspot-api-php#486)."""
        name = request.params["listName"]
        with self._store.transaction():
            record = self._store.live_list_named(name)
            if record is None or record.object_type_id != request.params["objectTypeId"]:
                raise _not_found(f"List does not exist with name: {name}")  # sandbox text
            return json_response(200, {"list": record.as_dict()})

    def get_list(self, request: Request) -> Response:
        """``GET /crm/v3/lists/{listId}``; a deleted list is still returned, with
        ``deletedAt`` (hubspot-api-php#486)."""
        with self._store.transaction():
            return json_response(200, {"list": self._list(request, live=False).as_dict()})

    def delete_list(self, request: Request) -> Response:
        """``DELETE /crm/v3/lists/{listId}`` → 204."""
        with self._store.transaction():
            self._store.delete_list(str(self._list(request, live=False).list_id))
        return Response(status=204)

    def add_members(self, request: Request) -> Response:
        """``PUT .../memberships/add`` with a bare JSON array of record ids."""
        ids = _id_array(_json_body(request))
        with self._store.transaction():
            added, missing = self._store.add_members(self._editable_list(request), ids)
        return _membership_change(added=added, removed=[], missing=missing)

    def remove_members(self, request: Request) -> Response:
        """``PUT .../memberships/remove`` with a bare JSON array of record ids."""
        ids = _id_array(_json_body(request))
        with self._store.transaction():
            removed, missing = self._store.remove_members(self._editable_list(request), ids)
        return _membership_change(added=[], removed=removed, missing=missing)

    def add_and_remove_members(self, request: Request) -> Response:
        """``PUT .../memberships/add-and-remove`` with ``{recordIdsToAdd, recordIdsToRemove}``."""
        body = _json_body(request)
        if not isinstance(body, dict):
            raise _validation("Invalid input JSON: expected {recordIdsToAdd, recordIdsToRemove}")
        to_add = _id_array(body.get("recordIdsToAdd") or [])
        to_remove = _id_array(body.get("recordIdsToRemove") or [])
        with self._store.transaction():
            record = self._editable_list(request)
            added, missing_add = self._store.add_members(record, to_add)
            removed, missing_remove = self._store.remove_members(record, to_remove)
        missing = list(dict.fromkeys(missing_add + missing_remove))
        return _membership_change(added=added, removed=removed, missing=missing)

    def get_memberships(self, request: Request) -> Response:
        """``GET /crm/v3/lists/{listId}/memberships``: ascending record ids, 250 at most a
        page; ``after`` is the last record id of the previous page."""
        limit = _int_param(request, "limit", DEFAULT_MEMBERSHIP_PAGE, MAX_MEMBERSHIP_PAGE)
        after = request.query_value("after") or "0"
        if not after.isdigit():
            raise _validation(f"after: {after!r} is not a valid paging cursor")
        with self._store.transaction():
            record = self._list(request, live=True)
            members = sorted(m for m in record.members.items() if m[0] > int(after))
            total = len(record.members)
        page = members[:limit]
        payload: dict[str, Any] = {
            "results": [{"recordId": str(rid), "membershipTimestamp": iso_from_ms(ms)}
                        for rid, ms in page],
            "total": total,
        }
        if len(members) > limit:
            payload["paging"] = {"next": {"after": str(page[-1][0])}}
        return json_response(200, payload)

    def _list(self, request: Request, live: bool) -> ListRecord:
        """The addressed list; 404 when unknown (or deleted, when ``live``). Sandbox text."""
        list_id = request.params["listId"]
        record = self._store.list_record(list_id)
        if record is None or (live and record.deleted_ms is not None):
            raise _not_found(f"List does not exist with id: {list_id}")
        return record

    def _editable_list(self, request: Request) -> ListRecord:
        record = self._list(request, live=True)
        if record.processing_type not in EDITABLE_LIST_TYPES:
            # Documented rule ("only works for lists that have a processingType of MANUAL or
            # SNAPSHOT"); the wording is sandbox text.
            raise _validation(
                f"List {record.list_id} has processingType {record.processing_type}; records "
                "can only be added to or removed from MANUAL and SNAPSHOT lists."
            )
        return record


def _guarded(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Turn an ``ApiError`` raised anywhere in a handler into its response."""

    def run(request: Request) -> Response:
        try:
            return handler(request)
        except ApiError as exc:
            return exc.response

    return run


def _options(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Options as HubSpot returns them: label, value, description, displayOrder, hidden."""
    return [
        {"label": o["label"], "value": o["value"], "description": o.get("description") or "",
         "displayOrder": o.get("displayOrder", order), "hidden": bool(o.get("hidden"))}
        for order, o in enumerate(raw)
    ]


def _id_array(body: Any) -> list[str]:
    if not isinstance(body, list) or not all(isinstance(i, (str, int)) for i in body):
        raise _validation("Invalid input JSON: expected a JSON array of record ids")
    return [str(i) for i in body]


def _membership_change(added: list[str], removed: list[str], missing: list[str]) -> Response:
    """HubSpot's membership answer; ``recordsIdsAdded`` is the spelling of HubSpot's OpenAPI
    spec (v3 and 2026-09, checked 2026-12), though its docs also show ``recordIdsAdded``."""
    return json_response(200, {
        "recordIdsMissing": missing, "recordIdsRemoved": removed, "recordsIdsAdded": added,
    })


# -- property value validation -------------------------------------------------------------


def _value_problem(
    definition: dict[str, Any] | None, name: str, value: str
) -> tuple[str, str, str] | None:
    """(name, HubSpot error code, message) when ``value`` cannot be written, else None.

    Codes and texts as captured from HubSpot: PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE,
    INVALID_OPTION (each ``;``-separated part of a multi-checkbox value is checked) and
    INVALID_LONG for text in a number property; INVALID_DATE for an unreadable date.
    """
    if definition is None:
        return name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
    if definition["modificationMetadata"].get("readOnlyValue"):
        message = f'"{name}" is a calculated property; its value cannot be set.'
        return name, "READ_ONLY_VALUE", message
    if value == "":
        return None
    if definition["type"] in ("enumeration", "bool"):
        allowed = {option["value"] for option in definition["options"]}
        if definition["type"] == "bool" and not allowed:
            allowed = {"true", "false"}
        parts = value.split(";") if definition["fieldType"] == "checkbox" else [value]
        for part in parts:
            if part and part not in allowed:
                return name, "INVALID_OPTION", (
                    f"{part} was not one of the allowed options: "
                    f"{_options_text(definition['options'])}"
                )
    if definition["type"] == "number":
        try:
            float(value)
        except ValueError:
            return name, "INVALID_LONG", f"{value} was not a valid long."
    moment = parse_timestamp_ms(value)
    if definition["type"] in ("date", "datetime") and moment is None:
        # The code is the one HubSpot's changelog names; the message is sandbox text.
        return name, "INVALID_DATE", f"{value} is not a valid {definition['type']}."
    if definition["type"] == "date" and moment is not None and moment % DAY_MS:
        # HubSpot's FAQ "How should timestamps be formatted for HubSpot's APIs?": a date
        # property "must be set to midnight UTC ... If you try to set a value that is not
        # midnight UTC, you will receive an error." The message is sandbox text.
        return name, "INVALID_DATE", f"{value} is not midnight UTC, as a date must be."
    return None


def _options_text(options: list[dict[str, Any]]) -> str:
    """The option list the way HubSpot prints it in INVALID_OPTION (protobuf text format)."""
    return "[" + ", ".join(
        f'label: "{o["label"]}"\nvalue: "{o["value"]}"\ndisplay_order: {o.get("displayOrder", 0)}'
        f'\nhidden: {str(bool(o.get("hidden"))).lower()}\nread_only: false\n'
        for o in options
    ) + "]"


def _property_problems(problems: list[tuple[str, str, str]]) -> ApiError:
    """HubSpot's whole-batch 400 for invalid property values."""
    details = [
        {"isValid": False, "message": message, "error": code, "name": name,
         "localizedErrorMessage": message, "portalId": PORTAL_ID}
        for name, code, message in problems
    ]
    return _validation(
        "Property values were not valid: " + json.dumps(details, separators=(",", ":")),
        errors=[{"message": message, "code": code, "context": {"propertyName": [name]}}
                for name, code, message in problems],
    )


def _stored_values(
    record: ContactRecord, values: dict[str, str], definitions: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """Validated values as HubSpot stores them: a multi-checkbox value starting with ``;``
    appends to the current selection, and dates and datetimes (epoch ms or ISO in) are kept
    in the form HubSpot returns ("YYYY-MM-DD", ISO with milliseconds and Z)."""
    stored = dict(values)
    for name, value in values.items():
        definition = definitions[name]
        if value.startswith(";") and definition["fieldType"] == "checkbox":
            current = [part for part in (record.value(name) or "").split(";") if part]
            extra = [part for part in value.split(";") if part and part not in current]
            stored[name] = ";".join(current + extra)
        elif value and definition["type"] in ("date", "datetime"):
            iso = iso_from_ms(parse_timestamp_ms(value) or 0)
            stored[name] = iso[:10] if definition["type"] == "date" else iso
    return stored
