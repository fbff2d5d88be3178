"""``segsync demo``: the whole product on the embedded sandbox CRM, in one command.

It seeds a sandbox with generated B2B contacts, shows the plan of a first sync (nothing
written), syncs the demo segments (rules over CRM fields and RFM features, plus k-means
cluster segments, with the data-quality audit and segment validation), lets "a week" of
CRM edits happen (people change records, one overwrites segsync's own property, contacts are
archived, a marketer adds and removes list members by hand), syncs again — writing only the
difference, repairing the hand-edited lists — and finally proves the CRM now holds exactly the
desired state by planning once more: zero changes.
"""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.hubspot.store import ListRecord
from sync import history
from sync.clusters_export import print_rules, rules_of_run
from sync.config import Settings, load_settings
from sync.outcome import SyncOutcome
from sync.pipeline import run_sync
from sync.plan import in_holdout
from sync.progress import SilentProgress
from sync.report.build import write_report
from sync.runner import open_connector, run_and_report
from sync.state.store import StateStore

DEMO_TOKEN = "sandbox-demo-token"
EDITED_SHARE = 0.02
CAMPAIGN_SEGMENT = "Engaged prospects"
CAMPAIGN_CONVERSION = {"list": 0.15, "holdout": 0.05}
"""Shares of the campaign segment's list and of its holdout that become customers during the
simulated week: the list's nurture campaign works, so the report's holdout lift shows one."""


def demo_settings(base_url: str, state_dir: Path) -> Settings:
    """The packaged demo config, pointed at the running sandbox and a fresh state store."""
    settings = load_settings(Path(str(files("sync").joinpath("demo.toml"))))
    hubspot = settings.connector_settings().model_copy(
        update={"base_url": base_url, "token": SecretStr(DEMO_TOKEN)}
    )
    sync = settings.sync.model_copy(update={"state_dir": state_dir})
    return settings.model_copy(update={"hubspot": hubspot, "sync": sync})


def simulate_a_week(
    crm: HubSpotSandbox, ids: list[str], seed: int, list_names: list[str]
) -> dict[str, int]:
    """Edits people make between two syncs; returns how many of each kind were made."""
    rng = random.Random(seed)
    edited = rng.sample(ids, max(3, int(len(ids) * EDITED_SHARE)))
    third = len(edited) // 3
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for contact_id in edited[:third]:
        crm.store.set_properties(
            contact_id, {"lifecyclestage": "customer", "total_revenue": "82000"}
        )
    for contact_id in edited[third : 2 * third]:
        crm.store.set_properties(contact_id, {"notes_last_updated": now, "hs_email_open": "9"})
    overwritten = edited[2 * third :][:5]
    for contact_id in overwritten:
        crm.store.set_properties(contact_id, {"segsync_segment": ""})
    archived = edited[2 * third + 5 :]
    for contact_id in archived:
        crm.store.archive_contact(contact_id)
    added, removed = edit_lists_by_hand(crm, ids, rng, list_names)
    return {
        "lifecycle and revenue changes": third,
        "new activity": third,
        "segment property cleared by hand": len(overwritten),
        "contacts archived": len(archived),
        "list members added by hand": added,
        "list members removed by hand": removed,
    }


def run_campaign(
    crm: HubSpotSandbox, outcome: SyncOutcome, settings: Settings, seed: int
) -> dict[str, int]:
    """The campaign segment's list gets a nurture campaign for a week: a share of the list's
    members become customers, and a smaller share of the contacts held out of it (who convert
    on their own). Returns how many of each group converted."""
    rng = random.Random(seed)
    share = next(s.holdout for s in settings.segments if s.name == CAMPAIGN_SEGMENT)
    record = _segment_list(crm, settings.sync.list_name_pattern.format(segment=CAMPAIGN_SEGMENT))
    matching = outcome.segmentation.memberships[CAMPAIGN_SEGMENT]
    groups = {
        "list": sorted(map(str, record.members)),
        "holdout": sorted(
            cid for cid in matching.index[matching] if in_holdout(cid, CAMPAIGN_SEGMENT, share)
        ),
    }
    converted = {}
    for group, members in groups.items():
        chosen = rng.sample(members, round(len(members) * CAMPAIGN_CONVERSION[group]))
        for contact_id in chosen:
            crm.store.set_properties(contact_id, {"lifecyclestage": "customer"})
        converted[group] = len(chosen)
    return converted


