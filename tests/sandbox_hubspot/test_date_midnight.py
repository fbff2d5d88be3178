"""A HubSpot date property takes midnight UTC only, as epoch milliseconds or ``YYYY-MM-DD``.

HubSpot's FAQ "How should timestamps be formatted for HubSpot's APIs?": date properties "must
be set to midnight UTC for the date you want ... If you try to set a value that is not midnight
UTC, you will receive an error." A datetime property takes any moment.
"""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.properties import PropertyCreate

from connectors.sandbox import HubSpotSandbox
from tests.support.hubspot_sdk import Apis, batch_update

MAY_FIRST_MIDNIGHT = "1430438400000"  # the FAQ's example: 01 May 2015 00:00:00 UTC


@pytest.fixture
def renewal(crm: HubSpotSandbox, api: Apis) -> str:
    api.properties.create(
        "contacts",
        PropertyCreate(
            name="renewal_date", label="Renewal", type="date", field_type="date",
            group_name="contactinformation",
        ),
    )
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])
    return cid


@pytest.mark.parametrize("value", ["1430438400001", "2015-05-01T14:00:00Z"])
def test_a_date_takes_midnight_utc_and_refuses_any_other_moment(
    crm: HubSpotSandbox, api: Apis, renewal: str, value: str
) -> None:
    batch_update(api, [(renewal, {"renewal_date": MAY_FIRST_MIDNIGHT})])
    batch_update(api, [(renewal, {"renewal_date": "2015-05-02"})])
    with pytest.raises(ContactsApiException) as raised:
        batch_update(api, [(renewal, {"renewal_date": value})])

    assert raised.value.status == 400
    assert json.loads(raised.value.body)["errors"][0]["code"] == "INVALID_DATE"
    assert crm.store.contact(renewal)["renewal_date"] == "2015-05-02"
