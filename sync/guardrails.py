"""Guardrails: refuse plans that look like a mistake rather than a change.

One bad rule or a half-failed pull must never empty a list that marketing automation
listens to. These checks are pure; the pipeline aborts before writing when any trips,
unless the operator passes ``--force``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from sync.config import Guardrails

if TYPE_CHECKING:  # types only: the outcome module imports this one
    from connectors.base import PropertyWrite
    from sync.outcome import PullCount, SyncOutcome
    from sync.plan import Plan


class GuardrailTripped(Exception):
    """The plan looks wrong; the message lists every reason. ``--force`` overrides.

    ``outcome`` is the run as planned and stopped (status ``guardrail_abort``, nothing
    executed), so callers can record, print or announce it. It is also the exception's one
    argument, which keeps the exception picklable and copyable as it is.
    """

    def __init__(self, outcome: SyncOutcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome

    def __str__(self) -> str:
        return "; ".join(self.outcome.problems)


def guardrail_problems(
    plan: Plan,
    *,
    rules: Guardrails,
    list_sizes: Mapping[str, int],
    contacts: int,
    previous_contacts: int | None,
    full_pull: bool,
    pull: PullCount | None = None,
    first_sync_values: pd.DataFrame | None = None,
) -> list[str]:
    """Every reason to stop before writing; empty when the plan is safe.

    ``pull`` (full pulls) trips when the pull returned fewer contacts than the CRM counts.
    ``first_sync_values`` are segsync's fields as the CRM holds them, given only when this
    sync never wrote to the CRM: values there are someone else's, and overwriting them is a
    decision, not a routine change.
    """
    problems = []
    if pull is not None and not pull.complete:
        assert pull.counted is not None  # complete otherwise
        problems.append(
            f"the pull ended early: it returned {pull.pulled:,} of the {pull.counted:,} contacts "
            f"the CRM counts ({pull.pulled / pull.counted:.0%}), so the others cannot be checked"
        )
    for change in plan.list_changes:
        size = list_sizes.get(change.segment, 0)
        if size and len(change.remove) > size * rules.max_list_removal_share:
            problems.append(
                f"list {change.list_name!r} would lose {len(change.remove):,} of its {size:,} "
                f"members (more than {rules.max_list_removal_share:.0%})"
            )
    for orphan in plan.orphans:
        if orphan.loses_members:
            verb = "emptied" if orphan.action == "empty" else "deleted"
            members = "members" if orphan.members is None else f"{orphan.members:,} members"
            problems.append(
                f"orphan list {orphan.list_name!r} (segment {orphan.segment!r} is no longer "
                f"configured) would be {verb}: it loses all its {members}"
            )
    if first_sync_values is not None:
        overwritten = overwritten_values(plan.writes, first_sync_values)
        if overwritten:
            counts = ", ".join(f"{count:,} of {name}" for name, count in overwritten.items())
            problems.append(
                f"this first sync would overwrite non-empty values segsync did not write: "
                f"{counts}"
            )
    if previous_contacts and contacts and len(plan.writes) > contacts * rules.max_changed_share:
        problems.append(
            f"{len(plan.writes):,} of {contacts:,} contacts would be rewritten "
            f"(more than {rules.max_changed_share:.0%})"
        )
    if full_pull and previous_contacts and contacts < previous_contacts * rules.min_pulled_share:
        problems.append(
            f"the pull returned {contacts:,} contacts, against {previous_contacts:,} last time "
            f"(fewer than {rules.min_pulled_share:.0%})"
        )
    return problems


def overwritten_values(writes: Sequence[PropertyWrite], current: pd.DataFrame) -> dict[str, int]:
    """Per field, how many of ``writes`` replace a non-empty value ``current`` holds."""
    if not writes:
        return {}
    planned = pd.DataFrame.from_records(
        [write.values for write in writes], index=[write.contact_id for write in writes]
    )
    before = current.reindex(index=planned.index, columns=planned.columns)
    replaced = planned.notna() & before.notna() & before.astype(str).ne("")
    counts = replaced.sum()
    return {str(name): int(count) for name, count in counts.items() if count}
