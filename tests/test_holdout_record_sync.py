"""The holdout record through real syncs against the HubSpot sandbox: who entered a held-out
segment on which run, in which group, who had converted on entry, who converted since, and
that deleted and erased contacts leave it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.config import Settings
from sync.config.models import ReportOptions
from sync.outcome import SyncOutcome
from sync.pipeline import run_sync
from sync.plan import in_holdout
from sync.progress import SilentProgress
from sync.state.holdouts import HoldoutEntry
from tests.conftest import make_settings
from tests.support.state_store import state_store

SEGMENT = "Engaged"
SHARE = 0.5
FIRST_RUN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND_RUN = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
THIRD_RUN = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


def settings_for(crm: HubSpotSandbox, state: Path) -> Settings:
    segments = [{"name": SEGMENT, "priority": 10, "rule": "hs_email_open >= 5", "holdout": SHARE}]
    settings = make_settings(crm, segments, state)
    report = ReportOptions(conversion_field="lifecyclestage", conversion_values=["customer"])
    return settings.model_copy(update={"report": report})


def contact(opens: int, stage: str = "lead") -> dict[str, str]:
    return {"hs_email_open": str(opens), "lifecyclestage": stage, "employees": "10"}


def run(
    connector: HubSpotConnector, settings: Settings, now: datetime, dry: bool = False
) -> SyncOutcome:
    """A sync at ``now``."""
    return run_sync(connector, settings, dry_run=dry, progress=SilentProgress(), now=now)


def entry(
    contact_id: str,
    run_id: int,
    entered: datetime,
    *,
    on_entry: bool = False,
    converted_at: datetime | None = None,
) -> HoldoutEntry:
    return HoldoutEntry(
        SEGMENT,
        contact_id,
        run_id,
        entered,
        in_holdout(contact_id, SEGMENT, SHARE),
        on_entry,
        converted_at,
    )


def test_entries_conversions_and_forgetting_across_runs(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    settings = settings_for(crm, tmp_path)
    converts, stays, deleted, erased, leaves, customer, later = crm.store.add_contacts(
        [
            contact(9),
            contact(7),
            contact(8),
            contact(6),
            contact(5),
            contact(9, "customer"),  # converted before entering: in neither group
            contact(0),  # enters on the second run
        ]
    )
    first = run(connector, settings, FIRST_RUN).run_id

    crm.store.set_properties(converts, {"lifecyclestage": "customer"})
    crm.store.set_properties(later, {"hs_email_open": "12"})
    crm.store.set_properties(leaves, {"hs_email_open": "0"})  # leaves; its entry stays
    crm.store.archive_contact(deleted)
    second_run = run(connector, settings, SECOND_RUN)
    assert second_run.mode == "incremental"  # the conversion and the entry come from a search
    second = second_run.run_id

    crm.store.set_properties(stays, {"lifecyclestage": "customer"})  # only in a dry run
    run(connector, settings, THIRD_RUN, dry=True)

    store = state_store(tmp_path)
    try:
        assert sorted(store.holdout_entries(), key=lambda e: int(e.contact_id)) == [
            entry(converts, first, FIRST_RUN, converted_at=SECOND_RUN),
            entry(stays, first, FIRST_RUN),
            entry(erased, first, FIRST_RUN),
            entry(leaves, first, FIRST_RUN),
            entry(customer, first, FIRST_RUN, on_entry=True),
            entry(later, second, SECOND_RUN),
        ]
        store.forget_person(erased)
        assert erased not in {e.contact_id for e in store.holdout_entries()}
        assert store.holdout_recorded() == {SEGMENT: {converts, stays, leaves, customer, later}}
    finally:
        store.close()
    groups = {in_holdout(i, SEGMENT, SHARE) for i in (converts, stays, erased, leaves, later)}
    assert groups == {True, False}  # both groups are exercised


def test_a_sync_without_a_conversion_records_nothing(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    settings = settings_for(crm, tmp_path).model_copy(update={"report": ReportOptions()})
    crm.store.add_contacts([contact(9), contact(7)])
    run(connector, settings, FIRST_RUN)
    store = state_store(tmp_path)
    try:
        assert store.holdout_entries() == []
    finally:
        store.close()
