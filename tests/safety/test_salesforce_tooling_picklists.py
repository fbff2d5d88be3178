"""Tooling API picklist values are named ``valueName`` (issue #15, item 2).

In the Tooling API's JSON a picklist value's API name is ``valueName``; ``fullName`` is the
Metadata API's XML spelling and the Tooling API's JSON parser refuses it (``JSON_PARSER_ERROR``).
segsync used to send ``fullName`` and read ``value["fullName"]`` back, so its first sync
stopped at creating ``Segment__c`` and an answer without the key crashed with a bare KeyError.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.base import RequestRejected, SegmentField
from connectors.salesforce import SalesforceConnector
from connectors.sandbox import SalesforceSandbox
from tests.expectations import assert_org_holds_desired_state, salesforce_org, sync_salesforce
from tests.support.salesforce_api import API, settings
from tests.support.salesforce_sync import CONTACTS

FIELD = "Contact.Tier__c"
SELECT = SegmentField("Tier__c", "Tier", "Customer tier.", "single_select", ("Gold", "Silver"))


def tooling_field(values: list[dict[str, object]]) -> dict[str, object]:
    return {
        "FullName": FIELD,
        "Metadata": {
            "label": "Tier",
            "type": "Picklist",
            "valueSet": {"restricted": True, "valueSetDefinition": {"value": values}},
        },
    }


@pytest.fixture
def sf(sf_box: SalesforceSandbox) -> Salesforce:
    return Salesforce(
        session_id=sf_box.session_id, instance=sf_box.instance, session=sf_box.requests_session()
    )


def test_the_tooling_api_refuses_fullname_and_answers_valuename(
    sf_box: SalesforceSandbox, sf: Salesforce
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.restful(
            "tooling/sobjects/CustomField/",
            method="POST",
            json=tooling_field([{"fullName": "Gold", "label": "Gold", "default": False}]),
        )
    assert raised.value.content == [
        {
            "message": 'Unrecognized field "fullName" in CustomValue: a picklist value is named '
            "by valueName in Tooling API JSON",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]
    assert sf_box.store.custom_field(FIELD) is None

    created = sf.restful(
        "tooling/sobjects/CustomField/",
        method="POST",
        json=tooling_field([{"valueName": "Gold", "label": "Gold", "default": False}]),
    )
    read = sf.restful(f"tooling/sobjects/CustomField/{created['id']}")
    assert read["Metadata"]["valueSet"]["valueSetDefinition"]["value"] == [
        {"valueName": "Gold", "label": "Gold", "default": False}
    ]


def test_a_first_sync_creates_its_picklist_fields_and_writes_every_segment(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(CONTACTS, seed=151)
    with salesforce_org(sf_box) as salesforce:
        outcome = sync_salesforce(salesforce, tmp_path / "state")
    assert (outcome.status, outcome.result.failures) == ("done", [])
    assert_org_holds_desired_state(sf_box, ids)


def test_an_existing_field_gets_its_missing_option(
    sf_box: SalesforceSandbox, sf: Salesforce
) -> None:
    sf.restful(
        "tooling/sobjects/CustomField/",
        method="POST",
        json=tooling_field([{"valueName": "Gold", "label": "Gold", "default": False}]),
    )
    with salesforce_org(sf_box) as salesforce:
        salesforce.ensure_segment_field(SELECT)
    [tier] = [f for f in sf.Contact.describe()["fields"] if f["name"] == "Tier__c"]
    assert [v["value"] for v in tier["picklistValues"]] == ["Gold", "Silver"]
    assert tier["updateable"] is True


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.mark.parametrize(
    ("answer", "shape"),
    [
        ({"Id": "00N1"}, "no Metadata"),
        (
            {"Metadata": {"type": "Picklist", "valueSet": {"valueSetDefinition": {}}}},
            "no valueSet.valueSetDefinition.value list",
        ),
        (
            {"Metadata": {"valueSet": {"valueSetDefinition": {"value": [{"label": "Gold"}]}}}},
            'a picklist value without valueName: {"label": "Gold"}',
        ),
    ],
)
def test_an_unexpected_field_shape_is_a_typed_error(
    mock: responses.RequestsMock, answer: dict[str, object], shape: str
) -> None:
    mock.add("GET", f"{API}tooling/query/", json={"done": True, "records": [{"Id": "00N1"}]})
    mock.add("GET", f"{API}tooling/sobjects/CustomField/00N1", json=answer)
    connector = SalesforceConnector(settings())
    with pytest.raises(RequestRejected) as raised:
        connector.ensure_segment_field(SELECT)
    assert str(raised.value) == (
        f"Salesforce answered field Tier__c in an unexpected shape ({shape}); segsync left it "
        "unchanged: check the field in Setup → Object Manager."
    )
    assert raised.value.status == 502
