"""The cluster models a sync stored, read back from its state store."""

from __future__ import annotations

from pathlib import Path

from segment_core import ClusterSegmenter
from segment_core.cluster_state import from_state
from sync.config import load_settings
from sync.state.store import StateStore


def stored_model(config: Path, set_name: str) -> ClusterSegmenter:
    """The stored model of cluster set ``set_name`` of the sync configured in ``config``."""
    settings = load_settings(config)
    store = StateStore(settings.state_url(), settings.sync.name)
    try:
        return from_state(store.models()[set_name])
    finally:
        store.close()
