"""The objects and fields of a fresh sandbox org, in Salesforce's describe vocabulary.

Field API names, types, lengths and key prefixes are Salesforce's (the standard objects'
reference); the custom fields (``__c``) are the ones segsync's segments read on a Contact or a
Lead, so the same segment can be written for HubSpot and Salesforce. A connector learns types
from ``describe``, so a wrong type here would teach it the wrong coercion.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from connectors.sandbox.seed import INDUSTRIES, LIFECYCLE_STAGES

FieldType = Literal[
    "id", "reference", "string", "textarea", "email", "phone", "picklist", "multipicklist",
    "boolean", "double", "int", "currency", "date", "datetime", "complexvalue",
]

SOAP_TYPES: dict[str, str] = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "double": "xsd:double",
    "currency": "xsd:double", "int": "xsd:int", "date": "xsd:date", "datetime": "xsd:dateTime",
}
"""describe's ``soapType`` per type; every other type is ``xsd:string``."""

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "picklist", "multipicklist"})
NUMBER_TYPES = frozenset({"double", "int", "currency"})
ID_TYPES = frozenset({"id", "reference"})


@dataclass(frozen=True)
class PicklistValue:
    """One picklist entry as describe reports it."""

    value: str
    label: str
    active: bool = True
    default: bool = False


