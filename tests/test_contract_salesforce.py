"""The connector contract, run against the Salesforce connector and the sandbox org."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.salesforce import SalesforceConnector
from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce.ids import make_id
from connectors.testing import ConnectorContract
from tests.conftest import salesforce_settings


class SandboxSalesforce:
    """The contract's view of the sandbox org."""

    text_field = "Title"
    segment_field = "Segment__c"

    def __init__(self, sf_box: SalesforceSandbox) -> None:
        self.sf_box = sf_box

    def seed(self, count: int, seed: int) -> list[str]:
        return self.sf_box.seed_contacts(count, seed=seed)

    def values(self, contact_id: str) -> dict[str, str | None]:
        return self.sf_box.store.record("Contact", contact_id)

    def edit(self, contact_id: str, values: dict[str, str]) -> None:
        self.sf_box.store.set_fields("Contact", contact_id, values)

    def list_members(self, list_name: str) -> set[str] | None:
        found = self.sf_box.store.campaign_by_name(list_name)
        return self.sf_box.store.campaign_members(found["Id"]) if found else None

    def missing_contact_id(self) -> str:
        return make_id("003", 1)

    def delete(self, contact_id: str) -> None:
        self.sf_box.store.delete("Contact", contact_id)


class TestSalesforceContract(ConnectorContract):
    @pytest.fixture
    def backend(self) -> Iterator[SandboxSalesforce]:
        with SalesforceSandbox() as sf_box:
            yield SandboxSalesforce(sf_box)

    @pytest.fixture
    def connector(self, backend: SandboxSalesforce) -> Iterator[SalesforceConnector]:
        # The contract asks for exactly the contacts edited since a moment ago; the default
        # overlap (which re-reads five minutes before it) is covered in the connector tests.
        settings = salesforce_settings(backend.sf_box, incremental_overlap_seconds=0)
        salesforce = SalesforceConnector(settings)
        yield salesforce
        salesforce.close()
