"""The sandbox HubSpot's batch updates: what HubSpot rejects whole, per record, or stores as is."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.properties import PropertyCreate

from connectors.sandbox import HubSpotSandbox
from tests.support.hubspot_sdk import Apis, batch_update


def test_batch_update_with_a_bad_option_rejects_the_whole_batch(
    crm: HubSpotSandbox, api: Apis, segment_property: str
):
    ids = crm.store.add_contacts([{"email": f"p{i}@example.com"} for i in range(3)])
    before = [crm.store.contact(cid) for cid in ids]

    with pytest.raises(ContactsApiException) as raised:
        batch_update(
            api,
            [
                (ids[0], {segment_property: "high_value"}),
                (ids[1], {segment_property: "high_value;vip"}),
                (ids[2], {segment_property: "churn_risk"}),
            ],
        )

    assert raised.value.status == 400
    body = json.loads(raised.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: [{")
    details = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert [(d["name"], d["error"]) for d in details] == [(segment_property, "INVALID_OPTION")]
    assert details[0]["message"].startswith("vip was not one of the allowed options: [label: ")
    assert [(e["code"], e["context"]) for e in body["errors"]] == [
        ("INVALID_OPTION", {"propertyName": [segment_property]})
    ]
    assert [crm.store.contact(cid) for cid in ids] == before  # nothing written


def test_batch_update_with_an_unknown_property_rejects_the_whole_batch(crm: HubSpotSandbox, api: Apis):
    ids = crm.store.add_contacts([{"email": "a@example.com"}, {"email": "b@example.com"}])

    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(ids[0], {"industry": "Retail"}), (ids[1], {"segmnet": "x"})])

    body = json.loads(raised.value.body)
    assert raised.value.status == 400
    assert body["errors"] == [
        {
            "message": 'Property "segmnet" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["segmnet"]},
        }
    ]
    assert crm.store.contact(ids[0])["industry"] is None


def test_batch_update_with_a_missing_id_writes_the_rest_and_answers_207(
    crm: HubSpotSandbox, api: Apis, segment_property: str
):
    ids = crm.seed_contacts(3, seed=1)
    seeded = {cid: crm.store.contact(cid)["lastmodifieddate"] for cid in ids}

    response = batch_update(
        api,
        [
            (ids[0], {segment_property: "high_value"}),
            ("987654", {segment_property: "high_value"}),
            (ids[2], {segment_property: "churn_risk;high_value"}),
        ],
    )

    assert type(response).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert response.status == "COMPLETE"
    assert response.num_errors == 1
    [error] = response.errors
    assert (error.status, error.category, error.context) == (
        "error",
        "OBJECT_NOT_FOUND",
        {"ids": ["987654"]},
    )
    assert sorted(r.id for r in response.results) == sorted([ids[0], ids[2]])
    by_id = {r.id: r for r in response.results}
    assert set(by_id[ids[0]].properties) == {
        segment_property,
        "createdate",
        "hs_object_id",
        "lastmodifieddate",
    }
    assert crm.store.contact(ids[0])[segment_property] == "high_value"
    assert crm.store.contact(ids[1])[segment_property] is None
    assert crm.store.contact(ids[2])[segment_property] == "churn_risk;high_value"
    for cid in (ids[0], ids[2]):
        modified = crm.store.contact(cid)["lastmodifieddate"]
        assert modified > seeded[cid]  # seed history ends 2025-06-30; writes are later
        assert by_id[cid].properties["lastmodifieddate"] == modified
    assert crm.store.contact(ids[1])["lastmodifieddate"] == seeded[ids[1]]


def test_batch_update_clears_appends_and_does_not_touch_unchanged(
    crm: HubSpotSandbox, api: Apis, segment_property: str
):
    [cid] = crm.store.add_contacts(
        [{"email": "a@example.com", "jobtitle": "CFO", segment_property: "high_value"}]
    )
    batch_update(api, [(cid, {"jobtitle": "", segment_property: ";churn_risk"})])
    assert crm.store.contact(cid)["jobtitle"] is None
    assert crm.store.contact(cid)[segment_property] == "high_value;churn_risk"

    modified = crm.store.contact(cid)["lastmodifieddate"]
    response = batch_update(api, [(cid, {segment_property: "high_value;churn_risk"})])
    assert type(response).__name__ == "BatchResponseSimplePublicObject"
    assert crm.store.contact(cid)["lastmodifieddate"] == modified  # same value: no update


def test_batch_update_refuses_oversized_batches_and_duplicate_ids(crm: HubSpotSandbox, api: Apis):
    ids = crm.store.add_contacts([{"email": f"p{i}@example.com"} for i in range(101)])

    with pytest.raises(ContactsApiException) as too_many:
        batch_update(api, [(cid, {"jobtitle": "x"}) for cid in ids])
    with pytest.raises(ContactsApiException) as duplicated:
        batch_update(api, [(ids[0], {"jobtitle": "x"}), (ids[0], {"jobtitle": "y"})])

    assert too_many.value.status == 400
    assert json.loads(duplicated.value.body)["message"] == (
        f"Duplicate IDs found in batch input: [{ids[0]}]. IDs must be unique"
    )
    assert all(crm.store.contact(cid)["jobtitle"] is None for cid in ids)


def test_read_only_properties_cannot_be_written(crm: HubSpotSandbox, api: Apis):
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])
    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(cid, {"hs_email_open": "3"})])
    assert json.loads(raised.value.body)["errors"][0]["code"] == "READ_ONLY_VALUE"


def test_dates_are_stored_as_hubspot_returns_them_and_bad_values_are_refused(
    crm: HubSpotSandbox, api: Apis
):
    for name, kind in (("renewal_date", "date"), ("last_synced", "datetime")):
        api.properties.create(
            "contacts",
            PropertyCreate(
                name=name, label=name, type=kind, field_type="date", group_name="contactinformation"
            ),
        )
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])

    batch_update(
        api, [(cid, {"renewal_date": "1767225600000", "last_synced": "2026-01-02T04:04:05+01:00"})]
    )
    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(cid, {"renewal_date": "next week", "employees": "many"})])

    stored = crm.store.contact(cid)
    assert (stored["renewal_date"], stored["last_synced"]) == (
        "2026-01-01",
        "2026-01-02T03:04:05.000Z",
    )
    assert [e["code"] for e in json.loads(raised.value.body)["errors"]] == [
        "INVALID_DATE",
        "INVALID_LONG",
    ]
