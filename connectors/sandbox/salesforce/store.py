"""In-memory state of the sandbox Salesforce org: schema, records, recycle bin, permissions.

All state sits behind one re-entrant lock, so a handler can hold ``transaction()`` across a
read-validate-write sequence (a Collections request, a Bulk job) while a test, playing a person
in the org, edits records from another thread. Field-level security is derived, never cached:
a custom field is visible to the integration user exactly when a live ``FieldPermissions``
record with ``PermissionsRead`` on a permission set assigned to that user names it, so granting
through the API and revoking from a test act on the same records.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from connectors.sandbox.salesforce import ids
from connectors.sandbox.salesforce.field_metadata import metadata_of
from connectors.sandbox.salesforce.schema import (
    CUSTOM_FIELD_PREFIX,
    DEFAULT_MEMBER_STATUSES,
    OBJECTS,
    SETUP_PERMISSIONS,
    FieldDef,
    ObjectSchema,
)
from connectors.sandbox.salesforce.values import from_json, to_json
from connectors.sandbox.timestamps import wall_clock_ms

FIRST_RECORD_NUMBER = 20_000_000_000
"""Where id counters start: six base-62 digits, so ids mix upper- and lower-case characters
(and carry a checksum other than "AAA") from the first record on, like real ones."""

USERNAME = "integration@segsync-sandbox.example"
PERMISSION_SET_NAME = "Segsync_Integration"
PROFILE_PERMISSION_SET_NAME = "X00e5g000001SbXzAAK"
"""The permission set Salesforce keeps for the integration user's profile (named ``X`` and the
profile's id, ``IsOwnedByProfile``): the profile's user permissions live there."""
ObjectPermission = Literal["create", "edit", "delete"]


@dataclass
class SObjectRecord:
    """One record. ``values`` holds stored fields by API name; computed ones are derived."""

    id: str
    sobject: str
    values: dict[str, Any]
    deleted_ms: int | None = None


@dataclass
class CustomFieldRecord:
    """A custom field as the Tooling and Metadata APIs know it (Metadata API vocabulary)."""

    id: str
    sobject: str
    developer_name: str
    metadata: dict[str, Any]
    created_ms: int
    modified_ms: int

    @property
    def full_name(self) -> str:
        """``Contact.Segment__c``."""
        return f"{self.sobject}.{self.developer_name}__c"


class SalesforceStore:
    """The org's data. Public methods are safe to call from tests while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clock_ms = wall_clock_ms
        self._schemas = {d.name.lower(): ObjectSchema(d) for d in OBJECTS}
        self._records: dict[str, dict[str, SObjectRecord]] = {d.name: {} for d in OBJECTS}
        self._by_id: dict[str, SObjectRecord] = {}
        self._counters: dict[str, int] = {}
        self._custom_fields: dict[str, CustomFieldRecord] = {}
        self._memberships: dict[tuple[str, str], str] = {}
        self._journal: dict[str, SObjectRecord | None] | None = None
        self._revoked: set[tuple[str, ObjectPermission]] = set()
        self.user_id = ""
        self._bootstrap(self._clock_ms())

    def _bootstrap(self, now: int) -> None:
        """The integration user, its one permission set, and that set's grants on the custom
        fields the org starts with (registered as custom fields, as if an admin made them)."""
        user = self.insert("User", {
            "Username": USERNAME, "FirstName": "Segsync", "LastName": "Integration",
            "Email": USERNAME, "IsActive": True,
        }, now)
        self.user_id = user.id
        user.values.update({"CreatedById": user.id, "LastModifiedById": user.id})
        self.permission_set_id = self.insert("PermissionSet", {
            "Name": PERMISSION_SET_NAME, "Label": "Segsync Integration",
            "Description": "Field and object access for the segsync integration user.",
            "IsOwnedByProfile": False,
        }, now).id
        self.insert("PermissionSetAssignment", {
            "AssigneeId": self.user_id, "PermissionSetId": self.permission_set_id,
        }, now)
        self.profile_permission_set_id = self.insert("PermissionSet", {
            "Name": PROFILE_PERMISSION_SET_NAME, "Label": "Segsync Integration Profile",
            "IsOwnedByProfile": True, **dict.fromkeys(SETUP_PERMISSIONS, True),
        }, now).id
        self.insert("PermissionSetAssignment", {
            "AssigneeId": self.user_id, "PermissionSetId": self.profile_permission_set_id,
        }, now)
        for schema in self._schemas.values():
            for definition in [f for f in schema.fields.values() if f.custom]:
                developer_name = definition.name.removesuffix("__c")
                self.put_custom_field(schema.name, developer_name, metadata_of(definition),
                                      definition)
                self.insert("FieldPermissions", {
                    "ParentId": self.permission_set_id, "SobjectType": schema.name,
                    "Field": f"{schema.name}.{definition.name}", "PermissionsRead": True,
                    "PermissionsEdit": True,
                }, now)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the state lock across several calls so they apply as one unit."""
        with self._lock:
            yield

    def now_ms(self) -> int:
        """The org's clock, in epoch milliseconds."""
        return self._clock_ms()

    # -- schema ----------------------------------------------------------------------------

    def schema(self, sobject: str) -> ObjectSchema | None:
        """The live schema of an object named in any letter case, or None."""
        return self._schemas.get(sobject.lower())

    def known_schema(self, sobject: str) -> ObjectSchema:
        """The schema of an object a caller (a test, a handler) must have spelled right."""
        schema = self.schema(sobject)
        if schema is None:
            raise KeyError(f"no sObject type {sobject!r}")
        return schema

    def user_holds(self, permission: str) -> bool:
        """Whether a permission set assigned to the integration user, its profile's own
        included, enables the user permission (``PermissionsViewSetup`` ...)."""
        with self._lock:
            held = [self.get(assignment.values["PermissionSetId"])
                    for assignment in self.rows("PermissionSetAssignment")
                    if assignment.values["AssigneeId"] == self.user_id]
            return any(found is not None and found.values.get(permission) for found in held)

    def field_visible(self, sobject: str, field: str) -> bool:
        """Whether the integration user can read the field (field-level security)."""
        return self._permission(sobject, field, "PermissionsRead")

    def field_editable(self, sobject: str, field: str) -> bool:
        """Whether the integration user can write the field (field-level security)."""
        return self._permission(sobject, field, "PermissionsEdit")

    def visible_fields(self, schema: ObjectSchema) -> list[FieldDef]:
        """The fields describe and SOQL show the integration user, in schema order."""
        return [f for f in schema.fields.values() if self.field_visible(schema.name, f.name)]

    def revoke_field_permission(self, sobject: str, field: str) -> None:
        """An admin removes the field from every permission set (FieldPermissions are not
        recycled: they are gone)."""
        with self._lock:
            for record in self._granting(sobject, field):
                self._purge(record)

    def revoke_object_permission(self, sobject: str, permission: ObjectPermission) -> None:
        """An admin takes Create, Edit or Delete on an object away from the integration user.
        Only describe shows it (``createable``, ``updateable``, ``deletable`` false): writes
        are still carried out, as the sandbox does not model object permissions further."""
        with self._lock:
            self._revoked.add((self.known_schema(sobject).name, permission))

    def object_permitted(self, sobject: str, permission: ObjectPermission) -> bool:
        """Whether the integration user holds ``permission`` on the object."""
        with self._lock:
            return (self.known_schema(sobject).name, permission) not in self._revoked

    def _permission(self, sobject: str, field: str, permission: str) -> bool:
        with self._lock:
            definition = self.known_schema(sobject).field(field)
            if definition is None:
                return False
            if not definition.custom:
                return True
            return any(record.values.get(permission) for record in self._granting(sobject, field))

    def _granting(self, sobject: str, field: str) -> list[SObjectRecord]:
        """Live FieldPermissions naming the field on a permission set the user holds."""
        assigned = {r.values["PermissionSetId"] for r in self.rows("PermissionSetAssignment")
                    if r.values["AssigneeId"] == self.user_id}
        schema = self.known_schema(sobject)
        definition = schema.field(field)
        name = f"{schema.name}.{definition.name if definition else field}".lower()
        return [r for r in self.rows("FieldPermissions")
                if r.values["ParentId"] in assigned and str(r.values["Field"]).lower() == name]

    # -- custom field registry -------------------------------------------------------------

    def custom_field(self, full_name: str) -> CustomFieldRecord | None:
        """The custom field ``Object.Name__c`` (any letter case), or None."""
        return self._custom_fields.get(full_name.lower())

    def custom_field_by_id(self, field_id: str) -> CustomFieldRecord | None:
        """The custom field with this Tooling API id, or None."""
        wanted = ids.normalise(field_id)
        return next((c for c in self._custom_fields.values() if c.id == wanted), None)

    def custom_fields(self) -> list[CustomFieldRecord]:
        """Every custom field, in creation order."""
        return list(self._custom_fields.values())

    def put_custom_field(self, sobject: str, developer_name: str, metadata: dict[str, Any],
                         definition: FieldDef) -> CustomFieldRecord:
        """Create or replace a custom field: its metadata and its place in the schema."""
        with self._lock:
            schema = self.known_schema(sobject)
            full_name = f"{schema.name}.{developer_name}__c".lower()
            now = self._clock_ms()
            existing = self._custom_fields.get(full_name)
            if existing is None:
                existing = CustomFieldRecord(self.new_id(CUSTOM_FIELD_PREFIX), schema.name,
                                             developer_name, {}, now, now)
                self._custom_fields[full_name] = existing
            existing.metadata = copy.deepcopy(metadata)
            existing.modified_ms = now
            schema.put(definition)
            return existing

    def delete_custom_field(self, record: CustomFieldRecord) -> None:
        """Remove a custom field, its values and its permissions."""
        with self._lock:
            schema = self.known_schema(record.sobject)
            name = f"{record.developer_name}__c"
            for permission in self._granting(record.sobject, name):
                self._purge(permission)
            schema.remove(name)
            for row in self._records[schema.name].values():
                row.values.pop(name, None)
            del self._custom_fields[record.full_name.lower()]

    # -- records ---------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """The next id for a key prefix."""
        with self._lock:
            number = self._counters.get(prefix, FIRST_RECORD_NUMBER)
            self._counters[prefix] = number + 1
            return ids.make_id(prefix, number)

    @contextmanager
    def savepoint(self) -> Iterator[Callable[[], None]]:
        """Hold the lock and yield a ``rollback()`` that puts every record saved, created or
        deleted since back as it was (an ``allOrNone`` request that failed). Only touched
        records are remembered, so a savepoint costs nothing on a large org. Ids issued in
        between stay used, as on a real org."""
        with self._lock:
            outer, self._journal = self._journal, {}
            journal = self._journal

            def rollback() -> None:
                for record_id, before in journal.items():
                    current = self._by_id.get(record_id)
                    if current is not None and current.sobject == "CampaignMember":
                        self._memberships.pop(_membership(current), None)
                    if before is None:
                        self._forget(record_id)
                        continue
                    self._records[before.sobject][record_id] = before
                    self._by_id[record_id] = before
                    if before.sobject == "CampaignMember" and before.deleted_ms is None:
                        self._memberships[_membership(before)] = record_id
                journal.clear()

            try:
                yield rollback
            finally:
                self._journal = outer

    def _remember(self, record_id: str, record: SObjectRecord | None) -> None:
        """Note a record's state before its first change under the open savepoint."""
        if self._journal is not None and record_id not in self._journal:
            self._journal[record_id] = copy.deepcopy(record)

    def _forget(self, record_id: str) -> None:
        record = self._by_id.pop(record_id)
        del self._records[record.sobject][record_id]

    def membership(self, campaign_id: str, person_id: str) -> SObjectRecord | None:
        """The live CampaignMember of a contact or lead in a campaign (indexed: segment syncs
        add thousands of members, one uniqueness check each)."""
        member_id = self._memberships.get((campaign_id, person_id))
        return self._by_id.get(member_id) if member_id is not None else None

    def get(self, record_id: str) -> SObjectRecord | None:
        """The record with this id (15 or 18 characters), deleted or not; None if unknown."""
        id18 = ids.normalise(record_id)
        return self._by_id.get(id18) if id18 is not None else None

    def rows(self, sobject: str, include_deleted: bool = False) -> list[SObjectRecord]:
        """Records of a type in id (creation) order; call inside ``transaction()``."""
        records = self._records[self.known_schema(sobject).name].values()
        return [r for r in records if include_deleted or r.deleted_ms is None]

    def value(self, record: SObjectRecord, name: str) -> Any:
        """A field's stored or derived value (``name`` canonical)."""
        if name == "Id":
            return record.id
        if name == "IsDeleted":
            return record.deleted_ms is not None
        if name == "Name" and record.sobject in ("Contact", "Lead", "User"):
            parts = (record.values.get("FirstName"), record.values.get("LastName"))
            return " ".join(p for p in parts if p) or None
        if name in ("NumberOfContacts", "NumberOfLeads"):
            link = "ContactId" if name == "NumberOfContacts" else "LeadId"
            return sum(1 for m in self.rows("CampaignMember")
                       if m.values.get("CampaignId") == record.id and m.values.get(link))
        return record.values.get(name)

    def insert(self, sobject: str, values: Mapping[str, Any], created_ms: int | None = None,
               modified_ms: int | None = None) -> SObjectRecord:
        """Store a new record as given (validation is the API's job) with its audit fields."""
        with self._lock:
            schema = self.known_schema(sobject)
            now = self._clock_ms()
            created = now if created_ms is None else created_ms
            modified = max(created, now if modified_ms is None else modified_ms)
            record = SObjectRecord(self.new_id(schema.definition.key_prefix), schema.name, {})
            self._remember(record.id, None)
            record.values.update({k: v for k, v in values.items() if v is not None})
            for definition in schema.fields.values():  # read-only ones too: IsConverted
                if definition.default is not None and definition.name not in record.values:
                    record.values[definition.name] = definition.default
            record.values.update({
                "CreatedDate": created, "CreatedById": self._actor(),
                "LastModifiedDate": modified, "LastModifiedById": self._actor(),
                "SystemModstamp": modified,
            })
            if schema.field("OwnerId") is not None:
                record.values.setdefault("OwnerId", self._actor())
            self._records[schema.name][record.id] = record
            self._by_id[record.id] = record
            if schema.name == "CampaignMember":
                self._memberships[_membership(record)] = record.id
            if schema.name == "Campaign":
                self._add_default_member_statuses(record, created)
            return record

    def write(self, record: SObjectRecord, values: Mapping[str, Any]) -> None:
        """Apply values (None clears) and stamp the save: every save moves ``SystemModstamp``
        and ``LastModifiedDate``, by at least 1 ms so two quick saves never share one."""
        with self._lock:
            self._remember(record.id, record)
            for name, value in values.items():
                if value is None:
                    record.values.pop(name, None)
                else:
                    record.values[name] = value
            stamp = max(self._clock_ms(), record.values["SystemModstamp"] + 1)
            record.values.update({"LastModifiedDate": stamp, "SystemModstamp": stamp,
                                  "LastModifiedById": self._actor()})

    def soft_delete(self, record: SObjectRecord) -> None:
        """Move a record to the recycle bin (``IsDeleted``, ``queryAll`` and ``deleted`` still
        see it) with what Salesforce deletes along: a contact's, lead's or campaign's members,
        and a campaign's member statuses."""
        with self._lock:
            self._remember(record.id, record)
            now = self._clock_ms()
            record.deleted_ms = now
            if record.sobject == "CampaignMember":
                self._memberships.pop(_membership(record), None)
            record.values["SystemModstamp"] = max(now, record.values["SystemModstamp"] + 1)
            link = {"Contact": "ContactId", "Lead": "LeadId", "Campaign": "CampaignId"}.get(
                record.sobject)
            if link is None:
                return
            children = ["CampaignMember"] + (["CampaignMemberStatus"]
                                             if record.sobject == "Campaign" else [])
            for child_type in children:
                for child in self.rows(child_type):
                    if child.values.get(link) == record.id:
                        self.soft_delete(child)

    def _purge(self, record: SObjectRecord) -> None:
        """Remove a record for good (objects without a recycle bin)."""
        self._remember(record.id, record)
        self._forget(record.id)

    def _actor(self) -> str:
        """Who saves: the integration user (the API and, for simplicity, people in tests)."""
        return self.user_id

    def _add_default_member_statuses(self, campaign: SObjectRecord, created_ms: int) -> None:
        for order, (label, responded, default) in enumerate(DEFAULT_MEMBER_STATUSES, start=1):
            self.insert("CampaignMemberStatus", {
                "CampaignId": campaign.id, "Label": label, "SortOrder": order,
                "IsDefault": default, "HasResponded": responded,
            }, created_ms)

    # -- test helpers: a person working in the org -----------------------------------------

    def record(self, sobject: str, record_id: str) -> dict[str, Any]:
        """Every field of a record (hidden ones included) as REST JSON would show it; KeyError
        when the id is not a record of that type (deleted records are still returned)."""
        with self._lock:
            record = self._known(sobject, record_id)
            schema = self.known_schema(sobject)
            return {d.name: to_json(d, self.value(record, d.name))
                    for d in schema.fields.values()}

    def set_fields(self, sobject: str, record_id: str, values: Mapping[str, Any]) -> None:
        """A person's edit in the UI: values in REST JSON form (None clears); bumps
        ``SystemModstamp``. Unknown fields raise, so a typo in a test fails loudly."""
        with self._lock:
            record = self._known(sobject, record_id)
            schema = self.known_schema(sobject)
            stored: dict[str, Any] = {}
            for name, value in values.items():
                definition = schema.field(name)
                if definition is None or definition.computed or definition.name == "Id":
                    raise ValueError(f"{sobject} has no settable field {name!r}")
                stored[definition.name] = from_json(definition, value)
            self.write(record, stored)

    def delete(self, sobject: str, record_id: str) -> None:
        """A person deletes a record: it goes to the recycle bin."""
        with self._lock:
            self.soft_delete(self._known(sobject, record_id))

    def convert_lead(self, lead_id: str, contact_id: str | None = None) -> str:
        """A person converts a lead (Salesforce's ``convertLead``); the contact's id.

        Without ``contact_id`` a new contact is made from the lead (name, e-mail, title, source,
        opt-out, city and country, and the custom fields both objects have, as an admin maps
        them) under a new account named after its company; with one, the lead is attached to
        that existing contact, whose values stay as they are (sandbox choice). Salesforce's
        "Considerations for Converting Leads": the lead's campaign members move to the contact
        (they keep ``LeadId`` and gain ``ContactId``) and the lead becomes read-only, with
        ``IsConverted``, ``ConvertedContactId``, ``ConvertedAccountId`` and ``ConvertedDate``
        set. Where the contact is already a member of the campaign, the contact's member stays
        and the lead's goes: one member per campaign and person (which one Salesforce keeps is
        not documented). KeyError for an unknown, deleted or converted lead or contact.
        """
        with self._lock:
            lead = self._known("Lead", lead_id)
            if lead.deleted_ms is not None or lead.values.get("IsConverted"):
                raise KeyError(f"lead {lead_id!r} is deleted or converted")
            now = self._clock_ms()
            if contact_id is None:
                contact = self._contact_from_lead(lead, now)
            else:
                contact = self._known("Contact", contact_id)
                if contact.deleted_ms is not None:
                    raise KeyError(f"contact {contact_id!r} is deleted")
                self.write(contact, {})
            self._move_members(lead, contact, "ContactId")
            self.write(lead, {
                "IsConverted": True, "Status": "Closed - Converted",
                "ConvertedContactId": contact.id,
                "ConvertedAccountId": contact.values.get("AccountId"),
                "ConvertedDate": time.strftime("%Y-%m-%d", time.gmtime(now / 1000)),
            })
            return contact.id

    def merge(self, sobject: str, master_id: str, *merged_ids: str) -> None:
        """A person merges up to two duplicates of a contact or lead into ``master_id``.

        Salesforce's ``merge()`` (SOAP API reference; Apex "Merging Records" and "Triggers and
        Merge Statements"): up to three records of one type become one; the master keeps its
        values and is saved (an update: ``SystemModstamp`` moves); the others are deleted,
        to the recycle bin where only ``queryAll`` sees them, with ``MasterRecordId`` set to
        the master; their related records, campaign members included, are reparented to the
        master. Where the master is already a member of a campaign, its member stays and the
        duplicate's goes, as for a conversion (see ``convert_lead``). KeyError for an id that
        is not a live record of that type, or a converted lead; ValueError for more than two
        duplicates or the master named among them.
        """
        if len(merged_ids) > 2 or master_id in merged_ids:
            raise ValueError("merge takes a master and one or two other records")
        link = {"Contact": "ContactId", "Lead": "LeadId"}[self.known_schema(sobject).name]
        with self._lock:
            master, *merged = (self._mergeable(sobject, i) for i in (master_id, *merged_ids))
            for duplicate in merged:
                self._move_members(duplicate, master, link)
                self._remember(duplicate.id, duplicate)
                duplicate.values["MasterRecordId"] = master.id
                self.soft_delete(duplicate)
            self.write(master, {})

    def _mergeable(self, sobject: str, record_id: str) -> SObjectRecord:
        record = self._known(sobject, record_id)
        if record.deleted_ms is not None or record.values.get("IsConverted"):
            raise KeyError(f"{sobject} {record_id!r} is deleted or converted")
        return record

    def _move_members(self, person: SObjectRecord, to: SObjectRecord, link: str) -> None:
        """Give ``person``'s campaign members to ``to`` by setting ``link`` (``ContactId``,
        ``LeadId``) on them; in a campaign ``to`` is already a member of, the member goes."""
        for member in self.rows("CampaignMember"):
            if person.id not in (member.values.get("ContactId"), member.values.get("LeadId")):
                continue
            campaign = member.values["CampaignId"]
            if self.membership(campaign, to.id) is not None:
                self.soft_delete(member)
                continue
            del self._memberships[_membership(member)]
            self.write(member, {link: to.id})
            self._memberships[_membership(member)] = member.id

    def _contact_from_lead(self, lead: SObjectRecord, now: int) -> SObjectRecord:
        """The account and contact a conversion creates from a lead's values."""
        values = lead.values
        account = self.insert("Account", {
            "Name": values["Company"], "Industry": values.get("Industry"),
            "NumberOfEmployees": values.get("NumberOfEmployees"),
            "AnnualRevenue": values.get("AnnualRevenue"),
            "BillingCity": values.get("City"), "BillingCountry": values.get("Country"),
        }, now)
        lead_schema, contact_schema = self.known_schema("Lead"), self.known_schema("Contact")
        mapped = {name: value for name, value in values.items()
                  if (definition := lead_schema.field(name)) is not None and definition.custom
                  and contact_schema.field(name) is not None}
        return self.insert("Contact", {
            **mapped, "AccountId": account.id, "FirstName": values.get("FirstName"),
            "LastName": values["LastName"], "Email": values.get("Email"),
            "Title": values.get("Title"), "LeadSource": values.get("LeadSource"),
            "HasOptedOutOfEmail": values.get("HasOptedOutOfEmail", False),
            "MailingCity": values.get("City"), "MailingCountry": values.get("Country"),
        }, now)

    def campaign_by_name(self, name: str) -> dict[str, Any] | None:
        """The live campaign with this exact name as REST JSON shows it, or None."""
        with self._lock:
            match = next((c for c in self.rows("Campaign") if c.values.get("Name") == name), None)
            return self.record("Campaign", match.id) if match is not None else None

    def campaign_members(self, campaign_id: str) -> set[str]:
        """The contact and lead ids of a campaign's live members."""
        with self._lock:
            campaign = self._known("Campaign", campaign_id)
            return {m.values.get("ContactId") or m.values["LeadId"]
                    for m in self.rows("CampaignMember")
                    if m.values["CampaignId"] == campaign.id}

    def _known(self, sobject: str, record_id: str) -> SObjectRecord:
        record = self.get(record_id)
        if record is None or record.sobject != self.known_schema(sobject).name:
            raise KeyError(f"no {sobject} with id {record_id!r}")
        return record


def _membership(member: SObjectRecord) -> tuple[str, str]:
    """(campaign id, contact or lead id) of a CampaignMember."""
    values = member.values
    return values["CampaignId"], values.get("ContactId") or values["LeadId"]
