"""Reading and seeding segsync's state store in a state folder, as a sync left it."""

from __future__ import annotations

from pathlib import Path

from sync.effect import BatchEffect
from sync.state.engine import default_url
from sync.state.failures import RecordFailure
from sync.state.store import StateStore


def state_store(state: Path) -> StateStore:
    return StateStore(default_url(state), "default")


def remembered(state: Path) -> dict[str, set[str]]:
    """Which contact ids each part of the state store holds."""
    store = state_store(state)
    try:
        members = store.members()
        return {
            "mirror": set(store.mirror()),
            "synced": set(store.synced_fields()),
            "failures": {failure.contact_id for failure in store.failures()},
            **{f"list {name}": ids for name, ids in members.items()},
        }
    finally:
        store.close()


def remember_a_refusal(state: Path, run_id: int, contact_id: str) -> None:
    """What the store keeps when the CRM refused a write of ``contact_id`` in run ``run_id``."""
    store = state_store(state)
    failure = RecordFailure(contact_id, run_id, "INVALID_OPTION", "refused", False, 0)
    store.record_batch(run_id, 10_000, BatchEffect("write", "contacts", 1), refusals=[failure])
    store.close()
