"""The Salesforce REST endpoints of the sandbox: query, sObjects, sObject Collections, limits.

Every path is ``/services/data/vXX.X/...`` for any two-digit version (simple-salesforce builds
them from its ``version``). Status codes and bodies are Salesforce's: 200 with per-record
results for Collections (failures inside the array, never as a status), 201 ``{"id",
"success", "errors"}`` for a create, 204 for an update or delete, 400/404 with the
``[{"message", "errorCode"}]`` array otherwise. Authentication, request counting and injected
faults happen before these handlers (``sandbox``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from connectors.sandbox.limits import ListingCut
from connectors.sandbox.salesforce import ids
from connectors.sandbox.salesforce.auth import bearer
from connectors.sandbox.salesforce.errors import (
    RecordError,
    RecordFailure,
    RestError,
    json_parser_error,
    not_found,
)
from connectors.sandbox.salesforce.query import (
    QueryCursors,
    batch_size,
    bind,
    cut_short,
    render,
)
from connectors.sandbox.salesforce.schema import (
    OBJECTS,
    SOAP_TYPES,
    FieldDef,
    ObjectSchema,
)
from connectors.sandbox.salesforce.store import SalesforceStore, SObjectRecord
from connectors.sandbox.salesforce.usage import ApiUsage
from connectors.sandbox.salesforce.values import (
    format_datetime,
    parse_datetime,
    to_json,
)
from connectors.sandbox.salesforce.writes import (
    DecodedRecord,
    RecordWriter,
    decode_json,
)
from connectors.sandbox.server import Request, Response, Router, json_response

DATA = "/services/data/{version}"
MAX_COLLECTION = 200
ROLLED_BACK = RecordError(  # captured (amp-labs fixtures)
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header")


def json_body(request: Request) -> Any:
    """The parsed JSON body; 400 JSON_PARSER_ERROR when it is not JSON (sandbox text)."""
    try:
        return json.loads(request.body or b"null")
    except json.JSONDecodeError as exc:
        raise json_parser_error(f"Unexpected character at [line:{exc.lineno}, "
                                f"column:{exc.colno}]") from exc


def guarded(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Turn a ``RestError`` raised anywhere in a handler into its response."""

    def run(request: Request) -> Response:
        try:
            return handler(request)
        except RestError as error:
            return error.response()

    return run


def failure_response(error: RecordError, status: int = 400) -> Response:
    """A single-record REST failure: the record error as a one-element error array."""
    return RestError(status, error.status_code, error.message, error.fields).response()


