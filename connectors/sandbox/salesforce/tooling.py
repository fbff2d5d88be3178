"""The Tooling API endpoints a connector uses to manage its custom fields.

``POST /tooling/sobjects/CustomField`` with ``{"FullName": "Contact.Segment__c", "Metadata":
{...}}`` creates a field (what simple-salesforce users do with ``sf.restful(
"tooling/sobjects/CustomField/", method="POST", json=...)``, per its issue #438);
``GET``/``PATCH .../CustomField/{id}`` read and replace its metadata (adding picklist values);
``GET /tooling/query`` lists fields (``SELECT Id, DeveloperName FROM CustomField WHERE
TableEnumOrId = 'Contact'``). ``FullName`` and ``Metadata`` can only be queried for one row,
as on Salesforce. Tooling results come in one page (an org has few custom fields).

Tooling API JSON names a picklist value ``valueName`` (Salesforce's Tooling API reference,
CustomField ``Metadata`` → ``CustomValue``); ``fullName`` is the Metadata API's XML spelling. The
store keeps the Metadata API's vocabulary (the SOAP endpoint shares it), so values are renamed on
the way in and out, and a Tooling body that says ``fullName`` is refused with 400
``JSON_PARSER_ERROR`` as Salesforce's JSON parser refuses an unknown property (message: sandbox
text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connectors.sandbox.salesforce import ids
from connectors.sandbox.salesforce.custom_fields import define_field
from connectors.sandbox.salesforce.errors import RestError, not_found
from connectors.sandbox.salesforce.field_metadata import FieldProblem
from connectors.sandbox.salesforce.query import bind, render
from connectors.sandbox.salesforce.rest import DATA, guarded, json_body
from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef, ObjectSchema
from connectors.sandbox.salesforce.store import (
    CustomFieldRecord,
    SalesforceStore,
    SObjectRecord,
)
from connectors.sandbox.salesforce.values import format_datetime
from connectors.sandbox.salesforce.writes import missing_setup_permissions
from connectors.sandbox.server import Request, Response, Router, json_response

TOOLING = f"{DATA}/tooling"
SINGLE_ROW_FIELDS = ("FullName", "Metadata")
VALUE_NAME = "valueName"
METADATA_VALUE_NAME = "fullName"

CUSTOM_FIELD = ObjectDef("CustomField", "Custom Field", "Custom Fields", "00N", (
    FieldDef("Id", "Custom Field ID", "id", length=18, createable=False, updateable=False),
    FieldDef("DeveloperName", "Field Name", "string", length=40),
    FieldDef("TableEnumOrId", "Table Enum or ID", "string", length=40),
    FieldDef("NamespacePrefix", "Namespace Prefix", "string", length=15),
    FieldDef("FullName", "Full Name", "string", length=255),
    FieldDef("Metadata", "Metadata", "complexvalue"),
    FieldDef("CreatedDate", "Created Date", "datetime", createable=False, updateable=False),
    FieldDef("LastModifiedDate", "Last Modified Date", "datetime", createable=False,
             updateable=False),
))


class ToolingSource:
    """The Tooling API's view of the org for SOQL: ``CustomField`` rows only."""

    def __init__(self, store: SalesforceStore) -> None:
        self._store = store
        self._schema = ObjectSchema(CUSTOM_FIELD)

    def schema(self, sobject: str) -> ObjectSchema | None:
        return self._schema if sobject.lower() == "customfield" else None

    def field_visible(self, sobject: str, field: str) -> bool:
        return True

    def rows(self, sobject: str, include_deleted: bool = False) -> Sequence[SObjectRecord]:
        return [_row(c) for c in self._store.custom_fields()]

    def value(self, record: SObjectRecord, name: str) -> Any:
        return record.id if name == "Id" else record.values.get(name)

    def get(self, record_id: str) -> SObjectRecord | None:
        found = self._store.custom_field_by_id(record_id)
        return _row(found) if found is not None else None


def _row(field: CustomFieldRecord) -> SObjectRecord:
    return SObjectRecord(field.id, "CustomField", {
        "DeveloperName": field.developer_name, "TableEnumOrId": field.sobject,
        "NamespacePrefix": None, "FullName": field.full_name,
        "Metadata": _rename_values(field.metadata, METADATA_VALUE_NAME, VALUE_NAME),
        "CreatedDate": field.created_ms, "LastModifiedDate": field.modified_ms,
    })


def _picklist_values(metadata: Mapping[str, Any]) -> list[Any]:
    """The ``valueSet.valueSetDefinition.value`` list of metadata ([] when it has none)."""
    value_set = metadata.get("valueSet")
    definition = value_set.get("valueSetDefinition") if isinstance(value_set, dict) else None
    values = definition.get("value") if isinstance(definition, dict) else None
    return values if isinstance(values, list) else []


