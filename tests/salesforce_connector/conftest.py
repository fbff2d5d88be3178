"""The ``responses`` mock and the Salesforce connectors the mocked tests drive."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from pydantic import SecretStr

from connectors.salesforce import SalesforceConnector
from tests.support.salesforce_api import settings


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def connector() -> Iterator[SalesforceConnector]:
    salesforce = SalesforceConnector(settings())
    yield salesforce
    salesforce.close()


@pytest.fixture
def password_connector() -> Iterator[SalesforceConnector]:
    salesforce = SalesforceConnector(
        settings(
            session_id=None,
            instance_url=None,
            username="sync@acme.com",
            password=SecretStr("pw"),
            security_token=SecretStr("tok"),
        )
    )
    yield salesforce
    salesforce.close()
