"""What the CRM must hold after a sync of the test segments, computed without segment_core.

The tests' segments are simple enough to evaluate by hand from the sandbox's raw values, so
a bug in segment_core or the planner cannot hide by agreeing with itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from pathlib import Path
from typing import Any

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import SandboxCRM
from sync.pipeline import SyncOutcome, run_sync
from sync.progress import SilentProgress
from sync.retry import RetryPolicy
from tests.conftest import make_settings

SEGMENTS = [
    {"name": "Big", "priority": 100, "rule": {"field": "employees", "op": ">=", "value": 200}},
    {"name": "Engaged", "priority": 50, "rule": "hs_email_open >= 5"},
    {"name": "Buyers", "priority": 50, "rule": "num_purchases > 0 and employees < 200"},
]
FAST_RETRY = RetryPolicy(initial_wait=0.01, max_wait=0.05)


def number(values: Mapping[str, str | None], name: str) -> float | None:
    text = values.get(name)
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def expected_segments(values: Mapping[str, str | None]) -> list[str]:
    """The segments a contact belongs to, in priority order (ties: config order)."""
    employees = number(values, "employees")
    opens = number(values, "hs_email_open")
    purchases = number(values, "num_purchases")
    matched = []
    if employees is not None and employees >= 200:
        matched.append("Big")
    if opens is not None and opens >= 5:
        matched.append("Engaged")
    if purchases is not None and purchases > 0 and employees is not None and employees < 200:
        matched.append("Buyers")
    return matched


def assert_crm_holds_desired_state(crm: SandboxCRM, ids: list[str]) -> None:
    expected_lists: dict[str, set[str]] = {s["name"]: set() for s in SEGMENTS}
    for contact_id in ids:
        values = crm.store.contact(contact_id)
        matched = expected_segments(values)
        assert (values.get("segsync_segment") or "") == (matched[0] if matched else ""), contact_id
        assert (values.get("segsync_segments") or "") == ";".join(matched), contact_id
        for name in matched:
            expected_lists[name].add(contact_id)
    for name, members in expected_lists.items():
        found = crm.store.list_by_name(f"segsync: {name}")
        assert found is not None, name
        assert crm.store.list_members(found["listId"]) == members, name


def sync(
    connector: HubSpotConnector,
    crm: SandboxCRM,
    state: Path,
    segments: list[dict[str, Any]] = SEGMENTS,
    **options: Any,
) -> SyncOutcome:
    """One sync of ``segments`` (the test segments by default), silent and with fast retries."""
    settings = make_settings(crm, segments, state, **options.pop("sync_options", {}))
    options.setdefault("dry_run", False)
    return run_sync(connector, settings, progress=SilentProgress(), retry=FAST_RETRY, **options)
