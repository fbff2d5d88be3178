"""Custom field definitions in the Metadata API's vocabulary, and what they become in describe.

Both ways of creating a field that simple-salesforce offers speak the same ``CustomField``
metadata (Metadata API SOAP through ``sf.mdapi``, Tooling REST as the ``Metadata`` of a
``CustomField`` record): ``type`` ``Picklist`` with a ``valueSet``, ``MultiselectPicklist`` with
``visibleLines``, ``Text`` with ``length`` ... This module validates that metadata and maps it
to the field describe reports (``Picklist`` → ``picklist``, ``Number`` → ``double`` ...), so the
two APIs cannot drift apart. Messages of the validation errors are sandbox text (Salesforce's
own wording for these was not found); the status codes are real ``StatusCode`` values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from connectors.sandbox.salesforce.schema import FieldDef, FieldType, PicklistValue

METADATA_TYPES: dict[str, FieldType] = {
    "Text": "string", "TextArea": "textarea", "LongTextArea": "textarea",
    "Picklist": "picklist", "MultiselectPicklist": "multipicklist", "Number": "double",
    "Currency": "currency", "Checkbox": "boolean", "Date": "date", "DateTime": "datetime",
    "Email": "email", "Phone": "phone",
}
FIXED_LENGTHS = {"TextArea": 255, "Email": 80, "Phone": 40, "Picklist": 255,
                 "MultiselectPicklist": 4099}
DESCRIBE_TO_METADATA = {"string": "Text", "picklist": "Picklist",
                        "multipicklist": "MultiselectPicklist", "double": "Number",
                        "currency": "Currency", "boolean": "Checkbox", "date": "Date",
                        "datetime": "DateTime", "email": "Email", "phone": "Phone"}
MAX_DEVELOPER_NAME = 40
MAX_HELP_TEXT = 510
_DEVELOPER_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_INTEGER_KEYS = ("length", "precision", "scale", "visibleLines")
_BOOLEAN_KEYS = ("required", "restricted", "sorted", "default", "externalId", "unique")


class FieldProblem(Exception):
    """Metadata that cannot become a field: a ``StatusCode`` and a message."""

    def __init__(self, status_code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def split_full_name(full_name: str) -> tuple[str, str]:
    """``Contact.Segment__c`` → (``Contact``, ``Segment``); FieldProblem when malformed."""
    sobject, dot, field = full_name.partition(".")
    developer_name = field.removesuffix("__c")
    if not dot or not sobject or not field.endswith("__c") or not developer_name:
        raise FieldProblem("FIELD_INTEGRITY_EXCEPTION",
                           f"{full_name}: a custom field's full name is Object.Name__c")
    if len(developer_name) > MAX_DEVELOPER_NAME or not _DEVELOPER_NAME.match(developer_name):
        raise FieldProblem(
            "FIELD_INTEGRITY_EXCEPTION",
            f"{developer_name}: the field name can only contain underscores and alphanumeric "
            "characters, must begin with a letter, not end with an underscore and not contain "
            "two consecutive underscores.",
        )
    return sobject, developer_name


def normalise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata with XML's strings typed ("true" → True, "255" → 255) and a single picklist
    value as a one-element list, so SOAP and JSON input compare and store alike."""
    result: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None or value == []:
            continue
        if isinstance(value, Mapping):
            result[key] = normalise(value)
        elif isinstance(value, list):
            result[key] = [normalise(v) if isinstance(v, Mapping) else v for v in value]
        elif key in _INTEGER_KEYS and isinstance(value, str) and value.isdigit():
            result[key] = int(value)
        elif key in _BOOLEAN_KEYS and isinstance(value, str):
            result[key] = value.lower() == "true"
        else:
            result[key] = value
    definition = result.get("valueSet", {}).get("valueSetDefinition")
    if isinstance(definition, dict) and isinstance(definition.get("value"), dict):
        definition["value"] = [definition["value"]]
    return result


