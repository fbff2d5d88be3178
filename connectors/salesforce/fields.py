"""Contact fields: describing them in segsync's types, and creating segsync's own.

Segsync's fields are created with the Tooling API (``tooling/sobjects/CustomField``), so that
they go through the client's session, timeout and single re-login like every other call:
``sf.mdapi`` drives zeep with its own HTTP transport (no timeout, no CA bundle) and keeps the
session id it was first built with. A new field is invisible to the integration user until
field-level security grants it, so each ensure grants Read and Edit with a
``FieldPermissions`` record on a permission set, then checks that the describe shows the field
as updateable, and otherwise says exactly which permission a person has to grant.

A field segsync creates carries help text starting with ``OWN_FIELD_HELP``: the describe every
run reads already returns ``inlineHelpText``, so telling segsync's fields from a person's costs
no extra call (the Tooling API's description would cost one a field), and the text also tells
the CRM's users that segsync overwrites the field. Fields made by segsync before the help text
existed are recognised by the "(segsync)" their labels end with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce import format_soql

from connectors.base import (
    AuthFailed,
    FieldInfo,
    FieldOwner,
    FieldType,
    NotFound,
    RequestRejected,
    SegmentField,
)
from connectors.salesforce.client import SalesforceClient

FIELD_TYPES: dict[str, FieldType] = {
    "picklist": "enumeration",
    "multipicklist": "multi_enumeration",
    "double": "number",
    "int": "number",
    "long": "number",
    "currency": "number",
    "percent": "number",
    "date": "date",
    "datetime": "datetime",
    "boolean": "bool",
}
"""Salesforce describe types in segsync's vocabulary; every other type is a string."""
LONG_TEXT_LENGTH = 32_768
TEXT_VISIBLE_LINES = 3
MULTI_SELECT_VISIBLE_LINES = 4
CUSTOM_SUFFIX = "__c"
OWN_FIELD_HELP = "Written by segsync"
"""The start of the help text of every field segsync creates: how a run knows it is its own."""
OLD_OWN_FIELD_LABEL = "(segsync)"
"""How the labels of fields made before ``OWN_FIELD_HELP`` existed end."""
MAX_DEVELOPER_NAME = 40
DEVELOPER_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)")
"""Salesforce's rule for a custom field's name before ``__c``: letters, digits and single
underscores, starting with a letter, not ending with an underscore."""


def field_name_problem(name: str) -> str | None:
    """Why Salesforce would refuse ``name`` for a new custom field, or None."""
    developer_name = name.removesuffix(CUSTOM_SUFFIX)
    if not name.endswith(CUSTOM_SUFFIX):
        return f"Salesforce custom field names end in {CUSTOM_SUFFIX} (e.g. {name}{CUSTOM_SUFFIX})"
    if len(developer_name) > MAX_DEVELOPER_NAME:
        return f"Salesforce allows at most {MAX_DEVELOPER_NAME} characters before {CUSTOM_SUFFIX}"
    if not DEVELOPER_NAME.fullmatch(developer_name):
        return (
            "Salesforce custom field names are letters, digits and single underscores, start "
            "with a letter and do not end with an underscore before __c"
        )
    return None


def _defined_by(described: Mapping[str, Any]) -> FieldOwner:
    """Standard fields are the CRM's; a custom field is segsync's when it says so."""
    if not described.get("custom"):
        return "crm"
    help_text = described.get("inlineHelpText") or ""
    label = str(described.get("label") or "")
    own = help_text.startswith(OWN_FIELD_HELP) or label.endswith(OLD_OWN_FIELD_LABEL)
    return "segsync" if own else "other"


def field_info(described: Mapping[str, Any]) -> FieldInfo:
    """One entry of an sObject describe; enumerations list their active values, in order,
    with the labels people see (a picklist entry's ``label`` is nillable: then none)."""
    field_type = FIELD_TYPES.get(described["type"], "string")
    active: list[Mapping[str, Any]] = []
    if field_type in ("enumeration", "multi_enumeration"):
        active = [value for value in described.get("picklistValues") or () if value["active"]]
    return FieldInfo(
        name=described["name"],
        label=described["label"],
        type=field_type,
        options=tuple(value["value"] for value in active),
        defined_by=_defined_by(described),
        option_labels=tuple(
            (value["value"], value["label"]) for value in active if value.get("label")
        ),
    )


