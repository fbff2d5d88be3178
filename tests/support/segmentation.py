"""Syncs of the cluster test segments into the sandbox HubSpot, at a fixed time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.config import SegmentConfig, Settings, SyncOptions
from sync.outcome import SyncOutcome
from sync.pipeline import run_sync
from sync.progress import SilentProgress
from tests.conftest import hubspot_settings
from tests.expectations import FAST_RETRY

NOW = datetime(2026, 6, 1, tzinfo=UTC)
"""The sandbox seeds relative to its default reference date; runs here share one clock."""

CLUSTERS = [
    {
        "name": "Behaviour",
        "priority": 5,
        "numeric": ["hs_email_open", "num_purchases"],
        "categorical": ["lifecyclestage"],
        "n_clusters": 3,
        "random_state": 0,
    }
]

CLUSTERS_TOML = """
[[clusters]]
name = "Behaviour"
priority = 5
numeric = ["hs_email_open", "num_purchases"]
categorical = ["lifecyclestage"]
n_clusters = 3
random_state = 0
"""
"""``CLUSTERS`` as a config file writes it."""


def sandbox_config(crm: HubSpotSandbox, state: Path) -> str:
    """The head of a config file: the sandbox portal and a state folder (the token is left to
    ``SEGSYNC_HUBSPOT__TOKEN``)."""
    return f'[hubspot]\nbase_url = "{crm.base_url}"\n[sync]\nstate_dir = "{state}"\n'


def cluster_config(crm: HubSpotSandbox, state: Path, segments_toml: str = "") -> str:
    """A config file's text: the sandbox, a state folder, ``segments_toml`` and ``CLUSTERS``."""
    return sandbox_config(crm, state) + segments_toml + CLUSTERS_TOML


CLUSTER_FIELDS = {
    "hs_email_open": "number",
    "num_purchases": "number",
    "lifecyclestage": "enumeration",
}


def settings(
    crm: HubSpotSandbox, state: Path, segments: list[dict[str, Any]], **sections: Any
) -> Settings:
    return Settings(
        hubspot=hubspot_settings(crm),
        sync=SyncOptions(state_dir=state),
        segments=[SegmentConfig(**segment) for segment in segments],
        **sections,
    )


def run(connector: HubSpotConnector, config: Settings, **options: Any) -> SyncOutcome:
    """A real run at ``NOW``, unless ``options`` give another ``now``."""
    return run_sync(
        connector,
        config,
        dry_run=False,
        progress=SilentProgress(),
        retry=FAST_RETRY,
        **{"now": NOW, **options},
    )


def list_members(crm: HubSpotSandbox, segment: str) -> set[str]:
    found = crm.store.list_by_name(f"segsync: {segment}")
    assert found is not None, segment
    return crm.store.list_members(found["listId"])
