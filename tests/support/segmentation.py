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
