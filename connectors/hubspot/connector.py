"""The HubSpot connector: the connector protocol mapped onto ``hubspot-api-client``.

Every call goes through ``_call``, which adds the timeout, reads the rate-limit headers and
turns SDK exceptions into typed errors. Retrying is not done here: urllib3's retries are off
and the sync layer owns the single retry policy.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from connectors.base import (
    UNCONFIRMED,
    AccessCheck,
    AuthFailed,
    BatchRejected,
    ConnectorLimits,
    Contact,
    ContactPage,
    FieldInfo,
    FieldOwner,
    FieldType,
    IdPage,
    ListRef,
    MembershipChange,
    NotFound,
    PropertyWrite,
    RateLimitStatus,
    RequestBudget,
    RequestRejected,
    SegmentField,
    Transient,
    WriteResult,
    answer_date,
)
from connectors.deadline import within_deadline
from connectors.hubspot.errors import parse_body, parse_json, translate
from connectors.hubspot.exports import ExportPull
from connectors.hubspot.settings import HubSpotSettings

T = TypeVar("T")

CONTACT_OBJECT_TYPE_ID = "0-1"
MODIFIED_PROPERTY = "lastmodifieddate"
"""Contacts' modification time; other HubSpot objects call it ``hs_lastmodifieddate``."""
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
"""The ids a merge folded into a contact, ``;``-separated. A merge makes a new record (new id,
``lastmodifieddate`` = the merge) and the old ids leave every list and search result, so this
is the only trace of them a pull sees."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SEARCH_PAGE_SIZE = 200
OBJECT_ID_PROPERTY = "hs_object_id"
SEARCH_MIN_INTERVAL_SECONDS = 0.25
"""Search has its own bucket of 5 requests a second per account and no rate-limit headers:
space calls 1/4 s apart, so that even a tenth of a second of scheduling jitter on a busy host
never puts six in one second."""
PROPERTY_GROUP = "segsync"
"""segsync creates its properties in this group: with ``hubspotDefined`` false, that is how
a property is known to be segsync's, whatever the state store remembers."""
PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""HubSpot's rule for property internal names (it answers 400 to ``Segsync_Segment``)."""
ACCESS_CHECK_LIST = "segsync access check"
"""A list name looked up only to prove lists can be read: it need not exist."""
EDITABLE_PROCESSING_TYPES = frozenset({"MANUAL", "SNAPSHOT"})
TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
ALL_SCOPES = (
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.lists.read",
    "crm.lists.write",
)
"""The scopes a Service Key (or private app) needs for segsync."""
WRITE_SCOPES = (
    ("write contacts", "crm.objects.contacts.write"),
    ("create properties", "crm.schemas.contacts.write"),
    ("manage lists", "crm.lists.write"),
)
FIELD_TYPES_BY_KIND = {
    "single_select": ("enumeration", "select"),
    "multi_select": ("enumeration", "checkbox"),
    "text": ("string", "textarea"),
}


def _field_type(hubspot_type: str, field_type: str) -> FieldType:
    """HubSpot's (type, fieldType) pair in segsync's vocabulary.

    A checkbox enumeration is multi-select; a ``booleancheckbox`` enumeration (such as
    ``hs_email_optout``) holds "true"/"false" and is a boolean.
    """
    if field_type == "booleancheckbox":
        return "bool"
    if hubspot_type == "enumeration":
        return "multi_enumeration" if field_type == "checkbox" else "enumeration"
    if hubspot_type in ("number", "bool", "date", "datetime"):
        return hubspot_type  # type: ignore[return-value]
    return "string"


