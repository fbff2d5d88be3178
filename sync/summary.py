"""The short summary every run ends with, printed for a person (``sync.outcome`` holds the JSON
record machines read)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console

from sync.outcome import (
    SyncOutcome,
    audit_summary,
    cluster_summary,
    summary_json,
    summary_rows,
)
from sync.tables import narrow_table, number_column, print_table, text_column
from sync.terminal import escaped, text

PLAN_SAMPLE_SIZE = 5


def pull_lines(pull: dict[str, Any]) -> list[str]:
    """The pull summary in words; nothing when there is nothing to say."""
    lines = []
    if pull["complete"] is False:
        lines.append(
            f"the pull ended early: {pull['pulled']:,} of the {pull['crm_count']:,} contacts "
            "the CRM counts"
        )
    if pull["members_unseen"]:
        lines.append(
            f"{pull['members_unseen']:,} list members not seen in the pull were left alone"
        )
    if pull["deleted_forgotten"]:
        lines.append(f"{pull['deleted_forgotten']:,} contacts deleted in the CRM were forgotten")
    return lines


def print_summary(console: Console, outcome: SyncOutcome, title: str) -> None:
    """The per-segment table and one line of totals."""
    verb = "planned" if outcome.dry_run else "done"
    table = narrow_table(text(f"{title} ({verb})"))
    text_column(table, "Segment")
    for column in ("Priority", "Members", "Primary", "Written", "List +", "List −"):
        number_column(table, column)
    for row in summary_rows(outcome):
        table.add_row(
            text(row["segment"]),
            str(row["priority"]),
            f"{row['members']:,}",
            f"{row['primary']:,}",
            f"{row['written']:,}",
            f"{row['list_adds']:,}",
            f"{row['list_removes']:,}",
        )
    print_table(console, table)
    data = summary_json(outcome)
    unmatched = int((outcome.assignments["segments"].map(len) == 0).sum())
    fallback = outcome.fallback
    console.print(
        f"{data['contacts']:,} contacts · {unmatched:,} in no segment"
        + (f" (primary: {escaped(fallback)})" if fallback else "")
        + " · "
        f"{data['property_writes']:,} property writes {verb} · "
        f"{outcome.plan.list_adds():,} list adds · {outcome.plan.list_removes():,} list removes · "
        f"{len(data['failures']):,} records refused · "
        f"{data['api_calls']:,} API calls · {data['retries']} retries"
    )
    for line in pull_lines(data["pull"]):
        console.print(f"Pull: {line}", highlight=False)
    print_segment_checks(console, outcome)
    for line in orphan_lines(outcome):
        console.print(text(line), soft_wrap=True)
    for problem in outcome.problems:
        console.print(text(f"Guardrail: {problem}"), soft_wrap=True)
    if outcome.dry_run:
        print_plan_sample(console, outcome)


def print_segment_checks(console: Console, outcome: SyncOutcome) -> None:
    """Clusters, data-quality audit and segment validation, one short line each."""
    for item in cluster_summary(outcome):
        how = f"fitted: {item['why']}" if item["refitted"] else item["why"]
        console.print(text(f"Cluster set {item['set']}: {len(item['clusters'])} clusters ({how})"))
    for line in audit_lines(audit_summary(outcome)):
        console.print(text(f"Audit: {line}"))
    for finding in outcome.segmentation.validation.findings:
        console.print(text(f"Validation {finding.severity}: {finding.message}"))


ORPHAN_ACTIONS = {
    "keep": "kept",
    "empty": "emptied",
    "delete": "deleted",
}


def orphan_lines(outcome: SyncOutcome) -> list[str]:
    """One line per list of a segment no longer configured, and what this run does with it."""
    lines = []
    for orphan in outcome.plan.orphans:
        head = (
            f"Orphan list {orphan.list_name!r} (segment {orphan.segment!r} is no longer "
            f"configured)"
        )
        if orphan.list_ref is None:
            lines.append(f"{head}: gone from the CRM, forgotten")
            continue
        members = "? members" if orphan.members is None else f"{orphan.members:,} members"
        verb = ORPHAN_ACTIONS[orphan.action]
        done = verb if not outcome.dry_run or orphan.action == "keep" else f"to be {verb}"
        lines.append(f'{head}: {members}, {done} (sync.orphan_lists = "{orphan.action}")')
    return lines


def audit_lines(audit: dict[str, Any]) -> list[str]:
    """The audit summary in words (``segsync audit`` gives the detail)."""
    lines = [
        f"{risk['field']} is {risk['missing_share']:.0%} empty: puts {risk['segment']} at risk"
        for risk in audit["segments_at_risk"]
    ]
    if audit["duplicate_groups"]:
        lines.append(
            f"{audit['duplicate_contacts']:,} contacts look like duplicates "
            f"({audit['duplicate_groups']:,} groups)"
        )
    if audit["format_variants"]:
        lines.append(
            "values spelt several ways (case or spaces) in " + ", ".join(audit["format_variants"])
        )
    lines += [
        f"{field}: {count:,} values do not read as the field's type"
        for field, count in audit["unparsable_cells"].items()
    ]
    return lines


def print_plan_sample(console: Console, outcome: SyncOutcome) -> None:
    """A few planned writes, so a person can check the plan before running it for real."""
    if outcome.plan.fields:
        names = ", ".join(spec.name for spec in outcome.plan.fields)
        console.print(text(f"Fields to create or extend: {names}"))
    calls = outcome.batches_planned
    rate = outcome.requests_per_second
    at_rate = f", about {calls / rate:,.1f} s at {rate:g} requests/s" if rate else ""
    console.print(f"Estimated: {calls:,} write call{'' if calls == 1 else 's'}{at_rate}.")
    before = outcome.current_values
    for write in outcome.plan.writes[:PLAN_SAMPLE_SIZE]:
        console.print(text(f"  contact {write.contact_id}:"))
        for key, value in write.values.items():
            old = before.at[write.contact_id, key] if write.contact_id in before.index else None
            console.print(text(f"    {key}: {_shown(old)} → {_shown(value)}"))
    if len(outcome.plan.writes) > PLAN_SAMPLE_SIZE:
        console.print(f"  … and {len(outcome.plan.writes) - PLAN_SAMPLE_SIZE:,} more")
    console.print("Dry run: nothing was written.")


def _shown(value: object) -> str:
    """A property value as a person reads it; nothing at all reads as "(empty)"."""
    return "(empty)" if value is None or pd.isna(value) or value == "" else str(value)
