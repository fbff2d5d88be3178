"""Salesforce connector describe and values: Salesforce's field types as segsync's, and
field values as text (pinned with ``responses``)."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from connectors.base import FieldInfo
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.records import to_text
from tests.support.salesforce_api import API


def test_describe_types_map_to_segsync_types(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    def field(name: str, type_: str, **extra: Any) -> dict[str, Any]:
        custom = name.endswith("__c")
        described = {"name": name, "label": name.title(), "type": type_, "custom": custom}
        return described | {"picklistValues": [], "inlineHelpText": None, **extra}

    picklist = [
        {"value": "Web", "label": "Web", "active": True},
        {"value": "Fax", "label": "Fax", "active": False},
        {"value": "Phone", "label": "Phone", "active": True},
    ]
    described = [
        field("Id", "id"),
        field("LeadSource", "picklist", picklistValues=picklist),
        field(
            "Segments__c",
            "multipicklist",
            picklistValues=picklist[:1],
            inlineHelpText="Written by segsync: every segment the contact matches.",
        ),
        field("Score__c", "double"),
        field("Seats__c", "int"),
        field("Revenue__c", "currency"),
        field("Share__c", "percent"),
        field("Birthdate", "date"),
        field("Seen__c", "datetime"),
        field("HasOptedOutOfEmail", "boolean"),
        field("Email", "email"),
        field("Description", "textarea"),
    ]
    mock.add("GET", f"{API}sobjects/Contact/describe", json={"fields": described})
    assert connector.describe_fields() == [
        FieldInfo("Id", "Id", "string", defined_by="crm"),
        FieldInfo(
            "LeadSource",
            "Leadsource",
            "enumeration",
            ("Web", "Phone"),
            "crm",
            option_labels=(("Web", "Web"), ("Phone", "Phone")),
        ),
        FieldInfo(
            "Segments__c",
            "Segments__C",
            "multi_enumeration",
            ("Web",),
            "segsync",
            option_labels=(("Web", "Web"),),
        ),
        FieldInfo("Score__c", "Score__C", "number", defined_by="other"),
        FieldInfo("Seats__c", "Seats__C", "number", defined_by="other"),
        FieldInfo("Revenue__c", "Revenue__C", "number", defined_by="other"),
        FieldInfo("Share__c", "Share__C", "number", defined_by="other"),
        FieldInfo("Birthdate", "Birthdate", "date", defined_by="crm"),
        FieldInfo("Seen__c", "Seen__C", "datetime", defined_by="other"),
        FieldInfo("HasOptedOutOfEmail", "Hasoptedoutofemail", "bool", defined_by="crm"),
        FieldInfo("Email", "Email", "string", defined_by="crm"),
        FieldInfo("Description", "Description", "string", defined_by="crm"),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("CEO", "CEO"),
        (True, "true"),
        (False, "false"),
        (12, "12"),
        (12.0, "12"),
        (1250000.0, "1250000"),
        (0.25, "0.25"),
        (-3.5, "-3.5"),
        ("2024-05-01", "2024-05-01"),
        ("2024-05-01T10:00:00.000+0000", "2024-05-01T10:00:00.000+0000"),
        ({"city": "Oslo", "country": "NO"}, '{"city": "Oslo", "country": "NO"}'),
    ],
)
def test_values_become_text(value: Any, text: str | None) -> None:
    assert to_text(value) == text