PICKLIST_VALUE_NAME = "valueName"
"""The API name of a picklist value in Tooling API JSON (Salesforce's Tooling API reference,
CustomField's ``Metadata`` → ``CustomValue``); ``fullName`` is the Metadata API's XML spelling,
which the Tooling API refuses with ``JSON_PARSER_ERROR``. Sent as ``valueName``; both are read."""
VALUE_NAME_KEYS = (PICKLIST_VALUE_NAME, "fullName")


def _picklist_value(option: str) -> dict[str, Any]:
    return {PICKLIST_VALUE_NAME: option, "label": option, "default": False}


def unexpected_shape(name: str, what: str) -> RequestRejected:
    """An answer Salesforce should not give: a typed error naming the field, not a KeyError.
    Status 502 because the answer, not segsync's request, was wrong; retrying will not help."""
    return RequestRejected(
        f"Salesforce answered field {name} in an unexpected shape ({what}); segsync left it "
        "unchanged: check the field in Setup → Object Manager.",
        status=502,
    )


def picklist_value_name(value: Any, field: str) -> str:
    """A picklist value's API name, spelt ``valueName`` (Tooling) or ``fullName`` (Metadata)."""
    name = next((value.get(key) for key in VALUE_NAME_KEYS if isinstance(value, Mapping)
                 and isinstance(value.get(key), str)), None)
    if name is None:
        shown = json.dumps(value, default=str)[:80]
        raise unexpected_shape(field, f"a picklist value without valueName: {shown}")
    return name


def custom_field_metadata(spec: SegmentField) -> dict[str, Any]:
    """The Tooling API ``Metadata`` of a new segsync field.

    Select kinds are restricted picklists, so a typo in a write fails instead of adding a
    stray value; the multi-select shows four lines; free text is a long text area; a date is
    a Date field (written as ``YYYY-MM-DD``).
    """
    metadata: dict[str, Any] = {
        "label": spec.label,
        "description": spec.description,
        "inlineHelpText": f"{OWN_FIELD_HELP}: {spec.description}",
    }
    if spec.kind == "text":
        return metadata | {
            "type": "LongTextArea",
            "length": LONG_TEXT_LENGTH,
            "visibleLines": TEXT_VISIBLE_LINES,
        }
    if spec.kind == "date":
        return metadata | {"type": "Date"}
    value_set = {
        "restricted": True,
        "valueSetDefinition": {
            "sorted": False,
            "value": [_picklist_value(option) for option in spec.options],
        },
    }
    if spec.kind == "multi_select":
        return metadata | {
            "type": "MultiselectPicklist",
            "visibleLines": MULTI_SELECT_VISIBLE_LINES,
            "valueSet": value_set,
        }
    return metadata | {"type": "Picklist", "valueSet": value_set}


def with_options(
    metadata: Mapping[str, Any], options: Sequence[str], field: str
) -> dict[str, Any] | None:
    """The field's metadata with the missing ``options`` appended, or None if none is missing.

    The whole value list is sent back, every value spelt ``valueName``: the Metadata API
    deactivates values left out.
    """
    value_set = metadata.get("valueSet")
    if not value_set:
        raise RequestRejected(
            f"Salesforce field {field} exists but is a "
            f"{metadata.get('type')}, not a picklist: rename segsync's field in the config.",
            status=400,
        )
    definition = value_set.get("valueSetDefinition") if isinstance(value_set, Mapping) else None
    if not isinstance(definition, Mapping) or not isinstance(definition.get("value"), list):
        raise unexpected_shape(field, "no valueSet.valueSetDefinition.value list")
    values = definition["value"]
    names = [picklist_value_name(value, field) for value in values]
    missing = [option for option in options if option not in names]
    if not missing:
        return None
    kept = [
        {key: item for key, item in value.items() if key not in VALUE_NAME_KEYS}
        | {PICKLIST_VALUE_NAME: name}
        for value, name in zip(values, names, strict=True)
    ]
    values = kept + [_picklist_value(option) for option in missing]
    return {
        **metadata,
        "valueSet": {**value_set, "valueSetDefinition": {**definition, "value": values}},
    }


