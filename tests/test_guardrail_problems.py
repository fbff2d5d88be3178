"""``guardrail_problems`` on its own: each guardrail trips just past its threshold and not at
it, with the exact words the operator reads; and what ``--force`` overrides. Pure: plans are
built by hand, no CRM."""

from __future__ import annotations

import pickle
from typing import Any, cast

import pandas as pd
import pytest

from connectors.base import ListRef, PropertyWrite
from segment_core.segmenter import Segmentation
from sync.config import Guardrails
from sync.guardrails import GuardrailTripped, guardrail_problems
from sync.outcome import PullCount, SyncOutcome
from sync.plan import ListChange, OrphanAction, OrphanList, Plan
from sync.status import RunMode, RunStatus

FIELD = "segsync_segment"


def ids(count: int) -> tuple[str, ...]:
    return tuple(str(i) for i in range(count))


def writes(count: int) -> tuple[PropertyWrite, ...]:
    return tuple(PropertyWrite(cid, {FIELD: "Big"}) for cid in ids(count))


def removing(count: int, segment: str = "Big") -> Plan:
    """A plan that takes ``count`` members out of the segment's list."""
    change = ListChange(segment, f"segsync: {segment}", ListRef("L1", segment), (), ids(count))
    return Plan(fields=(), writes=(), list_changes=(change,))


def problems(plan: Plan, **given: Any) -> list[str]:
    """The problems with a quiet default for everything the test does not set."""
    options: dict[str, Any] = {
        "rules": Guardrails(),
        "list_sizes": {},
        "contacts": 0,
        "previous_contacts": None,
        "full_pull": False,
    }
    return guardrail_problems(plan, **(options | given))


EMPTY = Plan(fields=(), writes=(), list_changes=())


# --- the pull ended early -------------------------------------------------------------------


def test_a_pull_that_returned_every_counted_contact_is_not_a_problem() -> None:
    assert problems(EMPTY, pull=PullCount(pulled=100, counted=100)) == []
    assert problems(EMPTY, pull=PullCount(pulled=101, counted=100)) == []
    assert problems(EMPTY, pull=PullCount(pulled=3, counted=None)) == []


def test_a_pull_one_contact_short_of_the_crm_count_trips() -> None:
    assert problems(EMPTY, pull=PullCount(pulled=99, counted=100)) == [
        "the pull ended early: it returned 99 of the 100 contacts the CRM counts (99%), "
        "so the others cannot be checked"
    ]
    assert problems(EMPTY, pull=PullCount(pulled=1_500, counted=2_000)) == [
        "the pull ended early: it returned 1,500 of the 2,000 contacts the CRM counts (75%), "
        "so the others cannot be checked"
    ]


# --- a list loses too many members ----------------------------------------------------------


def test_a_list_may_lose_exactly_its_share_of_members() -> None:
    assert problems(removing(2), list_sizes={"Big": 10}) == []  # 20% of 10


def test_a_list_losing_more_than_its_share_trips() -> None:
    assert problems(removing(3), list_sizes={"Big": 10}) == [
        "list 'segsync: Big' would lose 3 of its 10 members (more than 20%)"
    ]


def test_the_removal_share_is_the_configured_one() -> None:
    rules = Guardrails(max_list_removal_share=0.5)
    assert problems(removing(5), rules=rules, list_sizes={"Big": 10}) == []
    assert problems(removing(6), rules=rules, list_sizes={"Big": 10}) == [
        "list 'segsync: Big' would lose 6 of its 10 members (more than 50%)"
    ]


def test_a_list_of_unknown_or_no_size_never_trips_the_removal_guardrail() -> None:
    assert problems(removing(3), list_sizes={}) == []
    assert problems(removing(3), list_sizes={"Big": 0}) == []


# --- orphan lists ---------------------------------------------------------------------------


def orphaned(action: OrphanAction, members: int | None, *, gone: bool = False) -> Plan:
    ref = None if gone else ListRef("L9", "segsync: Old")
    orphan = OrphanList("Old", "segsync: Old", ref, members, action)
    return Plan(fields=(), writes=(), list_changes=(), orphans=(orphan,))


@pytest.mark.parametrize(
    ("action", "members", "verb", "lost"),
    [
        ("empty", 5, "emptied", "5 members"),
        ("delete", 1_200, "deleted", "1,200 members"),
        ("delete", None, "deleted", "members"),
    ],
)
def test_an_orphan_list_that_loses_its_members_trips(
    action: OrphanAction, members: int | None, verb: str, lost: str
) -> None:
    assert problems(orphaned(action, members)) == [
        f"orphan list 'segsync: Old' (segment 'Old' is no longer configured) would be {verb}: "
        f"it loses all its {lost}"
    ]


def test_an_orphan_list_kept_empty_or_gone_is_not_a_problem() -> None:
    assert problems(orphaned("keep", 5)) == []
    assert problems(orphaned("empty", 0)) == []
    assert problems(orphaned("delete", 0)) == []
    assert problems(orphaned("delete", 5, gone=True)) == []


# --- a first sync overwrites someone else's values ------------------------------------------


def test_a_first_sync_overwriting_a_value_it_did_not_write_trips() -> None:
    current = pd.DataFrame({FIELD: ["Old", "", None]}, index=["0", "1", "2"], dtype=object)
    plan = Plan(fields=(), writes=writes(3), list_changes=())
    assert problems(plan, first_sync_values=current) == [
        f"this first sync would overwrite non-empty values segsync did not write: 1 of {FIELD}"
    ]


