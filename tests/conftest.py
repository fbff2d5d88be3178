"""Shared fixtures: a running sandbox CRM and settings that point segsync at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.sandbox import SandboxCRM
from sync.config import SegmentConfig, Settings, SyncOptions

TOKEN = "sandbox-test-token"


@pytest.fixture
def crm() -> Iterator[SandboxCRM]:
    with SandboxCRM(token=TOKEN) as sandbox:
        yield sandbox


def hubspot_settings(crm: SandboxCRM, token: str | None = TOKEN) -> HubSpotSettings:
    return HubSpotSettings(
        base_url=crm.base_url,
        token=SecretStr(token) if token is not None else None,
        timeout_seconds=5,
    )


def make_settings(crm: SandboxCRM, segments: list[dict[str, Any]], **sync: Any) -> Settings:
    return Settings(
        hubspot=hubspot_settings(crm),
        sync=SyncOptions(**sync),
        segments=[SegmentConfig(**segment) for segment in segments],
    )


@pytest.fixture
def connector(crm: SandboxCRM) -> Iterator[HubSpotConnector]:
    hubspot = HubSpotConnector(hubspot_settings(crm))
    yield hubspot
    hubspot.close()