class SalesforceRestApi:
    """The REST handlers over one store. ``register`` puts them in a router."""

    def __init__(self, store: SalesforceStore, writer: RecordWriter, cursors: QueryCursors,
                 usage: ApiUsage, listing_cut: ListingCut | None = None) -> None:
        self._store = store
        self._writer = writer
        self._cursors = cursors
        self._usage = usage
        self._listing_cut = listing_cut or ListingCut()

    def register(self, router: Router) -> None:
        """Add every route. ``describe`` and ``deleted`` come before ``{id}``."""
        routes: list[tuple[str, str, Callable[[Request], Response]]] = [
            ("GET", f"{DATA}/limits", self.limits),
            ("GET", f"{DATA}/query", self.query),
            ("GET", f"{DATA}/queryAll", self.query_all),
            ("GET", f"{DATA}/query/{{locator}}", self.query_more),
            ("GET", f"{DATA}/queryAll/{{locator}}", self.query_all_more),
            ("POST", f"{DATA}/composite/sobjects", self.collection_create),
            ("PATCH", f"{DATA}/composite/sobjects", self.collection_update),
            ("DELETE", f"{DATA}/composite/sobjects", self.collection_delete),
            ("GET", f"{DATA}/sobjects", self.describe_global),
            ("GET", f"{DATA}/sobjects/{{sobject}}", self.sobject_info),
            ("POST", f"{DATA}/sobjects/{{sobject}}", self.create),
            ("GET", f"{DATA}/sobjects/{{sobject}}/describe", self.describe),
            ("GET", f"{DATA}/sobjects/{{sobject}}/deleted", self.deleted),
            ("GET", f"{DATA}/sobjects/{{sobject}}/{{id}}", self.retrieve),
            ("PATCH", f"{DATA}/sobjects/{{sobject}}/{{id}}", self.update),
            ("DELETE", f"{DATA}/sobjects/{{sobject}}/{{id}}", self.delete),
        ]
        for method, template, handler in routes:
            router.add(method, template, guarded(handler))

    # -- limits ----------------------------------------------------------------------------

    def limits(self, request: Request) -> Response:
        """``GET /limits``: the daily request allowance (other limits are not modelled)."""
        usage = self._usage.peek()
        return json_response(200, {"DailyApiRequests": {
            "Max": usage.allowance, "Remaining": max(0, usage.allowance - usage.used)}})

    # -- query -----------------------------------------------------------------------------

    def query(self, request: Request) -> Response:
        """``GET /query?q=``: live records only."""
        return self._first_page(request, "query", include_deleted=False)

    def query_all(self, request: Request) -> Response:
        """``GET /queryAll?q=``: the recycle bin included (``IsDeleted = true`` rows)."""
        return self._first_page(request, "queryAll", include_deleted=True)

    def query_more(self, request: Request) -> Response:
        """``GET /query/{locator}-{offset}``: the next batch of an open cursor."""
        return self._next_page(request, "query")

    def query_all_more(self, request: Request) -> Response:
        """``GET /queryAll/{locator}-{offset}``."""
        return self._next_page(request, "queryAll")

    def _first_page(self, request: Request, endpoint: str, include_deleted: bool) -> Response:
        text = request.query_value("q")
        if not text:
            raise RestError(400, "MALFORMED_QUERY", "A query string has to be specified")
        version = request.params["version"]
        with self._store.transaction():
            bound = bind(text, self._store)
            rows = cut_short(self._listing_cut, bound, bound.run(include_deleted), include_deleted)
            if bound.count:
                return json_response(200, {"totalSize": len(rows), "done": True,
                                           "records": []})
            records = [render(bound, row, version) for row in rows]
            locator = self._store.new_id("01g")
        page = self._cursors.first_page(
            records, session_id=bearer(request.headers.get("Authorization")),
            batch=batch_size(request), endpoint=endpoint, version=version, locator=locator)
        return json_response(200, page)

    def _next_page(self, request: Request, endpoint: str) -> Response:
        page = self._cursors.next_page(
            request.params["locator"], session_id=bearer(request.headers.get("Authorization")),
            endpoint=endpoint, version=request.params["version"])
        return json_response(200, page)

    # -- sObject Collections ---------------------------------------------------------------

    def collection_create(self, request: Request) -> Response:
        """``POST /composite/sobjects``: create up to 200 records, results in input order."""
        all_or_none, records = self._collection_body(json_body(request))
        decoded = [self._decode_typed(raw) for raw in records]
        return self._apply_all(all_or_none, [
            partial(self._writer.create, d) for d in decoded], keep_failed_id=False)

    def collection_update(self, request: Request) -> Response:
        """``PATCH /composite/sobjects``: update up to 200 records by id, results in order."""
        all_or_none, records = self._collection_body(json_body(request))
        decoded = [self._decode_typed(raw) for raw in records]
        return self._apply_all(all_or_none, [
            partial(self._writer.update, d) for d in decoded], keep_failed_id=False)

    def collection_delete(self, request: Request) -> Response:
        """``DELETE /composite/sobjects?ids=a,b&allOrNone=false``: results in id order; a
        failed delete still names its id (DeleteResult carries the id it was asked for)."""
        ids = [i for i in (request.query_value("ids") or "").split(",") if i]
        self._check_count(len(ids))
        all_or_none = (request.query_value("allOrNone") or "false").lower() == "true"
        return self._apply_all(all_or_none, [
            partial(self._writer.delete, None, i) for i in ids], keep_failed_id=True,
            ids=ids)

    def _collection_body(self, body: Any) -> tuple[bool, list[dict[str, Any]]]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise json_parser_error("The request body must be an object with a 'records' "
                                    "array")  # sandbox text
        records = body["records"]
        self._check_count(len(records))
        if not all(isinstance(r, dict) for r in records):
            raise json_parser_error("Every element of 'records' must be an object")
        return bool(body.get("allOrNone", False)), records

    def _check_count(self, count: int) -> None:
        if count == 0:  # captured (amp-labs fixtures)
            raise RestError(400, "REQUIRED_FIELD_MISSING", "At least 1 record is required",
                            [])
        if count > MAX_COLLECTION:  # code real; wording as commonly reported
            raise RestError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit "
                            f"more than {MAX_COLLECTION} records into this call", [])

    def _decode_typed(self, raw: dict[str, Any]) -> DecodedRecord:
        """A Collections record: ``attributes.type`` names its object (required)."""
        attributes = raw.get("attributes")
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if not isinstance(sobject, str):  # sandbox text
            raise RestError(400, "INVALID_INPUT", "Each record in an sObject Collections "
                            "request needs an attributes map with a type", [])
        return decode_json(self._store, self._known_type(sobject), raw)

    def _apply_all(self, all_or_none: bool, saves: list[Callable[[], str]], *,
                   keep_failed_id: bool, ids: list[str] | None = None) -> Response:
        """Run saves in order; with ``allOrNone`` one failure rolls every save back and the
        others report ALL_OR_NONE_OPERATION_ROLLED_BACK."""
        results: list[dict[str, Any]] = []
        with self._store.savepoint() as rollback:
            for index, save in enumerate(saves):
                try:
                    results.append({"id": save(), "success": True, "errors": []})
                except RecordFailure as failure:
                    result: dict[str, Any] = {"success": False,
                                              "errors": [failure.error.as_json()]}
                    if keep_failed_id and ids is not None:
                        result = {"id": ids[index], **result}
                    results.append(result)
            if all_or_none and not all(r["success"] for r in results):
                rollback()
                results = [r if not r["success"] else
                           {**({"id": r["id"]} if keep_failed_id else {}), "success": False,
                            "errors": [ROLLED_BACK.as_json()]} for r in results]
        return json_response(200, results)

    # -- sObjects --------------------------------------------------------------------------

    def describe_global(self, request: Request) -> Response:
        """``GET /sobjects``: every object the user can see."""
        return json_response(200, {
            "encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION,
            "sobjects": [self._summary(s, request.params["version"])
                         for s in self._all_schemas()]})

    def sobject_info(self, request: Request) -> Response:
        """``GET /sobjects/{type}``: basic information and recent items (none)."""
        schema = self._known_type(request.params["sobject"], status=404)
        return json_response(200, {
            "objectDescribe": self._summary(schema, request.params["version"]),
            "recentItems": []})

    def describe(self, request: Request) -> Response:
        """``GET /sobjects/{type}/describe``: fields without field-level security for the
        user are left out, as Salesforce does, and read-only ones are neither createable nor
        updateable; the object's flags say what the user may do with its records."""
        with self._store.transaction():
            schema = self._known_type(request.params["sobject"], status=404)
            fields = [_describe_field(f, self._store.field_editable(schema.name, f.name))
                      for f in self._store.visible_fields(schema)]
            children = [
                {"childSObject": child.name, "field": f.name, "relationshipName": None,
                 "cascadeDelete": child.name == "CampaignMember", "deprecatedAndHidden": False}
                for child in self._all_schemas() for f in child.fields.values()
                if f.reference_to == (schema.name,)]
        summary = self._summary(schema, request.params["version"])
        return json_response(200, {**summary, "fields": fields, "childRelationships": children,
                                   "recordTypeInfos": []})

    def deleted(self, request: Request) -> Response:
        """``GET /sobjects/{type}/deleted/?start=&end=``: records deleted in the window (the
        recycle bin), newest window end rounded down to the minute as Salesforce reports it."""
        schema = self._known_type(request.params["sobject"], status=404)
        start_ms = parse_datetime(request.query_value("start") or "")
        end_ms = parse_datetime(request.query_value("end") or "")
        if start_ms is None or end_ms is None or end_ms < start_ms:  # sandbox text
            raise RestError(400, "INVALID_REPLICATION_DATE",
                            "start and end must be ISO 8601 datetimes, start before end")
        with self._store.transaction():
            gone = [r for r in self._store.rows(schema.name, include_deleted=True)
                    if r.deleted_ms is not None]
        window = [r for r in gone if start_ms <= (r.deleted_ms or 0) <= end_ms]
        earliest = min((r.deleted_ms or 0 for r in gone), default=start_ms)
        return json_response(200, {
            "deletedRecords": [{"id": r.id, "deletedDate": format_datetime(r.deleted_ms or 0)}
                               for r in window],
            "earliestDateAvailable": format_datetime(earliest),
            "latestDateCovered": format_datetime(end_ms - end_ms % 60_000),
        })

    def create(self, request: Request) -> Response:
        """``POST /sobjects/{type}`` → 201 ``{"id", "success": true, "errors": []}``."""
        body = json_body(request)
        if not isinstance(body, dict):
            raise json_parser_error("The request body must be a JSON object")
        with self._store.transaction():
            schema = self._known_type(request.params["sobject"], status=404)
            decoded = decode_json(self._store, schema, body)
            try:
                new_id = self._writer.create(decoded)
            except RecordFailure as failure:
                return failure_response(failure.error)
        return json_response(201, {"id": new_id, "success": True, "errors": []})

    def retrieve(self, request: Request) -> Response:
        """``GET /sobjects/{type}/{id}[?fields=a,b]``: the record's visible fields."""
        with self._store.transaction():
            schema, record = self._addressed(request)
            names = [n for n in (request.query_value("fields") or "").split(",") if n]
            fields = ([schema.field(n) for n in names] if names
                      else self._store.visible_fields(schema))
            if any(f is None or not self._store.field_visible(schema.name, f.name)
                   for f in fields):
                unknown = next(n for n, f in zip(names, fields, strict=True) if f is None
                               or not self._store.field_visible(schema.name, f.name))
                raise RestError(400, "INVALID_FIELD", f"No such column '{unknown}' on sobject "
                                f"of type {schema.name}")
            rendered: dict[str, Any] = {"attributes": {
                "type": schema.name,
                "url": f"/services/data/{request.params['version']}/sobjects/{schema.name}/"
                       f"{record.id}"}}
            for definition in fields:
                assert definition is not None
                rendered[definition.name] = to_json(definition,
                                                    self._store.value(record, definition.name))
        return json_response(200, rendered)

    def update(self, request: Request) -> Response:
        """``PATCH /sobjects/{type}/{id}`` → 204."""
        body = json_body(request)
        if not isinstance(body, dict):
            raise json_parser_error("The request body must be a JSON object")
        with self._store.transaction():
            schema, record = self._addressed(request)
            decoded = decode_json(self._store, schema, {**body, "Id": record.id})
            try:
                self._writer.update(decoded)
            except RecordFailure as failure:
                return failure_response(failure.error)
        return Response(status=204)

    def delete(self, request: Request) -> Response:
        """``DELETE /sobjects/{type}/{id}`` → 204; the record goes to the recycle bin."""
        with self._store.transaction():
            schema, record = self._addressed(request)
            try:
                self._writer.delete(schema, record.id)
            except RecordFailure as failure:
                return failure_response(failure.error)
        return Response(status=204)

    def _addressed(self, request: Request) -> tuple[ObjectSchema, SObjectRecord]:
        """The record a ``/sobjects/{type}/{id}`` URL names. A segment that is not an id is
        read as an external id field (Salesforce's 404 text for that); a deleted record is
        404 ENTITY_IS_DELETED."""
        schema = self._known_type(request.params["sobject"], status=404)
        raw_id = request.params["id"]
        if ids.normalise(raw_id) is None:
            raise RestError(404, "NOT_FOUND", "Provided external ID field does not exist or "
                            f"is not accessible: {raw_id}")
        record = self._store.get(raw_id)
        if record is None or record.sobject != schema.name:
            raise not_found()
        if record.deleted_ms is not None:
            raise RestError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return schema, record

    def _known_type(self, sobject: str, status: int = 400) -> ObjectSchema:
        schema = self._store.schema(sobject)
        if schema is None:
            if status == 404:
                raise not_found()
            raise RestError(status, "INVALID_TYPE", f"sObject type '{sobject}' is not "
                            "supported.")
        return schema

    def _all_schemas(self) -> list[ObjectSchema]:
        return [self._store.known_schema(d.name) for d in OBJECTS]

    def _summary(self, schema: ObjectSchema, version: str) -> dict[str, Any]:
        """The object's describe header; its flags count the user's object permissions."""
        definition = schema.definition
        base = f"/services/data/{version}/sobjects/{definition.name}"
        permitted = self._store.object_permitted
        return {
            "name": definition.name, "label": definition.label,
            "labelPlural": definition.label_plural, "keyPrefix": definition.key_prefix,
            "custom": False,
            "createable": definition.createable and permitted(definition.name, "create"),
            "updateable": definition.updateable and permitted(definition.name, "edit"),
            "deletable": definition.deletable and permitted(definition.name, "delete"),
            "queryable": True, "retrieveable": True, "searchable": True,
            "urls": {"sobject": base, "describe": f"{base}/describe",
                     "rowTemplate": f"{base}/{{ID}}"},
        }


