"""What the segment report is made from: plain dataclasses, so any run can fill them.

The report reads nothing itself (no CRM, no config, no state store): the caller hands over the
typed contacts and what segmentation made of them. That keeps it a pure function of its input,
testable with generated data, and independent of how clusters or run history are produced;
cluster profiles and runs are therefore plain frames and mappings, not another module's types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pandas as pd

from segment_core import RuleSegment, describe, referenced_fields
from sync.conversion import Conversion
from sync.moves import MigrationView
from sync.report.lift import RECORD_COLUMNS

RUN_KEYS = (
    "id",
    "started_at",
    "finished_at",
    "status",
    "contacts",
    "writes",
    "list_adds",
    "list_removes",
    "failures",
    "api_calls",
)
"""The keys of one run in ``ReportInput.run_history``."""

ASSIGNMENT_COLUMNS = ("primary", "segments", "reason")


@dataclass(frozen=True)
class SegmentDefinition:
    """One segment as people configured it.

    ``definition`` is what the report shows as the segment's definition: the rule as text for a
    rule segment, a sentence about the features for a cluster. ``fields`` are the contact fields
    the definition reads; the report marks them in field completeness and leaves them out of
    the segment's key traits (a segment defined by industry is trivially rich in it).
    """

    name: str
    priority: int
    definition: str
    kind: Literal["rule", "cluster"] = "rule"
    description: str = ""
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterRuleFigures:
    """A cluster as a rule people can read (``segment_core.cluster_rules``), and how well the
    rule matches the cluster: ``precision`` and ``recall``, shares (0-1)."""

    expression: str
    precision: float
    recall: float


@dataclass(frozen=True)
class ClusterModelStatus:
    """One cluster set's model: when it was last trained (None: unknown, a model stored before
    fit times were kept), whether this run refit it and why, the drift of the contacts since the
    last refit (None when this run refit it), and the refresh cadence (None: on drift only)."""

    set_name: str
    fitted_at: datetime | None
    refitted: bool
    reason: str
    distance_increase: float | None = None
    share_shift: float | None = None
    refit_every: timedelta | None = None


@dataclass(frozen=True, eq=False)
class ClusterProfile:
    """What sets one cluster apart, as the clustering step measured it.

    ``means`` is indexed by numeric feature with columns ``cluster`` and ``overall`` (the mean
    over the cluster and over all contacts). ``top_categories`` maps a categorical field to its
    most common values in the cluster with their share of the cluster (0-1), most common first.
    ``rule``: the cluster as a rule, when one was found.
    """

    segment: str
    size: int
    share: float
    means: pd.DataFrame
    top_categories: Mapping[str, Sequence[tuple[str, float]]] = field(default_factory=dict)
    rule: ClusterRuleFigures | None = None

    def __post_init__(self) -> None:
        missing = {"cluster", "overall"} - set(self.means.columns)
        if missing:
            raise ValueError(
                f"cluster {self.segment!r}: means needs the columns cluster and overall, "
                f"missing {', '.join(sorted(missing))}"
            )


@dataclass(frozen=True, eq=False)
class ReportInput:
    """Everything one report shows.

    - ``contacts``: typed contact fields (``coerce_frame(...).data``), indexed by contact id;
      every column is profiled, so pass the fields worth reading, not just the rules' ones.
    - ``membership``: one bool column per segment (``membership_table``), same index.
    - ``assignments``: ``primary``, ``segments`` and ``reason`` per contact (``resolve``).
    - ``segments``: the definitions, in config order; one per ``membership`` column.
    - ``clusters``: profiles of the cluster segments, if any.
    - ``cluster_models``: the model of each cluster set: its age, last refit and drift since.
    - ``previous_sizes``: each segment's size at the last run, to show the change (None: first
      run, or not recorded).
    - ``run_history``: past runs, each a mapping with the keys in ``RUN_KEYS``.
    - ``conversion`` and ``revenue_field``: how to measure each segment's conversion rate and
      revenue; either may be None to leave that figure out.
    - ``field_labels``: the CRM's labels of the fields (``FieldInfo.label``), for plain words.
    - ``size_history``: each segment's size (columns, by name) at each past run (rows, indexed
      by the run's start time, oldest first), for the trend chart.
    - ``holdouts``: the holdout share of each segment that keeps one, and ``holdout_record``
      when their contacts entered them (columns ``lift.RECORD_COLUMNS``), for the holdout lift.
    - ``migrations``: the matrices of moves between primary segments to show (last run, period).
    """

    contacts: pd.DataFrame
    membership: pd.DataFrame
    assignments: pd.DataFrame
    segments: Sequence[SegmentDefinition]
    clusters: Sequence[ClusterProfile] = ()
    cluster_models: Sequence[ClusterModelStatus] = ()
    previous_sizes: Mapping[str, int] | None = None
    run_history: Sequence[Mapping[str, Any]] = ()
    conversion: Conversion | None = None
    revenue_field: str | None = None
    field_labels: Mapping[str, str] = field(default_factory=dict)
    size_history: pd.DataFrame = field(default_factory=pd.DataFrame)
    holdouts: Mapping[str, float] = field(default_factory=dict)
    holdout_record: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(RECORD_COLUMNS))
    )
    migrations: Sequence[MigrationView] = ()
    title: str = "Segment report"
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        names = [segment.name for segment in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        if list(self.membership.columns) != names:
            raise ValueError(
                f"membership columns {list(self.membership.columns)} must be the segments "
                f"in config order {names}"
            )
        for frame_name, frame in (
            ("membership", self.membership),
            ("assignments", self.assignments),
        ):
            if not frame.index.equals(self.contacts.index):
                raise ValueError(f"{frame_name} must have the contacts' index (contact ids)")
        missing = [column for column in ASSIGNMENT_COLUMNS if column not in self.assignments]
        if missing:
            raise ValueError(f"assignments lacks the column(s) {', '.join(missing)}")
        unknown_clusters = [c.segment for c in self.clusters if c.segment not in names]
        if unknown_clusters:
            raise ValueError(f"cluster profiles for unknown segments: {unknown_clusters}")
        for role, name in (
            ("conversion", self.conversion.field if self.conversion else None),
            ("revenue", self.revenue_field),
        ):
            if name is not None and name not in self.contacts:
                raise ValueError(f"the {role} field {name!r} is not a contacts column")
        if self.revenue_field and not pd.api.types.is_numeric_dtype(
            self.contacts[self.revenue_field]
        ):
            raise ValueError(f"the revenue field {self.revenue_field!r} must be numeric")
        unknown_holdouts = [name for name in self.holdouts if name not in names]
        if unknown_holdouts:
            raise ValueError(f"holdout shares for unknown segments: {unknown_holdouts}")
        absent_columns = [c for c in RECORD_COLUMNS if c not in self.holdout_record]
        if absent_columns:
            raise ValueError(f"holdout_record lacks the column(s) {', '.join(absent_columns)}")
        for run in self.run_history:
            absent = [key for key in RUN_KEYS if key not in run]
            if absent:
                raise ValueError(f"run {run.get('id')!r} lacks {', '.join(absent)}")

    def label(self, field_name: str) -> str:
        """The field's label in the CRM, or its name when the CRM gave none."""
        return self.field_labels.get(field_name) or field_name


def rule_definitions(segments: Sequence[RuleSegment]) -> list[SegmentDefinition]:
    """``SegmentDefinition``s of parsed rule segments: the rule as text, and its fields."""
    return [
        SegmentDefinition(
            name=segment.name,
            priority=segment.priority,
            definition=describe(segment.rule),
            kind="rule",
            description=segment.description,
            fields=tuple(sorted(referenced_fields(segment.rule))),
        )
        for segment in segments
    ]
