"""Salesforce connector segment fields: segsync's custom fields created, given their missing
options and granted to the integration user (pinned with ``responses``)."""

from __future__ import annotations

import pytest
import responses

from connectors.base import AuthFailed, RequestRejected, SegmentField
from connectors.salesforce import SalesforceConnector
from tests.support.salesforce_api import API, PERMISSION_MESSAGE, body, soql

SEGMENT = SegmentField(
    "Segment__c", "Segment (segsync)", "Primary segment.", "single_select", ("A", "B")
)


def add_grant_and_describe(mock: responses.RequestsMock, *, visible: bool = True) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        json={
            "totalSize": 1,
            "done": True,
            "records": [{"Id": "0PS1", "Name": "Segsync_Integration"}],
        },
    )
    mock.add("GET", f"{API}query/", json={"totalSize": 0, "done": True, "records": []})
    mock.add(
        "POST",
        f"{API}sobjects/FieldPermissions/",
        json={"id": "01k1", "success": True, "errors": []},
    )
    fields = [{"name": "Segment__c", "label": "Segment", "type": "picklist", "updateable": True}]
    mock.add("GET", f"{API}sobjects/Contact/describe", json={"fields": fields if visible else []})


def test_a_missing_segment_field_is_created_granted_and_checked(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET", f"{API}tooling/query/", json={"size": 0, "totalSize": 0, "done": True, "records": []}
    )
    mock.add(
        "POST",
        f"{API}tooling/sobjects/CustomField/",
        json={"id": "00N1", "success": True, "errors": []},
    )
    add_grant_and_describe(mock)
    connector.ensure_segment_field(SEGMENT)
    assert soql(mock.calls[0]) == (
        "SELECT Id FROM CustomField WHERE TableEnumOrId = 'Contact' AND DeveloperName = 'Segment'"
    )
    assert body(mock.calls[1]) == {
        "FullName": "Contact.Segment__c",
        "Metadata": {
            "label": "Segment (segsync)",
            "description": "Primary segment.",
            "inlineHelpText": "Written by segsync: Primary segment.",
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [
                        {"valueName": "A", "label": "A", "default": False},
                        {"valueName": "B", "label": "B", "default": False},
                    ],
                },
            },
        },
    }
    assert soql(mock.calls[3]) == (
        "SELECT Id, PermissionsRead, PermissionsEdit FROM FieldPermissions "
        "WHERE ParentId = '0PS1' AND SobjectType = 'Contact' AND Field = 'Contact.Segment__c'"
    )
    assert body(mock.calls[4]) == {
        "ParentId": "0PS1",
        "SobjectType": "Contact",
        "Field": "Contact.Segment__c",
        "PermissionsRead": True,
        "PermissionsEdit": True,
    }


def test_an_existing_segment_field_gets_only_its_missing_options(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    existing = {
        "fullName": "Contact.Segment__c",
        "label": "Segment (segsync)",
        "type": "Picklist",
        "valueSet": {
            "restricted": True,
            "valueSetDefinition": {
                "sorted": False,
                "value": [{"fullName": "A", "label": "A", "default": False}],
            },
        },
    }
    mock.add(
        "GET",
        f"{API}tooling/query/",
        json={"totalSize": 1, "done": True, "records": [{"Id": "00N1"}]},
    )
    mock.add(
        "GET", f"{API}tooling/sobjects/CustomField/00N1", json={"Id": "00N1", "Metadata": existing}
    )
    mock.add("PATCH", f"{API}tooling/sobjects/CustomField/00N1", status=204)
    add_grant_and_describe(mock)
    connector.ensure_segment_field(SEGMENT)
    values = body(mock.calls[2])["Metadata"]["valueSet"]["valueSetDefinition"]["value"]
    assert values == [
        {"valueName": "A", "label": "A", "default": False},
        {"valueName": "B", "label": "B", "default": False},
    ]


def test_a_field_that_stays_invisible_is_auth_failed_with_the_permission(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    text = SegmentField("Segment__c", "Reason", "Why.", "text")
    mock.add(
        "GET",
        f"{API}tooling/query/",
        json={"totalSize": 1, "done": True, "records": [{"Id": "00N1"}]},
    )
    add_grant_and_describe(mock, visible=False)
    with pytest.raises(AuthFailed) as caught:
        connector.ensure_segment_field(text)
    assert str(caught.value) == PERMISSION_MESSAGE


def test_a_field_name_without_the_custom_suffix_is_refused(connector: SalesforceConnector) -> None:
    with pytest.raises(RequestRejected, match="custom field names end in __c"):
        connector.ensure_segment_field(
            SegmentField("segsync_segment", "Segment", "", "single_select", ("A",))
        )