def _defined_by(prop: Any) -> FieldOwner:
    """HubSpot's own properties say ``hubspotDefined``; segsync's live in its own group."""
    if prop.hubspot_defined:
        return "crm"
    return "segsync" if prop.group_name == PROPERTY_GROUP else "other"


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def _rate_limit_from_headers(headers: Mapping[str, str]) -> RateLimitStatus | None:
    """The ``X-HubSpot-RateLimit-*`` headers, or None when the response had none (search)."""
    prefix = "X-HubSpot-RateLimit-"
    if headers.get(prefix + "Max") is None and headers.get(prefix + "Daily") is None:
        return None
    interval_ms = _int_header(headers, prefix + "Interval-Milliseconds")
    return RateLimitStatus(
        window_max=_int_header(headers, prefix + "Max"),
        window_remaining=_int_header(headers, prefix + "Remaining"),
        window_seconds=interval_ms / 1000 if interval_ms is not None else None,
        daily_max=_int_header(headers, prefix + "Daily"),
        daily_remaining=_int_header(headers, prefix + "Daily-Remaining"),
    )


def _is_hubspot_answer(data: Any, headers: Mapping[str, str]) -> bool:
    """Whether a 2xx is an answer HubSpot made: JSON that filled some field of its model.

    Something in between (a proxy, a captive portal, a cut connection) can answer 200 with an
    HTML page, ``{}`` or truncated JSON; the SDK turns each into an empty model or None, which
    would read as "no contacts" or "no such list". That is a failure to retry, never an answer.
    """
    if not (headers.get("Content-Type") or "").startswith("application/json"):
        return False
    fields = getattr(data, "openapi_types", None)
    return fields is None or any(getattr(data, name) is not None for name in fields)


def _modified_at(properties: Mapping[str, str | None]) -> datetime | None:
    text = properties.get(MODIFIED_PROPERTY)
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _epoch_ms(moment: datetime) -> int:
    """Exact epoch milliseconds (``timestamp() * 1000`` can land a millisecond short)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _contact(row: Any) -> Contact:
    properties = dict(row.properties or {})
    merged = (properties.get(MERGED_IDS_PROPERTY) or "").split(";")
    return Contact(
        id=row.id,
        properties=properties,
        modified_at=_modified_at(properties),
        merged_from=tuple(i for i in merged if i and i != row.id),
    )


def _filter(name: str, operator: str, value: int) -> dict[str, str]:
    return {"propertyName": name, "operator": operator, "value": str(value)}


class MinInterval:
    """Spaces calls at least ``seconds`` apart (thread-safe), for limits without headers."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.seconds
        if delay > 0:
            time.sleep(delay)


def _required_scopes(exc: BaseException) -> list[str]:
    """The scopes a 403 ``MISSING_SCOPES`` body names (any one of them admits the call)."""
    body = parse_body(getattr(exc, "body", None))
    return [
        scope
        for error in body.get("errors") or ()
        if isinstance(error, Mapping)
        for key in ("requiredGranularScopes", "requiredScopes")  # granular since 2023
        for scope in (error.get("context") or {}).get(key) or ()
    ]


def _grant(scopes: Sequence[str]) -> str:
    return f"give the token the scope {' or '.join(scopes)} ({WHERE_SCOPES_ARE})"


WHERE_SCOPES_ARE = (
    "a Service Key: HubSpot Settings → Integrations → Service Keys → the key → Scopes; a "
    "private app made before October 2026: Settings → Integrations → Private Apps → the app → "
    "Scopes, then commit the change"
)


def _list_ref(described: Any) -> ListRef:
    """A v3 list object: ``size`` is its member count; only MANUAL and SNAPSHOT lists take
    membership changes (HubSpot's lists guide), DYNAMIC ones follow their filters."""
    return ListRef(
        id=str(described.list_id),
        name=described.name,
        size=described.size,
        editable=described.processing_type in EDITABLE_PROCESSING_TYPES,
    )