def test_a_first_sync_filling_empty_values_is_not_a_problem() -> None:
    current = pd.DataFrame({FIELD: ["", None]}, index=["0", "1"], dtype=object)
    plan = Plan(fields=(), writes=writes(2), list_changes=())
    assert problems(plan, first_sync_values=current) == []


def test_values_are_only_checked_on_a_first_sync() -> None:
    plan = Plan(fields=(), writes=writes(1), list_changes=())
    assert problems(plan, first_sync_values=None) == []


# --- too many contacts rewritten ------------------------------------------------------------


def test_a_run_may_rewrite_exactly_its_share_of_contacts() -> None:
    plan = Plan(fields=(), writes=writes(5), list_changes=())
    assert problems(plan, contacts=10, previous_contacts=10) == []  # 50% of 10


def test_rewriting_more_than_the_share_of_contacts_trips() -> None:
    plan = Plan(fields=(), writes=writes(6), list_changes=())
    assert problems(plan, contacts=10, previous_contacts=10) == [
        "6 of 10 contacts would be rewritten (more than 50%)"
    ]


def test_a_first_sync_may_rewrite_every_contact() -> None:
    plan = Plan(fields=(), writes=writes(10), list_changes=())
    assert problems(plan, contacts=10, previous_contacts=None) == []


# --- a full pull returned too few contacts --------------------------------------------------


def test_a_full_pull_may_return_exactly_its_share_of_last_time() -> None:
    assert problems(EMPTY, contacts=8, previous_contacts=10, full_pull=True) == []  # 80%


def test_a_full_pull_returning_fewer_than_its_share_of_last_time_trips() -> None:
    assert problems(EMPTY, contacts=7, previous_contacts=10, full_pull=True) == [
        "the pull returned 7 contacts, against 10 last time (fewer than 80%)"
    ]


def test_an_incremental_pull_is_not_held_to_last_time_s_count() -> None:
    assert problems(EMPTY, contacts=7, previous_contacts=10, full_pull=False) == []


def test_the_changed_and_pulled_shares_are_the_configured_ones() -> None:
    rules = Guardrails(max_changed_share=0.4, min_pulled_share=0.5)
    rewrite_4, rewrite_5 = (Plan(fields=(), writes=writes(n), list_changes=()) for n in (4, 5))
    assert problems(rewrite_4, rules=rules, contacts=10, previous_contacts=10) == []
    assert problems(rewrite_5, rules=rules, contacts=10, previous_contacts=10) == [
        "5 of 10 contacts would be rewritten (more than 40%)"
    ]
    pulled = {"rules": rules, "previous_contacts": 10, "full_pull": True}
    assert problems(EMPTY, contacts=5, **pulled) == []
    assert problems(EMPTY, contacts=4, **pulled) == [
        "the pull returned 4 contacts, against 10 last time (fewer than 50%)"
    ]


# --- what --force overrides -----------------------------------------------------------------


def test_every_reason_is_listed_at_once_in_a_fixed_order() -> None:
    """``--force`` writes past all of them at once (the run records them, a plain run stops on
    them), so none may hide behind the first."""
    change = removing(3).list_changes[0]
    orphan = orphaned("delete", 4).orphans[0]
    plan = Plan(fields=(), writes=writes(6), list_changes=(change,), orphans=(orphan,))
    current = pd.DataFrame({FIELD: ["Old"]}, index=["0"], dtype=object)

    found = problems(
        plan,
        list_sizes={"Big": 10},
        contacts=7,
        previous_contacts=10,
        full_pull=True,
        pull=PullCount(pulled=7, counted=8),
        first_sync_values=current,
    )

    assert found == [
        "the pull ended early: it returned 7 of the 8 contacts the CRM counts (88%), "
        "so the others cannot be checked",
        "list 'segsync: Big' would lose 3 of its 10 members (more than 20%)",
        "orphan list 'segsync: Old' (segment 'Old' is no longer configured) would be deleted: "
        "it loses all its 4 members",
        f"this first sync would overwrite non-empty values segsync did not write: 1 of {FIELD}",
        "6 of 7 contacts would be rewritten (more than 50%)",
        "the pull returned 7 contacts, against 10 last time (fewer than 80%)",
    ]


def test_a_tripped_guardrail_names_every_problem_and_carries_the_stopped_run() -> None:
    outcome = stopped_outcome(("list 'A' would lose 3 of its 10 members", "6 of 7 contacts"))

    tripped = GuardrailTripped(outcome)

    assert str(tripped) == "list 'A' would lose 3 of its 10 members; 6 of 7 contacts"
    assert tripped.outcome is outcome
    assert str(pickle.loads(pickle.dumps(tripped))) == str(tripped)


def stopped_outcome(found: tuple[str, ...]) -> SyncOutcome:
    """The run a guardrail stopped, reduced to what the exception reads (its problems)."""
    return SyncOutcome(
        run_id=1,
        mode=RunMode.FULL,
        status=RunStatus.GUARDRAIL_ABORT,
        targets=(),
        segmentation=cast(Segmentation, None),  # the exception never reads it
        plan=EMPTY,
        result=None,
        api_calls=0,
        retries=0,
        fallback=None,
        problems=found,
    )
