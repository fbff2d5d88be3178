"""The Salesforce sandbox's custom fields (Tooling and Metadata API) and field-level security."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from zeep.exceptions import Fault

from connectors.sandbox import SalesforceSandbox
from tests.support.salesforce_rest import contact, error, update


def grant(sf: Salesforce, field: str, edit: bool = True) -> str:
    [assignment] = sf.query(
        "SELECT PermissionSetId FROM PermissionSetAssignment "
        "WHERE PermissionSet.IsOwnedByProfile = false"
    )["records"]
    created = sf.FieldPermissions.create(
        {
            "ParentId": assignment["PermissionSetId"],
            "SobjectType": "Contact",
            "Field": f"Contact.{field}",
            "PermissionsRead": True,
            "PermissionsEdit": edit,
        }
    )
    return str(created["id"])


def test_tooling_field_is_hidden_until_field_permissions_grant_it(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    person = contact(sf, LastName="Field")
    created = sf.restful(
        "tooling/sobjects/CustomField/",
        method="POST",
        json={
            "FullName": "Contact.Segment__c",
            "Metadata": {
                "label": "Segment",
                "type": "Picklist",
                "valueSet": {
                    "restricted": True,
                    "valueSetDefinition": {
                        "sorted": False,
                        "value": [
                            {"valueName": "high_value", "default": False, "label": "High value"}
                        ],
                    },
                },
            },
        },
    )
    assert created["id"].startswith("00N") and created["success"] is True

    assert not box.store.field_visible("Contact", "Segment__c")
    assert "Segment__c" not in [f["name"] for f in sf.Contact.describe()["fields"]]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Segment__c FROM Contact")
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert update(sf, {"id": person, "Segment__c": "high_value"}) == [
        error("INVALID_FIELD", "No such column 'Segment__c' on sobject of type Contact")
    ]

    permission = grant(sf, "Segment__c", edit=False)
    assert (
        update(sf, {"id": person, "Segment__c": "high_value"})[0]["errors"][0]["statusCode"]
        == "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    sf.FieldPermissions.update(permission, {"PermissionsEdit": True})
    [described] = [f for f in sf.Contact.describe()["fields"] if f["name"] == "Segment__c"]
    assert (described["type"], described["restrictedPicklist"], described["custom"]) == (
        "picklist",
        True,
        True,
    )
    assert [v["value"] for v in described["picklistValues"]] == ["high_value"]
    assert update(sf, {"id": person, "Segment__c": "high_value"}) == [
        {"id": person, "success": True, "errors": []}
    ]
    assert update(sf, {"id": person, "Segment__c": "churn_risk"}) == [
        error(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Segment: bad value for restricted picklist field: churn_risk",
            ["Segment__c"],
        )
    ]

    listed = sf.toolingexecute(
        "query/?q=SELECT+Id,DeveloperName+FROM+CustomField+WHERE+DeveloperName='Segment'"
    )
    assert [r["Id"] for r in listed["records"]] == [created["id"]]
    field = sf.restful(f"tooling/sobjects/CustomField/{created['id']}")
    metadata = field["Metadata"]
    metadata["valueSet"]["valueSetDefinition"]["value"].append(
        {"valueName": "churn_risk", "default": False, "label": "Churn risk"}
    )
    sf.restful(
        f"tooling/sobjects/CustomField/{created['id']}", method="PATCH", json={"Metadata": metadata}
    )
    assert update(sf, {"id": person, "Segment__c": "churn_risk"})[0]["success"] is True
    assert box.store.record("Contact", person)["Segment__c"] == "churn_risk"

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.restful(
            "tooling/sobjects/CustomField/",
            method="POST",
            json={
                "FullName": "Contact.Segment__c",
                "Metadata": {"label": "S", "type": "Text", "length": 10},
            },
        )
    assert raised.value.content == [
        {
            "message": "There is already a field named Segment on Contact.",
            "errorCode": "DUPLICATE_DEVELOPER_NAME",
            "fields": [],
        }
    ]
    box.store.revoke_field_permission("Contact", "Segment__c")
    assert not box.store.field_visible("Contact", "Segment__c")


def test_metadata_api_creates_reads_and_updates_fields(
    box: SalesforceSandbox, sf: Salesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_path)  # zeep ignores sf.session (#686)
    md = sf.mdapi
    segments = md.CustomField(
        fullName="Contact.Segments__c",
        label="Segments",
        visibleLines=4,
        type=md.FieldType("MultiselectPicklist"),
        valueSet=md.ValueSet(
            restricted=True,
            valueSetDefinition=md.ValueSetValuesDefinition(
                sorted=False, value=[md.CustomValue(fullName="a", default=False, label="A")]
            ),
        ),
    )
    reason = md.CustomField(
        fullName="Contact.Segment_Reason__c",
        label="Segment Reason",
        type=md.FieldType("LongTextArea"),
        length=32768,
        visibleLines=3,
    )
    md.CustomField.create([segments, reason])
    with pytest.raises(
        Exception,
        match=r"Contact.Segments__c: \(DUPLICATE_DEVELOPER_NAME, "
        r"There is already a field named Segments on Contact.",
    ):
        md.CustomField.create([segments])

    read = md.CustomField.read(["Contact.Segments__c"])
    assert (read.label, read.type, read.visibleLines) == ("Segments", "MultiselectPicklist", 4)
    read.valueSet.valueSetDefinition.value.append(
        md.CustomValue(fullName="b", default=False, label="B")
    )
    md.CustomField.update([read])
    grant(sf, "Segments__c")
    grant(sf, "Segment_Reason__c")
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert [v["value"] for v in fields["Segments__c"]["picklistValues"]] == ["a", "b"]
    assert (fields["Segment_Reason__c"]["type"], fields["Segment_Reason__c"]["length"]) == (
        "textarea",
        32768,
    )
    person = contact(sf, LastName="Multi", Segments__c="a;b", Segment_Reason__c="why")
    assert [
        r["Id"]
        for r in sf.query("SELECT Id FROM Contact WHERE Segments__c INCLUDES ('b')")["records"]
    ] == [person]

    box.expire_session()
    with pytest.raises(Fault, match="INVALID_SESSION_ID"):
        md.CustomField.read(["Contact.Segments__c"])
