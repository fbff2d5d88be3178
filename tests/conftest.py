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


HUBSPOT_CONFIG = """
[sync]
name = "{name}"
state_dir = "{state_dir}"
{schedule}

[hubspot]
base_url = "{base_url}"
timeout_seconds = 10

[[segments]]
name = "Big"
priority = 10
rule = '{rule}'
"""


def write_hubspot_config(
    directory: Path,
    base_url: str,
    *,
    name: str = "default",
    schedule: str | None = None,
    rule: str = "employees >= 50",
) -> Path:
    """A config file syncing one segment ("Big") into the HubSpot at ``base_url``."""
    path = directory / ("segsync.toml" if name == "default" else f"{name}.toml")
    path.write_text(
        HUBSPOT_CONFIG.format(
            name=name,
            state_dir=directory,
            schedule=f'schedule = "{schedule}"' if schedule else "",
            base_url=base_url,
            rule=rule,
        )
    )
    return path


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
