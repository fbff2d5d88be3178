"""The contact schema a fresh sandbox portal starts with, in HubSpot's property JSON shape.

These are the HubSpot-defined contact properties the seed data fills, with their real types,
field types and groups, plus two custom properties (``employees``, ``num_purchases``) of the
kind a real portal has. Segment code reads types from here through the properties API, so a
wrong type would teach it the wrong coercion: keep them as HubSpot defines them.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox.seed import LIFECYCLE_STAGES

SCHEMA_TIMESTAMP = "2019-08-06T02:41:52.000Z"
"""When the default properties were "created": fixed, so property JSON is deterministic."""

GROUPS: list[dict[str, Any]] = [
    {"name": "contactinformation", "label": "Contact information", "displayOrder": 0},
    {"name": "emailinformation", "label": "Email information", "displayOrder": 1},
    {"name": "contact_activity", "label": "Contact activity", "displayOrder": 2},
    {"name": "deal_information", "label": "Deal information", "displayOrder": 3},
    {"name": "conversioninformation", "label": "Conversion information", "displayOrder": 4},
]

BOOLEAN_OPTIONS: list[tuple[str, str]] = [("true", "Yes"), ("false", "No")]
"""HubSpot models a bool property as an enumeration with these two options."""

READ_ONLY = {"archivable": False, "readOnlyDefinition": True, "readOnlyValue": True}
EDITABLE_DEFAULT = {"archivable": False, "readOnlyDefinition": True, "readOnlyValue": False}
EDITABLE_CUSTOM = {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False}


def options(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Option JSON as HubSpot returns it (every option has label, value, hidden, order)."""
    return [
        {"label": label, "value": value, "description": "", "displayOrder": order, "hidden": False}
        for order, (value, label) in enumerate(pairs)
    ]


def _prop(
    name: str,
    label: str,
    type_: str,
    field_type: str,
    group: str,
    *,
    description: str = "",
    opts: list[tuple[str, str]] | None = None,
    read_only: bool = False,
    calculated: bool = False,
    hubspot_defined: bool = True,
) -> dict[str, Any]:
    if read_only:
        metadata = READ_ONLY
    else:
        metadata = EDITABLE_DEFAULT if hubspot_defined else EDITABLE_CUSTOM
    return {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": description,
        "groupName": group,
        "options": options(opts or []),
        "displayOrder": -1,
        "calculated": calculated,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "modificationMetadata": dict(metadata),
        "formField": not read_only,
        "createdAt": SCHEMA_TIMESTAMP,
        "updatedAt": SCHEMA_TIMESTAMP,
        "archived": False,
    }


PROPERTIES: list[dict[str, Any]] = [
    _prop("hs_object_id", "Record ID", "number", "number", "contactinformation",
          description="The unique ID for this record. This value is set automatically by HubSpot.",
          read_only=True),
    _prop("createdate", "Create Date", "datetime", "date", "contactinformation",
          description="The date that a contact entered the system"),
    _prop("lastmodifieddate", "Last Modified Date", "datetime", "date", "contactinformation",
          description="Most recent timestamp of any property update for this contact.",
          read_only=True),
    _prop("email", "Email", "string", "text", "contactinformation",
          description="A contact's email address"),
    _prop("firstname", "First Name", "string", "text", "contactinformation",
          description="A contact's first name"),
    _prop("lastname", "Last Name", "string", "text", "contactinformation",
          description="A contact's last name"),
    _prop("company", "Company Name", "string", "text", "contactinformation",
          description="Name of the contact's company."),
    _prop("jobtitle", "Job Title", "string", "text", "contactinformation",
          description="A contact's job title"),
    _prop("industry", "Industry", "string", "text", "contactinformation",
          description="The industry a contact is in"),
    _prop("country", "Country/Region", "string", "text", "contactinformation",
          description="The contact's country/region of residence."),
    _prop("city", "City", "string", "text", "contactinformation",
          description="A contact's city of residence"),
    _prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "contactinformation",
          description="The qualification of contacts to sales readiness.",
          opts=LIFECYCLE_STAGES),
    _prop("annualrevenue", "Annual Revenue", "number", "number", "contactinformation",
          description="Annual company revenue"),
    _prop("notes_last_updated", "Last Activity Date", "datetime", "date", "contact_activity",
          description="The last time a call, chat conversation, LinkedIn message, postal mail, "
                      "meeting, sales email, SMS, or WhatsApp message was logged.",
          read_only=True, calculated=True),
    _prop("hs_email_open", "Marketing emails opened", "number", "number", "emailinformation",
          description="The number of marketing emails which have been opened by this contact.",
          read_only=True, calculated=True),
    _prop("hs_email_optout", "Unsubscribed from all email", "enumeration", "booleancheckbox",
          "emailinformation", description="Indicates that the current email address has opted "
          "out of all email.", opts=BOOLEAN_OPTIONS),
    _prop("total_revenue", "Total Revenue", "number", "number", "deal_information",
          description="The total revenue associated with this contact's closed won deals.",
          read_only=True, calculated=True),
    _prop("recent_deal_close_date", "Recent Deal Close Date", "date", "date", "deal_information",
          description="Date last deal associated with contact was won.",
          read_only=True, calculated=True),
    _prop("hs_merged_object_ids", "Merged Contact IDs", "enumeration", "checkbox",
          "contactinformation", description="The list of Contact record IDs that have been "
          "merged into this Contact. This value is set automatically by HubSpot.",
          read_only=True),
    _prop("employees", "Company Headcount", "number", "number", "contactinformation",
          description="Number of employees at the contact's company.", hubspot_defined=False),
    _prop("num_purchases", "Number of Purchases", "number", "number", "deal_information",
          description="Orders placed by the contact's account.", hubspot_defined=False),
]

SYSTEM_PROPERTIES = ("createdate", "hs_object_id", "lastmodifieddate")
"""Derived from the record itself (its id and timestamps) rather than stored as values, and
returned on every object read whatever properties were asked for."""

DEFAULT_READ_PROPERTIES = (
    "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"
)
"""Returned when a read names no properties at all."""