@dataclass(frozen=True)
class FieldDef:
    """One field. ``custom`` fields are subject to field-level security (see the store).

    ``required`` means "must be given on create" (describe: not nillable, not defaulted);
    ``computed`` fields (a Contact's ``Name``) are derived, never stored.
    """

    name: str
    label: str
    type: FieldType
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    required: bool = False
    custom: bool = False
    computed: bool = False
    picklist: tuple[PicklistValue, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    visible_lines: int | None = None
    default: Any = None
    help_text: str | None = None
    """``inlineHelpText``: the help a person sees beside the field, set by its creator."""

    @property
    def system(self) -> bool:
        """Set by the platform only (Id, audit fields, computed values)."""
        return not self.createable and not self.updateable


@dataclass(frozen=True)
class ObjectDef:
    """One sObject type. ``fields`` is the initial schema; custom fields are added later."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    custom_fields_allowed: bool = False


def _text(name: str, label: str, length: int, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "string", length=length, **kw)


def _ref(name: str, label: str, target: str, relationship: str, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "reference", length=18, reference_to=(target,),
                    relationship_name=relationship, **kw)


def _number(name: str, label: str, precision: int = 18, scale: int = 0, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "double", precision=precision, scale=scale, **kw)


def _currency(name: str, label: str, precision: int = 18, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "currency", precision=precision, scale=2, **kw)


def _boolean(name: str, label: str, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "boolean", nillable=False, default=False, **kw)


def _picklist(name: str, label: str, values: list[tuple[str, str]], *, default: str | None = None,
              **kw: Any) -> FieldDef:
    entries = tuple(PicklistValue(value, text, default=value == default) for value, text in values)
    return FieldDef(name, label, "picklist", length=255, picklist=entries, default=default, **kw)


def _read_only(definition: FieldDef) -> FieldDef:
    return replace(definition, createable=False, updateable=False)


def _audit_fields() -> tuple[FieldDef, ...]:
    """The fields every object has, set by the platform."""
    return (
        _read_only(_boolean("IsDeleted", "Deleted")),
        _read_only(FieldDef("CreatedDate", "Created Date", "datetime", nillable=False)),
        _read_only(_ref("CreatedById", "Created By ID", "User", "CreatedBy", nillable=False)),
        _read_only(FieldDef("LastModifiedDate", "Last Modified Date", "datetime",
                            nillable=False)),
        _read_only(_ref("LastModifiedById", "Last Modified By ID", "User", "LastModifiedBy",
                        nillable=False)),
        _read_only(FieldDef("SystemModstamp", "System Modstamp", "datetime", nillable=False)),
    )


def _id_field(label: str) -> FieldDef:
    return FieldDef("Id", label, "id", length=18, nillable=False, createable=False,
                    updateable=False)


def _owner() -> FieldDef:
    return _ref("OwnerId", "Owner ID", "User", "Owner", nillable=False)


def _master_record(sobject: str) -> FieldDef:
    """Set on a record a merge deleted, to the record it lost to (Apex Developer Guide,
    "Triggers and Merge Statements": a record deleted after losing a merge has its
    ``MasterRecordId`` set to the id of the winning record); null on every other record."""
    return _read_only(_ref("MasterRecordId", "Master Record ID", sobject, "MasterRecord"))


def _full_name() -> FieldDef:
    return FieldDef("Name", "Full Name", "string", length=121, createable=False,
                    updateable=False, computed=True)


LEAD_SOURCES = [(v, v) for v in ("Web", "Phone Inquiry", "Partner Referral", "Purchased List",
                                 "Other")]
INDUSTRY_VALUES = [(name, name) for name, *_ in INDUSTRIES]
"""The sandbox org's Industry picklist: the seed's industries, as an admin would customise it."""
STAGE_VALUES = [(label, label) for _, label in LIFECYCLE_STAGES]
"""Lifecycle stages as Salesforce picklist values (API value = label, as admins usually do)."""
LEAD_STATUSES = [(v, v) for v in ("Open - Not Contacted", "Working - Contacted",
                                  "Closed - Converted", "Closed - Not Converted")]
CAMPAIGN_STATUSES = [(v, v) for v in ("Planned", "In Progress", "Completed", "Aborted")]
CAMPAIGN_TYPES = [(v, v) for v in ("Email", "Webinar", "Conference", "Advertisement", "Other")]


def _behaviour_fields(*, with_firmographics: bool) -> tuple[FieldDef, ...]:
    """The custom fields segments read. A Lead carries firmographics in standard fields, so
    only a Contact gets them as custom ones."""
    firmographics = (
        _picklist("Industry__c", "Industry", INDUSTRY_VALUES, custom=True),
        _number("Employees__c", "Employees", custom=True),
        _currency("Annual_Revenue__c", "Annual Revenue", custom=True),
    ) if with_firmographics else ()
    return firmographics + (
        _number("Email_Opens__c", "Email Opens", custom=True),
        _number("Purchases__c", "Purchases", custom=True),
        _currency("Total_Revenue__c", "Total Revenue", precision=16, custom=True),
        FieldDef("Last_Activity__c", "Last Activity", "datetime", custom=True),
        FieldDef("Last_Purchase_Date__c", "Last Purchase Date", "date", custom=True),
        _picklist("Lifecycle_Stage__c", "Lifecycle Stage", STAGE_VALUES, custom=True,
                  restricted=True),
    )


ACCOUNT = ObjectDef("Account", "Account", "Accounts", "001", (
    _id_field("Account ID"),
    _text("Name", "Account Name", 255, nillable=False, required=True),
    _picklist("Industry", "Industry", INDUSTRY_VALUES),
    FieldDef("NumberOfEmployees", "Employees", "int", digits=8),
    _currency("AnnualRevenue", "Annual Revenue"),
    _text("BillingCity", "Billing City", 40),
    _text("BillingCountry", "Billing Country", 80),
    FieldDef("Website", "Website", "string", length=255),
    _owner(),
    *_audit_fields(),
), custom_fields_allowed=True)

CONTACT = ObjectDef("Contact", "Contact", "Contacts", "003", (
    _id_field("Contact ID"),
    _ref("AccountId", "Account ID", "Account", "Account"),
    _text("LastName", "Last Name", 80, nillable=False, required=True),
    _text("FirstName", "First Name", 40),
    _full_name(),
    _text("Title", "Title", 128),
    FieldDef("Email", "Email", "email", length=80),
    FieldDef("Phone", "Business Phone", "phone", length=40),
    _text("MailingCity", "Mailing City", 40),
    _text("MailingCountry", "Mailing Country", 80),
    _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
    _boolean("HasOptedOutOfEmail", "Email Opt Out"),
    _owner(),
    _master_record("Contact"),
    *_audit_fields(),
    *_behaviour_fields(with_firmographics=True),
), custom_fields_allowed=True)

LEAD = ObjectDef("Lead", "Lead", "Leads", "00Q", (
    _id_field("Lead ID"),
    _text("LastName", "Last Name", 80, nillable=False, required=True),
    _text("FirstName", "First Name", 40),
    _full_name(),
    _text("Title", "Title", 128),
    _text("Company", "Company", 255, nillable=False, required=True),
    FieldDef("Email", "Email", "email", length=80),
    FieldDef("Phone", "Phone", "phone", length=40),
    _text("City", "City", 40),
    _text("Country", "Country", 80),
    _picklist("Industry", "Industry", INDUSTRY_VALUES),
    FieldDef("NumberOfEmployees", "Employees", "int", digits=8),
    _currency("AnnualRevenue", "Annual Revenue"),
    _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
    replace(_picklist("Status", "Status", LEAD_STATUSES, default="Open - Not Contacted"),
            nillable=False),
    _read_only(_boolean("IsConverted", "Converted")),
    _read_only(_ref("ConvertedContactId", "Converted Contact ID", "Contact", "ConvertedContact")),
    _read_only(_ref("ConvertedAccountId", "Converted Account ID", "Account", "ConvertedAccount")),
    _read_only(FieldDef("ConvertedDate", "Converted Date", "date")),
    _boolean("HasOptedOutOfEmail", "Email Opt Out"),
    _owner(),
    _master_record("Lead"),
    *_audit_fields(),
    *_behaviour_fields(with_firmographics=False),
), custom_fields_allowed=True)

CAMPAIGN = ObjectDef("Campaign", "Campaign", "Campaigns", "701", (
    _id_field("Campaign ID"),
    _text("Name", "Name", 80, nillable=False, required=True),
    _boolean("IsActive", "Active"),
    _picklist("Status", "Status", CAMPAIGN_STATUSES, default="Planned"),
    _picklist("Type", "Type", CAMPAIGN_TYPES),
    FieldDef("Description", "Description", "textarea", length=32000),
    _read_only(FieldDef("NumberOfContacts", "Total Contacts", "int", digits=9,
                        computed=True)),
    _read_only(FieldDef("NumberOfLeads", "Leads in Campaign", "int", digits=9, computed=True)),
    _owner(),
    *_audit_fields(),
), custom_fields_allowed=True)

CAMPAIGN_MEMBER = ObjectDef("CampaignMember", "Campaign Member", "Campaign Members", "00v", (
    _id_field("Campaign Member ID"),
    _ref("CampaignId", "Campaign ID", "Campaign", "Campaign", nillable=False, required=True,
         updateable=False),
    _ref("ContactId", "Contact ID", "Contact", "Contact", updateable=False),
    _ref("LeadId", "Lead ID", "Lead", "Lead", updateable=False),
    FieldDef("Status", "Status", "picklist", length=40),
    _read_only(_boolean("HasResponded", "Responded")),
    _read_only(FieldDef("FirstRespondedDate", "First Responded Date", "date")),
    *_audit_fields(),
))

CAMPAIGN_MEMBER_STATUS = ObjectDef(
    "CampaignMemberStatus", "Campaign Member Status", "Campaign Member Statuses", "01Y", (
        _id_field("Campaign Member Status ID"),
        _ref("CampaignId", "Campaign ID", "Campaign", "Campaign", nillable=False, required=True,
             updateable=False),
        _text("Label", "Member Status", 765, nillable=False, required=True),
        FieldDef("SortOrder", "Sort Order", "int", digits=9),
        _boolean("IsDefault", "Default"),
        _boolean("HasResponded", "Responded"),
        *_audit_fields(),
    ))

USER = ObjectDef("User", "User", "Users", "005", (
    _id_field("User ID"),
    _text("Username", "Username", 80, nillable=False),
    _text("LastName", "Last Name", 80, nillable=False),
    _text("FirstName", "First Name", 40),
    _full_name(),
    FieldDef("Email", "Email", "email", length=128, nillable=False),
    _boolean("IsActive", "Active"),
    *_audit_fields(),
), createable=False, updateable=False, deletable=False)

PERMISSION_SET = ObjectDef("PermissionSet", "Permission Set", "Permission Sets", "0PS", (
    _id_field("Permission Set ID"),
    _text("Name", "Name", 80, nillable=False, required=True),
    _text("Label", "Label", 80, nillable=False, required=True),
    FieldDef("Description", "Description", "textarea", length=255),
    _read_only(_boolean("IsOwnedByProfile", "Is Owned By Profile")),
    _boolean("PermissionsCustomizeApplication", "Customize Application"),
    _boolean("PermissionsViewSetup", "View Setup and Configuration"),
    _boolean("PermissionsManageProfilesPermissionsets", "Manage Profiles and Permission Sets"),
    *_audit_fields(),
))
SETUP_PERMISSIONS = {
    "PermissionsCustomizeApplication": "Customize Application",
    "PermissionsViewSetup": "View Setup and Configuration",
    "PermissionsManageProfilesPermissionsets": "Manage Profiles and Permission Sets",
}
"""The user permissions (PermissionSet fields, also on the profile's own permission set) that
creating custom fields and granting them with FieldPermissions needs: Customize Application
to create or change a field, View Setup and Configuration to read FieldPermissions, Manage
Profiles and Permission Sets to create or edit them (Salesforce's Object Reference,
FieldPermissions and PermissionSet)."""

PERMISSION_SET_ASSIGNMENT = ObjectDef(
    "PermissionSetAssignment", "Permission Set Assignment", "Permission Set Assignments", "0Pa", (
        _id_field("Permission Set Assignment ID"),
        _ref("AssigneeId", "Assignee ID", "User", "Assignee", nillable=False, required=True,
             updateable=False),
        _ref("PermissionSetId", "Permission Set ID", "PermissionSet", "PermissionSet",
             nillable=False, required=True, updateable=False),
        *_audit_fields(),
    ), updateable=False)

FIELD_PERMISSIONS = ObjectDef("FieldPermissions", "Field Permissions", "Field Permissions",
                              "01k", (
    _id_field("Field Permissions ID"),
    _ref("ParentId", "Parent ID", "PermissionSet", "Parent", nillable=False, required=True,
         updateable=False),
    _text("SobjectType", "Object Type", 40, nillable=False, required=True, updateable=False),
    _text("Field", "Field Name", 81, nillable=False, required=True, updateable=False),
    _boolean("PermissionsRead", "Read Access"),
    _boolean("PermissionsEdit", "Edit Access"),
    *_audit_fields(),
))

OBJECTS: tuple[ObjectDef, ...] = (
    ACCOUNT, CONTACT, LEAD, CAMPAIGN, CAMPAIGN_MEMBER, CAMPAIGN_MEMBER_STATUS, USER,
    PERMISSION_SET, PERMISSION_SET_ASSIGNMENT, FIELD_PERMISSIONS,
)

CUSTOM_FIELD_PREFIX = "00N"
"""Key prefix of CustomField (Tooling API) ids."""

ORG_ID = "00D5g000004SbXzEAK"
"""The sandbox org's id: the first part of every session id."""

DEFAULT_MEMBER_STATUSES = (("Sent", False, True), ("Responded", True, False))
"""(label, has responded, is default): what every new campaign starts with."""


@dataclass
class ObjectSchema:
    """The live schema of one object: its definition plus fields added since (custom fields).

    Field names are case-insensitive in every API; ``field`` resolves any casing to the
    canonical definition.
    """

    definition: ObjectDef
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.fields:
            self.fields = {f.name.lower(): f for f in self.definition.fields}

    @property
    def name(self) -> str:
        """The object's API name."""
        return self.definition.name

    def field(self, name: str) -> FieldDef | None:
        """The field named ``name`` in any letter case, or None."""
        return self.fields.get(name.lower())

    def put(self, definition: FieldDef) -> None:
        """Add or replace a field (custom field creation and updates)."""
        self.fields[definition.name.lower()] = definition

    def remove(self, name: str) -> None:
        """Drop a field (custom field deletion)."""
        self.fields.pop(name.lower(), None)

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship is ``name`` (``Account`` → ``AccountId``)."""
        wanted = name.lower()
        for definition in self.fields.values():
            if definition.relationship_name and definition.relationship_name.lower() == wanted:
                return definition
        return None