def _rename_values(metadata: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A copy of the metadata whose picklist values say ``new`` where they said ``old``."""
    values = _picklist_values(metadata)
    if not values:
        return dict(metadata)
    renamed = [{(new if key == old else key): item for key, item in value.items()}
               if isinstance(value, dict) else value for value in values]
    value_set = metadata["valueSet"]
    definition = value_set["valueSetDefinition"]
    return {**metadata, "valueSet": {**value_set,
                                     "valueSetDefinition": {**definition, "value": renamed}}}


def metadata_from_json(body: Any) -> dict[str, Any]:
    """The ``Metadata`` of a Tooling body in the store's vocabulary; 400 when it is missing or
    names a picklist value with the Metadata API's ``fullName``."""
    metadata = body.get("Metadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict):
        raise RestError(400, "REQUIRED_FIELD_MISSING",
                        "Required fields are missing: [Metadata]", ["Metadata"])
    if any(isinstance(v, dict) and METADATA_VALUE_NAME in v for v in _picklist_values(metadata)):
        raise RestError(400, "JSON_PARSER_ERROR",
                        f'Unrecognized field "{METADATA_VALUE_NAME}" in CustomValue: a picklist '
                        f"value is named by {VALUE_NAME} in Tooling API JSON")
    return _rename_values(metadata, VALUE_NAME, METADATA_VALUE_NAME)


def field_problem(problem: FieldProblem) -> RestError:
    """A rejected definition as the Tooling API's 400 body."""
    return RestError(400, problem.status_code, problem.message, [])


class ToolingApi:
    """The Tooling handlers over one store."""

    def __init__(self, store: SalesforceStore) -> None:
        self._store = store
        self._source = ToolingSource(store)

    def register(self, router: Router) -> None:
        """Add the Tooling routes."""
        routes: list[tuple[str, str, Callable[[Request], Response]]] = [
            ("GET", f"{TOOLING}/query", self.query),
            ("POST", f"{TOOLING}/sobjects/CustomField", self.create_field),
            ("GET", f"{TOOLING}/sobjects/CustomField/{{id}}", self.get_field),
            ("PATCH", f"{TOOLING}/sobjects/CustomField/{{id}}", self.update_field),
        ]
        for method, template, handler in routes:
            router.add(method, template, guarded(handler))

    def query(self, request: Request) -> Response:
        """``GET /tooling/query?q=``."""
        text = request.query_value("q") or ""
        with self._store.transaction():
            bound = bind(text, self._source)
            rows = bound.run(include_deleted=False)
            single = [c.definition.name for c in bound.columns
                      if c.definition.name in SINGLE_ROW_FIELDS]
            if single and len(rows) > 1:
                raise RestError(400, "MALFORMED_QUERY", (
                    "When retrieving results with Metadata or FullName fields, the query "
                    "qualifications must specify no more than one row for retrieval. Result "
                    f"size: {len(rows)}"))
            if bound.count:
                return json_response(200, {"size": len(rows), "totalSize": len(rows),
                                           "done": True, "records": []})
            records = [render(bound, r, request.params["version"], "tooling/") for r in rows]
        return json_response(200, {"size": len(records), "totalSize": len(records),
                                   "done": True, "queryLocator": None,
                                   "entityTypeName": "CustomField", "records": records})

    def create_field(self, request: Request) -> Response:
        """``POST /tooling/sobjects/CustomField`` → 201 with the new field's id."""
        self._customizer()
        body = json_body(request)
        metadata = metadata_from_json(body)
        full_name = body.get("FullName") or metadata.get("fullName")
        if not isinstance(full_name, str):
            raise RestError(400, "REQUIRED_FIELD_MISSING",
                            "Required fields are missing: [FullName]", ["FullName"])
        try:
            record, _ = define_field(self._store, full_name, metadata, "create")
        except FieldProblem as problem:
            raise field_problem(problem) from problem
        return json_response(201, {"id": record.id, "success": True, "errors": [],
                                   "warnings": [], "infos": []})

    def get_field(self, request: Request) -> Response:
        """``GET /tooling/sobjects/CustomField/{id}``: the field with its full metadata."""
        field = self._addressed(request)
        row = _row(field)
        return json_response(200, {
            "attributes": {"type": "CustomField", "url": f"/services/data/"
                           f"{request.params['version']}/tooling/sobjects/CustomField/{field.id}"},
            "Id": field.id, **{k: v for k, v in row.values.items()
                               if k not in ("CreatedDate", "LastModifiedDate")},
            "CreatedDate": format_datetime(field.created_ms),
            "LastModifiedDate": format_datetime(field.modified_ms),
        })

    def update_field(self, request: Request) -> Response:
        """``PATCH /tooling/sobjects/CustomField/{id}`` with ``{"Metadata": {...}}`` (the
        whole definition, as on Salesforce) → 204."""
        field = self._addressed(request)
        self._customizer()
        metadata = metadata_from_json(json_body(request))
        try:
            define_field(self._store, field.full_name, metadata, "update")
        except FieldProblem as problem:
            raise field_problem(problem) from problem
        return Response(status=204)

    def _customizer(self) -> None:
        """Creating or changing a field needs Customize Application (403 otherwise; the code
        is real, the text sandbox text)."""
        missing = missing_setup_permissions(self._store, ("PermissionsCustomizeApplication",))
        if missing:
            raise RestError(403, "INSUFFICIENT_ACCESS_OR_READONLY",
                            f"insufficient access rights: changing custom fields needs {missing}")

    def _addressed(self, request: Request) -> CustomFieldRecord:
        raw = request.params["id"]
        field = (self._store.custom_field_by_id(raw)
                 if ids.normalise(raw) is not None else None)
        if field is None:
            raise not_found()
        return field
