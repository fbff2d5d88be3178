"""The sandbox HubSpot with its own token and no rate limits, the SDK's APIs on it, and a
segment property for the write and property tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot.crm.properties import PropertyCreate

from connectors.sandbox import HubSpotSandbox, SandboxLimits
from tests.support.hubspot_sdk import TOKEN, Apis, sdk


@pytest.fixture
def crm() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(token=TOKEN, limits=SandboxLimits(ten_secondly=None, daily=None)) as sandbox:
        yield sandbox


@pytest.fixture
def api(crm: HubSpotSandbox) -> Apis:
    return sdk(crm)


@pytest.fixture
def segment_property(crm: HubSpotSandbox, api: Apis) -> str:
    api.properties.create(
        "contacts",
        PropertyCreate(
            name="segsync_segment",
            label="Segment",
            type="enumeration",
            field_type="checkbox",
            group_name="contactinformation",
            options=[
                {"label": "High value", "value": "high_value", "hidden": False},
                {"label": "Churn risk", "value": "churn_risk", "hidden": False},
            ],
        ),
    )
    return "segsync_segment"