def definition_of(developer_name: str, metadata: Mapping[str, Any]) -> FieldDef:
    """The describe field for valid metadata (normalised); FieldProblem otherwise."""
    kind = metadata.get("type")
    if kind not in METADATA_TYPES:
        raise FieldProblem("FIELD_INTEGRITY_EXCEPTION",
                           f"type: {kind!r} is not a supported custom field type; use one of "
                           f"{sorted(METADATA_TYPES)}")
    label = metadata.get("label")
    if not isinstance(label, str) or not label.strip():
        raise FieldProblem("REQUIRED_FIELD_MISSING", "Field Label: You must enter a value")
    name = f"{developer_name}__c"
    base = FieldDef(name, label, METADATA_TYPES[kind], custom=True,
                    nillable=not metadata.get("required", False),
                    length=FIXED_LENGTHS.get(kind, 0), help_text=_help_text(metadata))
    if kind in ("Text", "LongTextArea"):
        low, high = (1, 255) if kind == "Text" else (256, 131_072)
        length = metadata.get("length")
        if not isinstance(length, int) or not low <= length <= high:
            raise FieldProblem("FIELD_INTEGRITY_EXCEPTION",
                               f"Length: a {kind} field needs a length from {low} to {high}")
        base = replace(base, length=length)
    if kind in ("LongTextArea", "MultiselectPicklist"):
        lines = metadata.get("visibleLines")
        if not isinstance(lines, int) or lines < 1:
            raise FieldProblem("FIELD_INTEGRITY_EXCEPTION",
                               f"Visible Lines: a {kind} field needs visibleLines")
        base = replace(base, visible_lines=lines)
    if kind in ("Number", "Currency"):
        precision = metadata.get("precision", 18)
        scale = metadata.get("scale", 0 if kind == "Number" else 2)
        if not (isinstance(precision, int) and isinstance(scale, int)
                and 1 <= precision <= 18 and 0 <= scale <= precision):
            raise FieldProblem("FIELD_INTEGRITY_EXCEPTION",
                               "Length and Decimal Places must add up to at most 18")
        base = replace(base, precision=precision, scale=scale)
    if kind == "Checkbox":
        base = replace(base, nillable=False,
                     default=str(metadata.get("defaultValue", "false")).lower() == "true")
    if kind in ("Picklist", "MultiselectPicklist"):
        base = _picklist(base, metadata)
    return base


def _help_text(metadata: Mapping[str, Any]) -> str | None:
    """``inlineHelpText``: at most 510 characters (Metadata API, CustomField)."""
    text = metadata.get("inlineHelpText")
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > MAX_HELP_TEXT:
        raise FieldProblem("FIELD_INTEGRITY_EXCEPTION",
                           f"Help Text: at most {MAX_HELP_TEXT} characters")
    return text


def metadata_of(definition: FieldDef) -> dict[str, Any]:
    """Metadata describing an existing field (for the org's own custom fields)."""
    if definition.type == "textarea":
        kind = "LongTextArea" if definition.length > FIXED_LENGTHS["TextArea"] else "TextArea"
    else:
        kind = DESCRIBE_TO_METADATA[definition.type]
    metadata: dict[str, Any] = {"label": definition.label, "type": kind,
                                "required": not definition.nillable
                                and definition.type != "boolean"}
    if kind in ("Text", "LongTextArea"):
        metadata["length"] = definition.length
    if kind in ("Number", "Currency"):
        metadata.update(precision=definition.precision, scale=definition.scale)
    if kind == "Checkbox":
        metadata["defaultValue"] = "true" if definition.default else "false"
    if definition.visible_lines is not None:
        metadata["visibleLines"] = definition.visible_lines
    if definition.help_text is not None:
        metadata["inlineHelpText"] = definition.help_text
    if definition.picklist:
        metadata["valueSet"] = {"restricted": definition.restricted, "valueSetDefinition": {
            "sorted": False,
            "value": [{"fullName": v.value, "default": v.default, "label": v.label}
                      for v in definition.picklist],
        }}
    return metadata


def _picklist(base: FieldDef, metadata: Mapping[str, Any]) -> FieldDef:
    value_set = metadata.get("valueSet") or {}
    values = value_set.get("valueSetDefinition", {}).get("value") or []
    if not values:
        raise FieldProblem("FIELD_INTEGRITY_EXCEPTION",
                           "Values: a picklist needs a valueSet with at least one value")
    entries: list[PicklistValue] = []
    for value in values:
        api_name = str(value.get("fullName") or "").strip()
        if not api_name:
            raise FieldProblem("FIELD_INTEGRITY_EXCEPTION",
                               "Values: every picklist value needs a fullName")
        if any(e.value.lower() == api_name.lower() for e in entries):
            raise FieldProblem("DUPLICATE_VALUE",
                               f"Values: duplicate picklist value {api_name}")
        entries.append(PicklistValue(api_name, str(value.get("label") or api_name),
                                     default=bool(value.get("default"))))
    default = next((e.value for e in entries if e.default), None)
    return replace(base, picklist=tuple(entries), restricted=bool(value_set.get("restricted")),
                 default=default if base.type == "picklist" else None)
