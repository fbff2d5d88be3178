"""The sandbox HubSpot's properties and property groups: create, update, types, deletion."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate, PropertyUpdate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

from connectors.sandbox import HubSpotSandbox
from tests.support.hubspot_sdk import Apis, batch_update


def test_property_create_is_201_then_409_and_patch_replaces_options(api: Apis):
    spec = PropertyCreate(
        name="segsync_tier",
        label="Tier",
        type="enumeration",
        field_type="select",
        group_name="contactinformation",
        options=[{"label": "Gold", "value": "gold", "hidden": False}],
    )

    created = api.properties.create("contacts", spec)
    with pytest.raises(PropertiesApiException) as conflict:
        api.properties.create("contacts", spec)
    patched = api.properties.update(
        "contacts",
        "segsync_tier",
        PropertyUpdate(
            options=[
                {"label": "Gold", "value": "gold", "hidden": False},
                {"label": "Silver", "value": "silver", "hidden": False},
            ]
        ),
    )

    assert created is not None and created.name == "segsync_tier"  # None would mean "not 201"
    assert (created.type, created.field_type, created.hubspot_defined) == (
        "enumeration",
        "select",
        False,
    )
    assert conflict.value.status == 409
    assert json.loads(conflict.value.body)["category"] == "OBJECT_ALREADY_EXISTS"
    assert [o.value for o in patched.options] == ["gold", "silver"]
    assert [o.value for o in api.properties.get_by_name("contacts", "segsync_tier").options] == [
        "gold",
        "silver",
    ]


def test_property_create_validates_required_fields_and_group(api: Apis):
    with pytest.raises(PropertiesApiException) as no_label:
        api.properties.create(
            "contacts",
            {"name": "x", "type": "string", "fieldType": "text", "groupName": "contactinformation"},
        )
    with pytest.raises(PropertiesApiException) as no_group:
        api.properties.create(
            "contacts",
            PropertyCreate(
                name="x", label="X", type="string", field_type="text", group_name="nope"
            ),
        )
    with pytest.raises(PropertiesApiException) as missing:
        api.properties.get_by_name("contacts", "x")

    assert no_label.value.status == 400
    assert (
        "some of required attributes are not set [label]"
        in json.loads(no_label.value.body)["message"]
    )
    assert no_group.value.status == 400
    assert missing.value.status == 404


def test_standard_properties_have_hubspot_types(api: Apis):
    by_name = {p.name: p for p in api.properties.get_all("contacts").results}

    assert {
        name: (by_name[name].type, by_name[name].group_name)
        for name in (
            "email",
            "lifecyclestage",
            "createdate",
            "recent_deal_close_date",
            "hs_email_optout",
            "employees",
        )
    } == {
        "email": ("string", "contactinformation"),
        "lifecyclestage": ("enumeration", "contactinformation"),
        "createdate": ("datetime", "contactinformation"),
        "recent_deal_close_date": ("date", "deal_information"),
        "hs_email_optout": ("enumeration", "emailinformation"),
        "employees": ("number", "contactinformation"),
    }
    assert [o.value for o in by_name["lifecyclestage"].options] == [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ]


def test_group_create_is_201_then_409(api: Apis):
    group = PropertyGroupCreate(name="segsync", label="segsync", display_order=5)

    created = api.groups.create("contacts", group)
    with pytest.raises(PropertiesApiException) as conflict:
        api.groups.create("contacts", group)

    assert (created.name, created.display_order, created.archived) == ("segsync", 5, False)
    assert conflict.value.status == 409


def test_a_person_deleting_a_property_makes_writes_fail(
    crm: HubSpotSandbox, api: Apis, segment_property: str
):
    [cid] = crm.store.add_contacts([{"email": "a@example.com", segment_property: "high_value"}])

    crm.store.delete_property(segment_property)

    assert crm.store.property(segment_property) is None
    assert segment_property not in crm.store.contact(cid)
    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(cid, {segment_property: "high_value"})])
    assert json.loads(raised.value.body)["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
