"""Shared fixtures: a running sandbox CRM and settings that point segsync at it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.sandbox import SalesforceSandbox, SandboxCRM
from sync.config import SegmentConfig, Settings, SyncOptions

TOKEN = "sandbox-test-token"


@pytest.fixture
def crm() -> Iterator[SandboxCRM]:
    with SandboxCRM(token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def sf_box() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


def hubspot_settings(crm: SandboxCRM, token: str | None = TOKEN) -> HubSpotSettings:
    return HubSpotSettings(
        base_url=crm.base_url,
        token=SecretStr(token) if token is not None else None,
        timeout_seconds=5,
    )


def make_settings(
    crm: SandboxCRM, segments: list[dict[str, Any]], state_dir: Path, **sync: Any
) -> Settings:
    return Settings(
        hubspot=hubspot_settings(crm),
        sync=SyncOptions(state_dir=state_dir, **sync),
        segments=[SegmentConfig(**segment) for segment in segments],
    )


READ_ROUTES = frozenset({"POST /crm/v3/objects/contacts/search"})
"""The one HubSpot read that is a POST."""


def writes_among(calls: Counter[str]) -> dict[str, int]:
    """The calls that change something in the CRM (every route but GETs and search)."""
    return {
        route: count
        for route, count in calls.items()
        if not route.startswith("GET ") and route not in READ_ROUTES
    }


@pytest.fixture
def connector(crm: SandboxCRM) -> Iterator[HubSpotConnector]:
    hubspot = HubSpotConnector(hubspot_settings(crm))
    yield hubspot
    hubspot.close()