def _describe_field(definition: FieldDef, editable: bool) -> dict[str, Any]:
    """One field as describe reports it (the properties a client reads); ``editable`` is the
    user's field-level Edit permission."""
    return {
        "name": definition.name, "label": definition.label, "type": definition.type,
        "soapType": SOAP_TYPES.get(definition.type, "xsd:string"),
        "length": definition.length, "precision": definition.precision,
        "scale": definition.scale, "digits": definition.digits,
        "nillable": definition.nillable, "createable": definition.createable and editable,
        "updateable": definition.updateable and editable, "custom": definition.custom,
        "calculated": definition.computed,
        "defaultedOnCreate": definition.default is not None or definition.system,
        "defaultValue": definition.default if definition.type != "boolean" else None,
        "defaultValueFormula": None, "externalId": False, "unique": False,
        "idLookup": definition.name == "Id", "nameField": definition.name == "Name",
        "filterable": definition.type != "textarea" or definition.length <= 255,
        "sortable": definition.type != "multipicklist"
        and (definition.type != "textarea" or definition.length <= 255),
        "restrictedPicklist": definition.restricted,
        "picklistValues": [{"active": v.active, "defaultValue": v.default, "label": v.label,
                            "validFor": None, "value": v.value} for v in definition.picklist],
        "referenceTo": list(definition.reference_to),
        "relationshipName": definition.relationship_name,
        "inlineHelpText": definition.help_text,
    }