def edit_lists_by_hand(
    crm: HubSpotSandbox, ids: list[str], rng: random.Random, list_names: list[str]
) -> tuple[int, int]:
    """A marketer adds three outsiders to the first segment's list and takes two members out of
    the second's: membership edits that no contact's modification date shows."""
    first, second = (_segment_list(crm, name) for name in list_names[:2])
    outsiders = [i for i in rng.sample(ids, 50) if int(i) not in first.members][:3]
    added, _ = crm.store.add_members(first, outsiders)
    removed, _ = crm.store.remove_members(second, sorted(map(str, second.members))[:2])
    return len(added), len(removed)


def _segment_list(crm: HubSpotSandbox, name: str) -> ListRecord:
    """The sandbox's list named ``name``, which the first sync created."""
    record = crm.store.live_list_named(name)
    if record is None:
        raise LookupError(f"the sandbox has no list named {name!r}")
    return record


def print_moves(console: Console, settings: Settings) -> None:
    """Who moved between primary segments in the last run (the report shows the matrix)."""
    store = StateStore(settings.state_url(), settings.sync.name)
    try:
        history.print_last_moves(console, store)
    finally:
        store.close()


def run_demo(console: Console, *, contacts: int, seed: int, report_path: Path) -> None:
    """Seed, sync, edit, sync again, then check that a third plan is empty."""
    with HubSpotSandbox(token=DEMO_TOKEN) as crm, tempfile.TemporaryDirectory() as state_dir:
        console.print(f"Sandbox CRM listening on {crm.base_url}")
        ids = crm.seed_contacts(contacts, seed=seed, reference_date=date.today())
        console.print(f"Seeded {len(ids):,} generated B2B contacts (seed {seed}).\n")
        settings = demo_settings(crm.base_url, Path(state_dir))
        connector = open_connector(settings)

        def sync(title: str, dry_run: bool = False) -> SyncOutcome:
            return run_and_report(
                console, connector, settings, dry_run=dry_run, as_json=False, title=title
            )

        try:
            sync("Plan: what a first sync would write", dry_run=True)
            console.print()
            first = sync("Run 1: first sync")
            list_names = [
                settings.sync.list_name_pattern.format(segment=segment.name)
                for segment in settings.segments
            ]
            edits = simulate_a_week(crm, ids, seed, list_names)
            made = ", ".join(f"{count} {kind}" for kind, count in edits.items())
            campaign = run_campaign(crm, first, settings, seed)
            console.print(
                f"\nA week passes in the CRM: {made}. The {CAMPAIGN_SEGMENT} campaign: "
                f"{campaign['list']} of the list and {campaign['holdout']} of the holdout "
                "became customers.\n"
            )
            sync("Run 2: only the difference")
            print_moves(console, settings)
            check = run_sync(connector, settings, dry_run=True, progress=SilentProgress())
        finally:
            connector.close()
        report = write_report(check, settings, report_path)
        console.print()
        print_rules(console, rules_of_run(check.segmentation, datetime.now(UTC)), datetime.now(UTC))
        verdict = "in sync" if check.plan.is_empty else "NOT in sync"
        console.print(
            f"\nRun 3 (dry run): {len(check.plan.writes)} property writes and "
            f"{check.plan.list_adds() + check.plan.list_removes()} list changes planned: "
            f"the CRM is {verdict}. {sum(crm.calls.values()):,} API calls served in all."
        )
        console.print(f"Segment report: {report}")
