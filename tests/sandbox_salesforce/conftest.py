"""The sandbox org and a ``simple-salesforce`` client on its initial session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from connectors.sandbox import SalesforceSandbox
from tests.support.salesforce_rest import client


@pytest.fixture
def box() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sf(box: SalesforceSandbox) -> Salesforce:
    return client(box)
