"""Saving one record the way Salesforce does: decode, check, then write — or a per-record error.

REST (one record), sObject Collections (up to 200, each with its own result) and Bulk API 2.0
(one result row per CSV row) all save through ``RecordWriter``, so a rule holds the same on
every path. Checks run in Salesforce's order and the first failure is the record's error:
the record's own id, an injected lock error, field access, required fields, each value
(restricted picklists, lengths, e-mail addresses, lookups), then the object's own rules
(one campaign member per campaign and person, one FieldPermissions per set and field).

Sources for the texts: captures from real orgs (palominolabs' sf-api-connector tests,
amp-labs' Salesforce fixtures, integrators' error reports); each rule below names its kind of
evidence, and "sandbox text" marks wording that was not found.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from connectors.sandbox.salesforce import ids
from connectors.sandbox.salesforce.errors import RecordError, RecordFailure, RestError
from connectors.sandbox.salesforce.schema import SETUP_PERMISSIONS, FieldDef, ObjectSchema
from connectors.sandbox.salesforce.store import SalesforceStore, SObjectRecord
from connectors.sandbox.salesforce.values import ValueProblem, from_json

Operation = Literal["create", "update", "delete"]
INJECTABLE_ERRORS = frozenset({"UNABLE_TO_LOCK_ROW"})
ID_KEYS = ("id", "Id")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class DecodedRecord:
    """A record from a request, its values typed and keyed by canonical field name.

    ``error`` is a problem found while decoding that fails this record only (a field the
    user cannot see is "no such column" for that record, not for the request).
    """

    schema: ObjectSchema
    record_id: str | None
    values: dict[str, Any]
    error: RecordError | None = None


def no_such_column(schema: ObjectSchema, name: str) -> RecordError:
    """A write naming an unknown or invisible field (captured, amp-labs fixtures)."""
    return RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type "
                       f"{schema.name}")


def decode_json(store: SalesforceStore, schema: ObjectSchema,
                raw: Mapping[str, Any]) -> DecodedRecord:
    """A REST JSON record (``attributes`` and ``id`` aside). A value JSON of the wrong kind
    fails the whole request, as Salesforce's deserialiser does (message: sandbox text
    modelled on its Jackson errors)."""
    record_id = next((str(raw[k]) for k in ID_KEYS if raw.get(k) is not None), None)
    values: dict[str, Any] = {}
    error: RecordError | None = None
    for name, value in raw.items():
        if name == "attributes" or name in ID_KEYS:
            continue
        definition = schema.field(name)
        if definition is None or not store.field_visible(schema.name, definition.name):
            error = error or no_such_column(schema, name)
            continue
        try:
            values[definition.name] = from_json(definition, value)
        except ValueProblem as problem:
            raise RestError(400, "JSON_PARSER_ERROR", (
                f"Cannot deserialize instance of {_soap_name(definition)} from "
                f"{problem.kind} value {value} or request may be missing a required field"
            )) from problem
    return DecodedRecord(schema, record_id, values, error)


class RecordErrorInjector:
    """Per-record failures a test asked for: the next ``count`` saves fail with ``code``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[list[Any]] = []

    def add(self, code: str, count: int) -> None:
        """Queue failures; only codes Salesforce raises per record on a healthy request."""
        if code not in INJECTABLE_ERRORS:
            raise ValueError(f"unsupported record error {code!r}; use one of "
                             f"{sorted(INJECTABLE_ERRORS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._pending.append([code, count])

    def take(self) -> str | None:
        """The code the next save fails with, if any."""
        with self._lock:
            if not self._pending:
                return None
            entry = self._pending[0]
            entry[1] -= 1
            if entry[1] == 0:
                self._pending.pop(0)
            return str(entry[0])


class RecordWriter:
    """Validates and applies saves against one store. Call inside ``store.transaction()``."""

    def __init__(self, store: SalesforceStore, injector: RecordErrorInjector) -> None:
        self._store = store
        self._injector = injector

    def create(self, decoded: DecodedRecord) -> str:
        """Insert the record; its new id, or RecordFailure."""
        schema = decoded.schema
        self._object_allows(schema, "create")
        if decoded.error is not None:
            raise RecordFailure(decoded.error)
        if decoded.record_id is not None:
            raise RecordFailure(RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "cannot specify Id in an insert call", ("Id",)))  # sandbox text
        self._injected(decoded.values.get("CampaignId", ""))
        values = self._checked(schema, None, decoded.values)
        return self._store.insert(schema.name, values).id

    def update(self, decoded: DecodedRecord) -> str:
        """Save changes to an existing record; its 18-character id, or RecordFailure."""
        schema = decoded.schema
        self._object_allows(schema, "update")
        if decoded.record_id is None:
            raise RecordFailure(RecordError(  # captured (amp-labs fixtures)
                "MISSING_ARGUMENT", "Id not specified in an update call"))
        record = self.existing(schema, decoded.record_id)
        if record.values.get("IsConverted"):  # code documented, text as Marketo's docs cite it
            raise RecordFailure(RecordError("CANNOT_UPDATE_CONVERTED_LEAD",
                                            "cannot reference converted lead"))
        if decoded.error is not None:
            raise RecordFailure(decoded.error)
        self._injected(record.id)
        values = self._checked(schema, record, decoded.values)
        self._store.write(record, values)
        return record.id

    def delete(self, schema: ObjectSchema | None, record_id: str) -> str:
        """Move a record to the recycle bin; its id, or RecordFailure. With no ``schema``
        (Collections DELETE takes bare ids) the id's key prefix decides the type."""
        record = self.existing(schema, record_id)
        owner = self._store.known_schema(record.sobject)
        self._object_allows(owner, "delete")
        self._injected(record.id)
        self._store.soft_delete(record)
        return record.id

    def existing(self, schema: ObjectSchema | None, record_id: str) -> SObjectRecord:
        """The live record an update or delete names, or the error Salesforce gives:
        MALFORMED_ID for a non-id or an id of another type (captured text), INVALID_CROSS_
        REFERENCE_KEY for an id nobody has (captured from a real org), ENTITY_IS_DELETED
        for a record in the recycle bin (captured)."""
        id18 = ids.normalise(record_id)
        prefix_ok = schema is None or (id18 or "").startswith(schema.definition.key_prefix)
        if id18 is None or not prefix_ok:
            label = f"{schema.definition.label} ID" if schema is not None else "Record ID"
            raise RecordFailure(RecordError(
                "MALFORMED_ID", f"{label}: id value of incorrect type: {record_id}", ("Id",)))
        record = self._store.get(id18)
        if record is None:
            raise RecordFailure(RecordError("INVALID_CROSS_REFERENCE_KEY",
                                            "invalid cross reference id"))
        if record.deleted_ms is not None:
            raise RecordFailure(RecordError("ENTITY_IS_DELETED", "entity is deleted"))
        return record

    def _object_allows(self, schema: ObjectSchema, operation: Operation) -> None:
        allowed = {"create": schema.definition.createable,
                   "update": schema.definition.updateable,
                   "delete": schema.definition.deletable}[operation]
        if not allowed:
            raise RecordFailure(RecordError(  # the code is real; the wording sandbox text
                "INVALID_TYPE_FOR_OPERATION",
                f"entity type {schema.name} does not support {operation}"))

    def _injected(self, subject: str) -> None:
        code = self._injector.take()
        if code is not None:  # UNABLE_TO_LOCK_ROW text as commonly reported
            raise RecordFailure(RecordError(
                code, f"unable to obtain exclusive access to this record or 1 records: "
                      f"{subject}"))

    def _checked(self, schema: ObjectSchema, record: SObjectRecord | None,
                 values: Mapping[str, Any]) -> dict[str, Any]:
        """Values after every field and object rule, ready to store."""
        creating = record is None
        definitions = [schema.field(name) for name in values]
        locked = [d.name for d in definitions if d is not None and (
            not (d.createable if creating else d.updateable)
            or not self._store.field_editable(schema.name, d.name))]
        if locked:  # wording as commonly reported for FLS read-only fields
            raise RecordFailure(RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(locked)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.", tuple(locked)))
        missing = [d.name for d in schema.fields.values() if d.required and (
            (values.get(d.name) is None and d.default is None) if creating
            else (d.name in values and values[d.name] is None))]
        if missing:  # captured wording (amp-labs fixtures)
            raise RecordFailure(RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                tuple(missing)))
        for definition in definitions:
            assert definition is not None  # decoding kept known fields only
            value = values[definition.name]
            if value is not None:
                self._check_value(definition, value)
        checked = dict(values)
        if schema.name == "CampaignMember":
            checked = self._campaign_member(record, checked)
        elif schema.name == "FieldPermissions":
            self._field_permissions(record, checked)
        elif schema.name == "CampaignMemberStatus" and creating:
            self._member_status(checked)
        return checked

    def _check_value(self, definition: FieldDef, value: Any) -> None:
        label = definition.label
        if definition.type in ("picklist", "multipicklist") and definition.restricted:
            allowed = {v.value for v in definition.picklist if v.active}
            parts = str(value).split(";") if definition.type == "multipicklist" else [value]
            for part in parts:
                if part not in allowed:  # captured wording (several integrations)
                    raise RecordFailure(RecordError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{label}: bad value for restricted picklist field: {part}",
                        (definition.name,)))
        if definition.length and isinstance(value, str) and len(value) > definition.length:
            raise RecordFailure(RecordError(  # code real; wording as commonly reported
                "STRING_TOO_LONG",
                f"{label}: data value too large: {value[:40]} (max length={definition.length})",
                (definition.name,)))
        if definition.type == "email" and not _EMAIL.match(str(value)):
            raise RecordFailure(RecordError(  # code real; wording as commonly reported
                "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}",
                (definition.name,)))
        if definition.type == "reference":
            self._check_reference(definition, str(value))

    def _check_reference(self, definition: FieldDef, value: str) -> None:
        """A lookup must name a live record of its target type: MALFORMED_ID for a non-id,
        FIELD_INTEGRITY_EXCEPTION for another type's id (both: captured texts)."""
        message = f"{definition.label}: id value of incorrect type: {value}"
        id18 = ids.normalise(value)
        if id18 is None:
            raise RecordFailure(RecordError("MALFORMED_ID", message, (definition.name,)))
        target = self._store.get(id18)
        prefixes = {self._store.known_schema(t).definition.key_prefix
                    for t in definition.reference_to}
        if id18[:3] not in prefixes:
            raise RecordFailure(RecordError("FIELD_INTEGRITY_EXCEPTION", message,
                                            (definition.name,)))
        if target is None:
            raise RecordFailure(RecordError("INVALID_CROSS_REFERENCE_KEY",
                                            "invalid cross reference id", (definition.name,)))
        if target.deleted_ms is not None:
            raise RecordFailure(RecordError("ENTITY_IS_DELETED", "entity is deleted",
                                            (definition.name,)))

    def _campaign_member(self, record: SObjectRecord | None,
                         values: dict[str, Any]) -> dict[str, Any]:
        """One member per campaign and person (captured: DUPLICATE_VALUE "Already a campaign
        member."); the status must be one of the campaign's member statuses and defaults to
        its default one; ``HasResponded`` follows the status."""
        merged = {**(record.values if record else {}), **values}
        campaign_id = merged.get("CampaignId")
        person = merged.get("ContactId") or merged.get("LeadId")
        if record is None:
            if (merged.get("ContactId") and merged.get("LeadId")) or not person:
                raise RecordFailure(RecordError(  # sandbox text
                    "FIELD_INTEGRITY_EXCEPTION",
                    "A campaign member needs exactly one of ContactId and LeadId"))
            if self._store.membership(str(campaign_id), str(person)) is not None:
                raise RecordFailure(RecordError("DUPLICATE_VALUE", "Already a campaign member."))
        statuses = [s for s in self._store.rows("CampaignMemberStatus")
                    if s.values["CampaignId"] == campaign_id]
        status = merged.get("Status")
        if status is None:
            chosen = next((s for s in statuses if s.values.get("IsDefault")), None)
        else:
            chosen = next((s for s in statuses
                           if str(s.values["Label"]).lower() == str(status).lower()), None)
            if chosen is None:
                raise RecordFailure(RecordError(  # sandbox text
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Status: bad value for restricted picklist field: {status}", ("Status",)))
        if chosen is not None:
            values["Status"] = chosen.values["Label"]
            values["HasResponded"] = bool(chosen.values.get("HasResponded"))
        return values

    def _field_permissions(self, record: SObjectRecord | None, values: dict[str, Any]) -> None:
        """The user holds View Setup and Configuration and Manage Profiles and Permission Sets
        (``SETUP_PERMISSIONS``; the code is real, the text sandbox text); ``Field`` names an
        existing field of ``SobjectType``; one record per permission set and field
        (DUPLICATE_VALUE text as Salesforce words unique-index clashes); Edit needs Read
        (sandbox text)."""
        missing = missing_setup_permissions(
            self._store, ("PermissionsViewSetup", "PermissionsManageProfilesPermissionsets"))
        if missing:
            raise RecordFailure(RecordError(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                f"insufficient access rights: editing field permissions needs {missing}"))
        merged = {**(record.values if record else {}), **values}
        sobject, _, field_name = str(merged.get("Field", "")).partition(".")
        schema = self._store.schema(sobject)
        if (schema is None or schema.field(field_name) is None
                or sobject.lower() != str(merged.get("SobjectType", "")).lower()):
            raise RecordFailure(RecordError(
                "INVALID_FIELD", f"Field: bad value: {merged.get('Field')} is not a field of "
                f"{merged.get('SobjectType')}", ("Field",)))
        if merged.get("PermissionsEdit") and not merged.get("PermissionsRead"):
            raise RecordFailure(RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"Permission Read {merged['Field']} is required when Permission Edit is enabled",
                ("PermissionsRead",)))
        if record is None and any(
                p.values["ParentId"] == merged.get("ParentId")
                and str(p.values["Field"]).lower() == str(merged["Field"]).lower()
                for p in self._store.rows("FieldPermissions")):
            raise RecordFailure(RecordError(
                "DUPLICATE_VALUE",
                "duplicate value found: <unknown> duplicates value on record with id: <unknown>"))

    def _member_status(self, values: dict[str, Any]) -> None:
        """A campaign's member status labels are unique (sandbox text)."""
        if any(s.values["CampaignId"] == values.get("CampaignId")
               and str(s.values["Label"]).lower() == str(values.get("Label")).lower()
               for s in self._store.rows("CampaignMemberStatus")):
            raise RecordFailure(RecordError(
                "DUPLICATE_VALUE", f"Member status {values.get('Label')} already exists"))


def missing_setup_permissions(store: SalesforceStore, needed: Sequence[str]) -> str:
    """The names of the ``needed`` user permissions the integration user lacks, joined ("" when
    it holds them all)."""
    return " and ".join(SETUP_PERMISSIONS[p] for p in needed if not store.user_holds(p))


def _soap_name(definition: FieldDef) -> str:
    return {"boolean": "boolean", "double": "double", "currency": "double", "int": "int",
            "date": "date", "datetime": "datetime"}.get(definition.type, "String")
