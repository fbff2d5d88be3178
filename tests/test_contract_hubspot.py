"""The connector contract, run against the HubSpot connector and the sandbox HubSpot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from connectors.testing import ConnectorContract
from tests.conftest import TOKEN, hubspot_settings


class SandboxHubSpot:
    """The contract's view of the sandbox HubSpot portal."""

    text_field = "jobtitle"
    segment_field = "segsync_segment"

    def __init__(self, crm: HubSpotSandbox) -> None:
        self.crm = crm

    def seed(self, count: int, seed: int) -> list[str]:
        return self.crm.seed_contacts(count, seed=seed)

    def values(self, contact_id: str) -> dict[str, str | None]:
        return self.crm.store.contact(contact_id)

    def edit(self, contact_id: str, values: dict[str, str]) -> None:
        self.crm.store.set_properties(contact_id, values)

    def list_members(self, list_name: str) -> set[str] | None:
        found = self.crm.store.list_by_name(list_name)
        return self.crm.store.list_members(found["listId"]) if found else None

    def missing_contact_id(self) -> str:
        return "999999999"

    def delete(self, contact_id: str) -> None:
        self.crm.store.archive_contact(contact_id)


class TestHubSpotContract(ConnectorContract):
    @pytest.fixture
    def backend(self) -> Iterator[SandboxHubSpot]:
        with HubSpotSandbox(token=TOKEN) as crm:
            yield SandboxHubSpot(crm)

    @pytest.fixture
    def connector(self, backend: SandboxHubSpot) -> Iterator[HubSpotConnector]:
        hubspot = HubSpotConnector(hubspot_settings(backend.crm))
        yield hubspot
        hubspot.close()