def _property_name_like(name: str) -> str:
    """A valid property name close to ``name``, to suggest in an error."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    return cleaned if cleaned[:1].isalpha() else f"segsync_{cleaned}".rstrip("_")


def _options(values: Sequence[str], first_order: int = 0) -> list[dict[str, Any]]:
    return [
        {"label": value, "value": value, "hidden": False, "displayOrder": order}
        for order, value in enumerate(values, start=first_order)
    ]


def _extended_options(current: Sequence[Any], wanted: Sequence[str]) -> list[dict[str, Any]]:
    """The property's options as they are, with the ``wanted`` values it lacks appended.

    A PATCH replaces the whole option list, so every existing option is sent back exactly as
    HubSpot holds it: a label, hidden flag, description or order an admin edited stays.
    """
    kept = [
        {
            "label": option.label,
            "value": option.value,
            "description": option.description or "",
            "hidden": bool(option.hidden),
            "displayOrder": option.display_order,
        }
        for option in current
    ]
    present = {option["value"] for option in kept}
    orders = [o["displayOrder"] for o in kept if isinstance(o["displayOrder"], int)]
    missing = [value for value in wanted if value not in present]
    return kept + _options(missing, first_order=max(orders, default=-1) + 1)


RETRYABLE_RECORD_CATEGORIES = ("RATE_LIMITS", "LOCKED")
PROPERTY_PROBLEMS = ("PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE")
"""Whole-batch refusals about a property, not a value: every batch writing it fails alike, so
splitting the batch to find a culprit record would only spend requests."""
ADDED_KEYS = ("recordIdsAdded", "recordsIdsAdded")
"""HubSpot's OpenAPI spec (v3 and 2026-09) and the SDK's model spell the added ids
``recordsIdsAdded``; its docs also show ``recordIdsAdded``. Either is read."""


def _ids(values: Any) -> list[str]:
    """The non-empty ids of a JSON list (HubSpot's 207 may name ``[""]``); [] otherwise."""
    if not isinstance(values, list):
        return []
    return [str(value) for value in values if isinstance(value, (str, int)) and str(value)]


def confirmed_writes(
    writes: Sequence[PropertyWrite], answer: Any, action: str
) -> list[WriteResult]:
    """One result per input, read from HubSpot's batch answer (200 or 207).

    A record is written only when its id is in ``results``; a 207's errors name the refused
    ones in ``context.ids``. An input the answer neither confirms nor names is unconfirmed: a
    retryable failure, never a success. An answer without ``results`` is no batch answer at
    all (an empty body, a proxy's HTML page with 200): ``Transient``, so the batch is resent.
    """
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise Transient(f"HubSpot {action}: the answer is not a batch result; nothing confirmed")
    confirmed = set(_ids([row.get("id") for row in results if isinstance(row, dict)]))
    refused: dict[str, WriteResult] = {}
    for error in answer.get("errors") or ():
        if not isinstance(error, dict):
            continue
        category = str(error.get("category") or "ERROR")
        for record_id in _ids((error.get("context") or {}).get("ids")):
            refused[record_id] = WriteResult(
                record_id,
                ok=False,
                code=category,
                message=str(error.get("message") or ""),
                retryable=category in RETRYABLE_RECORD_CATEGORIES,
                missing=category == "OBJECT_NOT_FOUND",
            )
    return [_write_outcome(w.contact_id, confirmed, refused) for w in writes]


def _write_outcome(
    contact_id: str, confirmed: set[str], refused: Mapping[str, WriteResult]
) -> WriteResult:
    if contact_id in refused:
        return refused[contact_id]
    if contact_id in confirmed:
        return WriteResult(contact_id, ok=True)
    message = "HubSpot's answer neither confirmed nor refused this record"
    return WriteResult(contact_id, ok=False, code=UNCONFIRMED, message=message, retryable=True)


def confirmed_membership(answer: Any, *, added: bool, action: str) -> MembershipChange:
    """What HubSpot's membership answer confirms: the ids it added (or removed) and the ids it
    reports missing. An answer without those lists confirms nothing: ``Transient``."""
    keys = ADDED_KEYS if added else ("recordIdsRemoved",)
    found = [answer[key] for key in keys if isinstance(answer, dict) and key in answer]
    if not found or not isinstance(answer.get("recordIdsMissing", []), list):
        raise Transient(f"HubSpot {action}: the answer confirms no membership change")
    changed = [record_id for values in found for record_id in _ids(values)]
    return MembershipChange(
        changed=tuple(dict.fromkeys(changed)), missing=tuple(_ids(answer.get("recordIdsMissing")))
    )


class HubSpotConnector:
    """HubSpot contacts, properties and v3 lists through the official Python client."""

    name = "hubspot"

    def __init__(self, settings: HubSpotSettings) -> None:
        from hubspot import HubSpot  # heavy import, kept out of `segsync connectors`

        if settings.token is None or not settings.token.get_secret_value():
            raise AuthFailed(
                "No HubSpot token: set SEGSYNC_HUBSPOT__TOKEN to a Service Key (HubSpot Settings "
                "→ Integrations → Service Keys → Create; scopes: " + ", ".join(ALL_SCOPES) + ") "
                "or a private-app access token."
            )
        self.settings = settings
        self.limits = ConnectorLimits(
            read_page_size=100,
            write_batch_size=100,
            list_read_page_size=250,
            list_change_batch_size=settings.list_change_batch_size,
            budget=RequestBudget(
                per_window=settings.requests_per_ten_seconds,
                window_seconds=10.0,
                daily=settings.daily_requests,
            ),
            # HubSpot caps rates, not parallel calls; 5 stays inside the SDK's connection pool
            # (5 per CPU) and reaches 19 requests/s at up to ~250 ms a call.
            max_concurrency=5,
            # Ensuring a field: create the property group, read the property, create or patch
            # it; finding-or-creating a list: two.
            setup_requests=3,
        )
        self._search_pacer = MinInterval(SEARCH_MIN_INTERVAL_SECONDS)
        self._group_ready = False
        self._rate_limit = RateLimitStatus()
        self._crm_time: datetime | None = None
        client = HubSpot(
            access_token=settings.token.get_secret_value(),
            host=settings.base_url.rstrip("/"),
            retry=False,  # one retry policy only: segsync's, in the sync layer
        )
        # The SDK builds a new ApiClient (and connection pool) on every `.xxx_api` access.
        self._contacts = client.crm.contacts.basic_api
        self._batch = client.crm.contacts.batch_api
        self._search = client.crm.contacts.search_api
        self._properties = client.crm.properties.core_api
        self._groups = client.crm.properties.groups_api
        self._lists = client.crm.lists.lists_api
        self._memberships = client.crm.lists.memberships_api
        self._exports = ExportPull(self, client.crm.exports.public_exports_api)
        self._api_clients = [
            api.api_client
            for api in (
                self._contacts,
                self._batch,
                self._search,
                self._properties,
                self._groups,
                self._lists,
                self._memberships,
                self._exports.api,
            )
        ]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> HubSpotConnector:
        """Build from the raw ``[hubspot]`` config section (the entry-point contract)."""
        return cls(HubSpotSettings.model_validate(settings))

    def _call(self, action: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one SDK ``*_with_http_info`` call: a deadline for the whole call (the SDK's
        timeout bounds each read only), rate-limit headers, typed errors."""
        timeout = self.settings.timeout_seconds
        data, status, headers = self._send(
            action, lambda: method(*args, _request_timeout=timeout, **kwargs)
        )
        self._observe(headers)
        if status != 204 and not _is_hubspot_answer(data, headers):
            kind = headers.get("Content-Type") or "no content type"
            what = "empty or truncated JSON" if kind.startswith("application/json") else kind
            raise Transient(f"HubSpot {action}: the answer was not HubSpot's JSON ({what})")
        return data

    def _call_for_answer(self, action: str, method: Callable[..., Any], *args: Any) -> Any:
        """Like ``_call``, but the answer's JSON as HubSpot sent it (None when it is not JSON).

        For the answers that confirm a write: the SDK's models drop keys they do not know
        (``recordIdsAdded``, as HubSpot's docs spell it) and turn a body of an unexpected shape
        (``{}``, an HTML page) into an empty model or None, which must never read as a
        confirmation.
        """
        timeout = self.settings.timeout_seconds

        def fetch() -> tuple[Mapping[str, str], bytes]:
            response = method(*args, _request_timeout=timeout, _preload_content=False)
            try:
                return response.headers, response.data
            finally:
                response.release_conn()

        headers, body = self._send(action, fetch)
        self._observe(headers)
        return parse_json(body)

    def _send(self, action: str, request: Callable[[], T]) -> T:
        """``request()`` within the call's deadline, its failures typed."""
        try:
            return within_deadline(request, self.settings.timeout_seconds, action)
        except Exception as exc:  # noqa: BLE001 - translate() re-raises what it cannot type
            raise translate(exc, action) from exc

    def _observe(self, headers: Mapping[str, str]) -> None:
        status = _rate_limit_from_headers(headers)
        if status is not None:
            self._rate_limit = status
        sent = answer_date(headers)
        if sent is not None:
            self._crm_time = sent

    def crm_time(self) -> datetime | None:
        return self._crm_time

    def rate_limit_status(self) -> RateLimitStatus:
        return self._rate_limit

    # -- reading ---------------------------------------------------------------------------

    def describe_fields(self) -> list[FieldInfo]:
        data = self._call(
            "read contact properties", self._properties.get_all_with_http_info, "contacts"
        )
        return [
            FieldInfo(
                name=prop.name,
                label=prop.label,
                type=_field_type(prop.type, prop.field_type),
                options=tuple(option.value for option in prop.options or ()),
                defined_by=_defined_by(prop),
            )
            for prop in data.results
        ]

    def field_name_problem(self, name: str) -> str | None:
        if PROPERTY_NAME.fullmatch(name):
            return None
        return (
            "HubSpot property names are lower-case letters, digits and underscores, starting "
            f"with a letter (e.g. {_property_name_like(name)})"
        )

    def read_contacts_page(self, fields: Sequence[str], cursor: str | None) -> ContactPage:
        if (exported := self._exports.page(fields, cursor)) is not None:  # big portals
            return exported
        data = self._call(
            "read contacts",
            self._contacts.get_page_with_http_info,
            limit=self.limits.read_page_size,
            after=cursor,
            properties=list(dict.fromkeys([*fields, MERGED_IDS_PROPERTY])),
            archived=False,
        )
        next_page = data.paging.next if data.paging else None
        return ContactPage(
            contacts=[_contact(row) for row in data.results],
            next_cursor=next_page.after if next_page else None,
        )

    def count_contacts(self) -> int:
        """The portal's live contacts, by the ``total`` of an unfiltered one-result search (the
        list endpoint gives no total). The search index trails writes by a few moments, so a
        contact created just now may be missing from it: never the other way round."""
        self._search_pacer.wait()
        body = {"limit": 1, "filterGroups": []}
        data = self._call("count contacts", self._search.do_search_with_http_info, body)
        self._exports.counted = int(data.total)
        return int(data.total)

    def read_deleted_contacts_page(self, since: datetime, cursor: str | None) -> IdPage:
        """Archived (deleted) contacts, from ``GET /crm/v3/objects/contacts?archived=true``,
        kept if ``archivedAt`` is at or after ``since``. HubSpot cannot filter that listing, so
        each page of the archive (kept 90 days) is read; one without an ``archivedAt`` counts."""
        data = self._call(
            "read deleted contacts",
            self._contacts.get_page_with_http_info,
            limit=self.limits.read_page_size,
            after=cursor,
            properties=["hs_object_id"],
            archived=True,
        )
        next_page = data.paging.next if data.paging else None
        ids = [row.id for row in data.results if not (row.archived_at and row.archived_at < since)]
        return IdPage(ids=ids, next_cursor=next_page.after if next_page else None)

    def read_changed_contacts_page(
        self, fields: Sequence[str], since: datetime, cursor: str | None
    ) -> ContactPage:
        """Contacts modified since ``since``, by ascending id, each page a fresh query for ids
        above the last one read (keyset paging; the cursor is that id).

        Not an offset into one long result sorted by modification time: a contact edited
        mid-pull moves to the end of that order, and every offset past it then skips one
        contact. Ids never move, a fresh query never meets search's 10,000-result window, and
        no page re-reads another's contacts. A contact edited during the pull after its id
        was passed is read by the next run: the watermark reaches back past the pull's start.
        """
        after_id = int(cursor) if cursor else 0
        body = {
            "filterGroups": [{"filters": [
                _filter(MODIFIED_PROPERTY, "GTE", _epoch_ms(since)),
                _filter(OBJECT_ID_PROPERTY, "GT", after_id),
            ]}],
            "sorts": [{"propertyName": OBJECT_ID_PROPERTY, "direction": "ASCENDING"}],
            "properties": sorted({*fields, MODIFIED_PROPERTY, MERGED_IDS_PROPERTY}),
            "limit": SEARCH_PAGE_SIZE,
        }
        self._search_pacer.wait()
        data = self._call("search changed contacts", self._search.do_search_with_http_info, body)
        contacts = [_contact(row) for row in data.results]
        has_more = bool(data.paging and data.paging.next) and bool(contacts)
        return ContactPage(contacts=contacts, next_cursor=contacts[-1].id if has_more else None)

    # -- fields ----------------------------------------------------------------------------

    def ensure_segment_field(self, spec: SegmentField) -> None:
        """A field the plan saw missing is created straight away (one call, not a read first);
        when it exists after all (created since, or a retry after a lost answer: 409), it is
        read and its options extended like any existing field."""
        self._ensure_property_group()
        if spec.missing and self._created_property(spec):
            return
        try:
            existing = self._call(
                f"read property {spec.name}",
                self._properties.get_by_name_with_http_info,
                "contacts",
                spec.name,
            )
        except NotFound:
            existing = None
        if existing is None:
            self._create_property(spec)
            return
        present = {option.value for option in existing.options or ()}
        if spec.kind != "text" and not set(spec.options) <= present:
            self._call(
                f"add options to property {spec.name}",
                self._properties.update_with_http_info,
                "contacts",
                spec.name,
                {"options": _extended_options(existing.options or (), spec.options)},
            )

    def _ensure_property_group(self) -> None:
        if self._group_ready:
            return
        try:
            self._call(
                "create property group",
                self._groups.create_with_http_info,
                "contacts",
                {"name": PROPERTY_GROUP, "label": "segsync", "displayOrder": -1},
            )
        except RequestRejected as exc:
            if exc.status != 409:  # 409: the group exists already
                raise
        self._group_ready = True

    def _created_property(self, spec: SegmentField) -> bool:
        """Create the property; False when the CRM says the name is taken (409)."""
        try:
            self._create_property(spec)
        except RequestRejected as exc:
            if exc.status != 409:
                raise
            return False
        return True

    def _create_property(self, spec: SegmentField) -> None:
        hubspot_type, field_type = FIELD_TYPES_BY_KIND[spec.kind]
        body: dict[str, Any] = {
            "name": spec.name,
            "label": spec.label,
            "description": spec.description,
            "groupName": PROPERTY_GROUP,
            "type": hubspot_type,
            "fieldType": field_type,
        }
        if spec.kind != "text":
            body["options"] = _options(spec.options)
        self._call(
            f"create property {spec.name}", self._properties.create_with_http_info, "contacts", body
        )

    # -- writing ---------------------------------------------------------------------------

    def write_properties(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        if len(writes) > self.limits.write_batch_size:
            raise ValueError(f"at most {self.limits.write_batch_size} records per batch")
        body = {"inputs": [{"id": w.contact_id, "properties": w.values} for w in writes]}
        action = "batch update contacts"
        try:
            answer = self._call_for_answer(action, self._batch.update_with_http_info, body)
        except RequestRejected as exc:
            if exc.status != 400 or exc.code in PROPERTY_PROBLEMS:
                raise
            # One invalid value anywhere refuses the whole batch (VALIDATION_ERROR).
            raise BatchRejected(str(exc), exc.status, exc.code) from exc
        return confirmed_writes(writes, answer, action)

    # -- lists -----------------------------------------------------------------------------

    def find_list(self, name: str) -> ListRef | None:
        try:
            data = self._call(
                f"find list {name!r}",
                self._lists.get_by_name_with_http_info,
                name,
                CONTACT_OBJECT_TYPE_ID,
            )
        except NotFound:
            return None
        return _list_ref(data.list)

    def create_list(self, name: str) -> ListRef:
        data = self._call(
            f"create list {name!r}",
            self._lists.create_with_http_info,
            {"name": name, "objectTypeId": CONTACT_OBJECT_TYPE_ID, "processingType": "MANUAL"},
        )
        return _list_ref(data.list)

    def delete_list(self, list_ref: ListRef) -> None:
        """``DELETE /crm/v3/lists/{listId}``; HubSpot keeps a deleted list restorable for a
        while, readable by id only."""
        try:
            self._call(f"delete list {list_ref.name!r}", self._lists.remove_with_http_info,
                       list_ref.id)
        except NotFound:
            return

    def read_list_members_page(self, list_ref: ListRef, cursor: str | None) -> IdPage:
        data = self._call(
            f"read members of list {list_ref.name!r}",
            self._memberships.get_page_with_http_info,
            list_ref.id,
            after=cursor,
            limit=self.limits.list_read_page_size,
        )
        next_page = data.paging.next if data.paging else None
        return IdPage(
            ids=[row.record_id for row in data.results],
            next_cursor=next_page.after if next_page else None,
        )

    def add_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        return self._change_members(
            list_ref, contact_ids, self._memberships.add_with_http_info, "add to"
        )

    def remove_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        return self._change_members(
            list_ref, contact_ids, self._memberships.remove_with_http_info, "remove from"
        )

    def _change_members(
        self,
        list_ref: ListRef,
        contact_ids: Iterable[str],
        method: Callable[..., Any],
        verb: str,
    ) -> MembershipChange:
        ids = list(contact_ids)
        if len(ids) > self.limits.list_change_batch_size:
            raise ValueError(f"at most {self.limits.list_change_batch_size} ids per call")
        action = f"{verb} list {list_ref.name!r}"
        answer = self._call_for_answer(action, method, list_ref.id, ids)
        return confirmed_membership(answer, added=verb == "add to", action=action)

    # -- segsync check --------------------------------------------------------------------

    def check_access(self, segment_fields: Sequence[str]) -> list[AccessCheck]:
        """Read one contact, segsync's property definitions and a list by name: that proves
        the token and the read scopes. Write scopes are looked up in the private app's token
        info; a Service Key (or an OAuth token) has none, so each write scope is then proved by
        a request HubSpot must refuse as invalid, which it checks for the scope first."""
        timeout = self.settings.timeout_seconds
        checks = [
            self._probe(
                "read contacts",
                lambda: self._contacts.get_page_with_http_info(
                    limit=1, archived=False, _request_timeout=timeout
                ),
                scope="crm.objects.contacts.read",
            )
        ]
        for name in segment_fields:
            checks.append(
                self._probe(
                    f"read property {name}",
                    lambda name=name: self._properties.get_by_name_with_http_info(
                        "contacts", name, _request_timeout=timeout
                    ),
                    scope="crm.schemas.contacts.read",
                    found="exists",
                    absent="not created yet: the first sync creates it",
                )
            )
        checks.append(
            self._probe(
                "read lists",
                lambda: self._lists.get_by_name_with_http_info(
                    ACCESS_CHECK_LIST, CONTACT_OBJECT_TYPE_ID, _request_timeout=timeout
                ),
                scope="crm.lists.read",
                absent="scope crm.lists.read",
            )
        )
        granted = self._granted_scopes()
        if granted is None:
            checks.extend(self._write_probes())
            return checks
        for name, scope in WRITE_SCOPES:
            if scope in granted:
                checks.append(AccessCheck(name, "ok", f"scope {scope}"))
            else:
                checks.append(AccessCheck(name, "failed", _grant([scope])))
        return checks

    def _probe(
        self,
        name: str,
        read: Callable[[], Any],
        *,
        scope: str,
        found: str | None = None,
        absent: str | None = None,
    ) -> AccessCheck:
        """One read proving ``scope`` (``found`` says what it read); a 403 names the scopes to
        grant; a 404 (nothing of that name yet) proves it too when ``absent`` says so."""
        try:
            read()
        except Exception as exc:  # noqa: BLE001 - translate() re-raises what it cannot type
            status = getattr(exc, "status", None)
            if status == 403:
                return AccessCheck(name, "failed", _grant(_required_scopes(exc) or [scope]))
            if status == 404 and absent is not None:
                return AccessCheck(name, "ok", absent)
            raise translate(exc, name) from exc
        return AccessCheck(name, "ok", found or f"scope {scope}")

    def _write_probes(self) -> list[AccessCheck]:
        """Each write scope proved without writing: an empty batch update, an empty property
        group and an empty list are invalid requests (400) to a token holding the scope, and
        403 ``MISSING_SCOPES`` to one that lacks it."""
        timeout = self.settings.timeout_seconds
        senders = {
            "write contacts": lambda: self._batch.update_with_http_info(
                {"inputs": []}, _request_timeout=timeout
            ),
            "create properties": lambda: self._groups.create_with_http_info(
                "contacts", {}, _request_timeout=timeout
            ),
            "manage lists": lambda: self._lists.create_with_http_info(
                {}, _request_timeout=timeout
            ),
        }
        checks = []
        for name, scope in WRITE_SCOPES:
            try:
                senders[name]()
                status = 200
            except Exception as exc:  # noqa: BLE001 - the status is the answer
                status = getattr(exc, "status", None)
                if status == 403:
                    checks.append(
                        AccessCheck(name, "failed", _grant(_required_scopes(exc) or [scope]))
                    )
                    continue
            how = "a deliberately empty request was refused as invalid, not for its scope"
            if status == 400:
                checks.append(AccessCheck(name, "ok", f"scope {scope} ({how}; no token info)"))
            else:
                detail = f"no token info and the probe answered {status}: {scope}"
                checks.append(AccessCheck(name, "unchecked", detail))
        return checks

    def _granted_scopes(self) -> set[str] | None:
        """The private-app token's scopes from HubSpot's token info (a call that needs none),
        or None when HubSpot does not serve that token: a Service Key or an OAuth token. The
        reads before it proved the token itself, so a refusal here says nothing against it."""
        assert self.settings.token is not None  # checked in __init__
        token = self.settings.token.get_secret_value()
        try:
            response = self._contacts.api_client.rest_client.request(
                "POST",
                self.settings.base_url.rstrip("/") + TOKEN_INFO_PATH,
                headers={"Authorization": f"Bearer {token}"},
                body={"tokenKey": token},
                _request_timeout=self.settings.timeout_seconds,
            )
        except Exception:  # noqa: BLE001 - not served: the write scopes are probed instead
            return None
        scopes = parse_body(response.data).get("scopes")
        return {str(scope) for scope in scopes} if isinstance(scopes, list) else None

    def close(self) -> None:
        for api_client in self._api_clients:
            api_client.rest_client.pool_manager.clear()
