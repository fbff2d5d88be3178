"""The planner is pure: exact plans from desired assignments and the CRM's current state."""

from __future__ import annotations

import pandas as pd

from connectors.base import FieldInfo, ListRef, PropertyWrite
from sync.config import SyncOptions
from sync.plan import SegmentTarget, build_plan, fields_to_ensure, segment_fields

OPTIONS = SyncOptions()
TARGETS = (
    SegmentTarget("Enterprise", 100, "segsync: Enterprise"),
    SegmentTarget("Engaged", 50, "segsync: Engaged"),
)


def assignments(rows: dict[str, tuple[str | None, tuple[str, ...], str]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["primary", "segments", "reason"]
    ).astype(object)


def current(rows: dict[str, tuple[str | None, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["segsync_segment", "segsync_segments", "segsync_reason"],
    ).astype(object)


DESIRED = assignments(
    {
        "1": ("Enterprise", ("Enterprise", "Engaged"), "Enterprise: employees >= 1000"),
        "2": ("Engaged", ("Engaged",), "Engaged: opens >= 5"),
        "3": (None, (), ""),
    }
)
EXISTING_FIELDS = {
    spec.name: FieldInfo(spec.name, spec.label, "string", spec.options)
    for spec in segment_fields(OPTIONS, ["Enterprise", "Engaged"])
}


def test_first_sync_creates_fields_writes_everyone_assigned_and_fills_lists() -> None:
    plan = build_plan(
        options=OPTIONS,
        targets=TARGETS,
        assignments=DESIRED,
        existing_fields={},
        current_values=current(
            {"1": (None, None, None), "2": (None, None, None), "3": (None, None, None)}
        ),
        lists={"Enterprise": None, "Engaged": None},
        members={},
    )
    assert [spec.name for spec in plan.fields] == [
        "segsync_segment",
        "segsync_segments",
        "segsync_reason",
    ]
    assert plan.fields[0].options == ("Enterprise", "Engaged")
    assert plan.writes == (
        PropertyWrite(
            "1",
            {
                "segsync_segment": "Enterprise",
                "segsync_segments": "Enterprise;Engaged",
                "segsync_reason": "Enterprise: employees >= 1000",
            },
        ),
        PropertyWrite(
            "2",
            {
                "segsync_segment": "Engaged",
                "segsync_segments": "Engaged",
                "segsync_reason": "Engaged: opens >= 5",
            },
        ),
    )
    assert [(c.segment, c.list_ref, c.add, c.remove) for c in plan.list_changes] == [
        ("Enterprise", None, ("1",), ()),
        ("Engaged", None, ("1", "2"), ()),
    ]
    assert not plan.is_empty


def test_in_sync_state_plans_nothing() -> None:
    plan = build_plan(
        options=OPTIONS,
        targets=TARGETS,
        assignments=DESIRED,
        existing_fields=EXISTING_FIELDS,
        current_values=current(
            {
                "1": ("Enterprise", "Enterprise;Engaged", "Enterprise: employees >= 1000"),
                "2": ("Engaged", "Engaged", "Engaged: opens >= 5"),
                "3": (None, "", None),
            }
        ),
        lists={
            "Enterprise": ListRef("11", "segsync: Enterprise"),
            "Engaged": ListRef("12", "segsync: Engaged"),
        },
        members={"Enterprise": {"1"}, "Engaged": {"1", "2"}},
    )
    assert plan.fields == ()
    assert plan.writes == ()
    assert plan.is_empty


def test_only_differing_fields_are_written_and_leavers_are_removed() -> None:
    plan = build_plan(
        options=OPTIONS,
        targets=TARGETS,
        assignments=DESIRED,
        existing_fields=EXISTING_FIELDS,
        current_values=current(
            {
                "1": ("Enterprise", "Enterprise;Engaged", "an old reason"),
                "2": ("Engaged", "Engaged", "Engaged: opens >= 5"),
                "3": ("Enterprise", "Enterprise", "Enterprise: employees >= 1000"),
            }
        ),
        lists={
            "Enterprise": ListRef("11", "segsync: Enterprise"),
            "Engaged": ListRef("12", "segsync: Engaged"),
        },
        members={"Enterprise": {"1", "3", "99"}, "Engaged": {"1", "2"}},
    )
    assert plan.writes == (
        PropertyWrite("1", {"segsync_reason": "Enterprise: employees >= 1000"}),
        PropertyWrite("3", {"segsync_segment": "", "segsync_segments": "", "segsync_reason": ""}),
    )
    # 99 was not segmented (not pulled): absence is not departure, it stays and is counted.
    assert [(c.segment, c.add, c.remove, c.unseen) for c in plan.list_changes] == [
        ("Enterprise", (), ("3",), 1),
        ("Engaged", (), (), 0),
    ]


def test_a_new_segment_extends_the_select_options() -> None:
    wanted = segment_fields(OPTIONS, ["Enterprise", "Engaged", "At risk"])
    missing = fields_to_ensure(wanted, EXISTING_FIELDS)
    assert [(spec.name, spec.options) for spec in missing] == [
        ("segsync_segment", ("Enterprise", "Engaged", "At risk")),
        ("segsync_segments", ("Enterprise", "Engaged", "At risk")),
    ]