@dataclass(frozen=True)
class PermissionSet:
    id: str
    name: str


class ContactFields:
    """Describes the contact object and creates segsync's fields on it."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self.sobject = client.settings.object
        self._permission_set: PermissionSet | None = None

    def describe(self) -> list[Mapping[str, Any]]:
        """The raw ``fields`` of the object's describe: what the integration user can see."""
        result = self.client.rest(f"describe {self.sobject}", f"sobjects/{self.sobject}/describe")
        return list(result["fields"])

    def ensure(self, spec: SegmentField) -> None:
        """Create the field or add its missing options, grant it, and check it is visible."""
        refused = field_name_problem(spec.name)
        if refused:
            raise RequestRejected(
                f"{spec.name!r} cannot be segsync's field: {refused}; rename it in [sync].",
                status=400,
            )
        field_id = self._custom_field_id(spec.name)
        if field_id is None:
            body = {
                "FullName": f"{self.sobject}.{spec.name}",
                "Metadata": custom_field_metadata(spec),
            }
            self.client.rest(
                f"create field {spec.name}",
                "tooling/sobjects/CustomField/",
                method="POST",
                body=body,
            )
        elif spec.is_select:
            self._add_options(field_id, spec)
        problem = ""
        try:
            self._grant(spec.name, self._find_permission_set())
        except (AuthFailed, NotFound, RequestRejected) as exc:
            problem = f" (segsync could not grant it: {exc})"
        if not self._is_updateable(spec.name):
            raise AuthFailed(self.client.grant.message(spec.name) + problem)

    def _custom_field_id(self, name: str) -> str | None:
        soql = format_soql(
            "SELECT Id FROM CustomField WHERE TableEnumOrId = {} AND DeveloperName = {}",
            self.sobject,
            name.removesuffix(CUSTOM_SUFFIX),
        )
        rows = self.client.query(f"find field {name}", soql, tooling=True)
        return str(rows[0]["Id"]) if rows else None

    def _add_options(self, field_id: str, spec: SegmentField) -> None:
        path = f"tooling/sobjects/CustomField/{field_id}"
        current = self.client.rest(f"read field {spec.name}", path)
        read = current.get("Metadata") if isinstance(current, Mapping) else None
        if not isinstance(read, Mapping):
            raise unexpected_shape(spec.name, "no Metadata")
        metadata = with_options(read, spec.options, spec.name)
        if metadata is not None:
            self.client.rest(
                f"add options to field {spec.name}",
                path,
                method="PATCH",
                body={"Metadata": metadata},
            )

    def _find_permission_set(self) -> PermissionSet:
        """The configured permission set (``permission_set`` in ``[salesforce]``)."""
        if self._permission_set is None:
            name = self.client.permission_set
            rows = self.client.query(
                "find permission set",
                format_soql("SELECT Id, Name FROM PermissionSet WHERE Name = {}", name),
            )
            if not rows:
                raise NotFound(f"permission set {name} does not exist")
            self._permission_set = PermissionSet(str(rows[0]["Id"]), str(rows[0]["Name"]))
        return self._permission_set

    def _grant(self, name: str, permission_set: PermissionSet) -> None:
        """Read and Edit on the field through the permission set; idempotent."""
        field = f"{self.sobject}.{name}"
        rows = self.client.query(
            f"read field permissions of {field}",
            format_soql(
                "SELECT Id, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                "WHERE ParentId = {} AND SobjectType = {} AND Field = {}",
                permission_set.id,
                self.sobject,
                field,
            ),
        )
        access = {"PermissionsRead": True, "PermissionsEdit": True}
        action = f"grant {field} to permission set {permission_set.name}"
        if not rows:
            body = {"ParentId": permission_set.id, "SobjectType": self.sobject, "Field": field}
            self.client.rest(
                action, "sobjects/FieldPermissions/", method="POST", body=body | access
            )
        elif not (rows[0]["PermissionsRead"] and rows[0]["PermissionsEdit"]):
            path = f"sobjects/FieldPermissions/{rows[0]['Id']}"
            self.client.rest(action, path, method="PATCH", body=access)

    def _is_updateable(self, name: str) -> bool:
        described = {field["name"].lower(): field for field in self.describe()}
        field = described.get(name.lower())
        return bool(field and field.get("updateable"))
