"""The contacts of the last run, as the state store keeps them, bound to today's configuration.

``segsync explain`` and ``segsync clusters export`` answer from the state store, not from a new
pull: the contact values the last run read (the mirror), its time and its stored cluster
models. So what they say is what the last sync computed, and the CRM is asked for one thing,
its field list (the field types that read the mirror's text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from connectors.base import Connector
from sync.config import Settings
from sync.run_start import bind_segmentation
from sync.segmentation import SegmentationConfig, text_frame
from sync.state.store import StateStore


class NoLastRun(LookupError):
    """The state store cannot answer: no run yet, or the configuration reads fields it did not."""


@dataclass(frozen=True, eq=False)
class LastRun:
    """The configuration bound to the CRM's fields, the last run's contacts (text, as pulled)
    and when that run started."""

    config: SegmentationConfig
    contacts: pd.DataFrame
    started_at: datetime


def last_run(connector: Connector, settings: Settings, store: StateStore) -> LastRun:
    """The last run's contacts and time; ``NoLastRun`` says to run a sync when there is none,
    or when the configuration now reads fields that run did not pull."""
    last = store.last_run()
    mirror = store.mirror()
    if last is None or not mirror:
        raise NoLastRun(f"sync {settings.sync.name!r} has no run yet: run segsync sync first")
    config = bind_segmentation(settings, connector.describe_fields())
    read_fields = config.read_fields()
    unseen = sorted(set(read_fields) - (store.mirror_fields() or set()))
    if unseen:
        raise NoLastRun(
            f"the last run did not read {', '.join(unseen)} (the config changed since): "
            "run segsync sync first"
        )
    return LastRun(config, text_frame(mirror, read_fields), last.started_at)
