"""The sections of segsync's own configuration, one pydantic model each.

The connectors' sections are not here: each connector declares its own settings model
(``connectors.base.ConnectorFactory.settings_model``) and ``sync.config.settings`` adds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from sync.names import pattern_problem
from sync.state.lease import DEFAULT_LEASE_SECONDS


class SegmentConfig(BaseModel):
    """One rule segment: a name, a priority (higher wins) and a rule (table or expression)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    priority: int = 0
    rule: dict[str, Any] | str
    description: str = ""
    holdout: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Share of the segment kept out of its list (chosen by a hash of the contact "
        "id and segment name, so stable), to measure what the list's campaigns add.",
    )

    @field_validator("name")
    @classmethod
    def _no_separator(cls, name: str) -> str:
        if ";" in name:
            raise ValueError("a segment name cannot contain ';' (CRMs use it to join values)")
        return name


class SyncOptions(BaseModel):
    """What one sync is called, where it keeps its state and where it writes in the CRM."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        default="default", min_length=1, description="Names this sync in the state store."
    )
    state_dir: Path = Field(
        default=Path(".segsync"), description="Where the SQLite state store lives."
    )
    state_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the state store (e.g. postgresql://...)."
    )
    schedule: str | None = Field(
        default=None, description="Cron expression for `segsync schedule`."
    )
    lease_seconds: float = Field(
        default=DEFAULT_LEASE_SECONDS,
        ge=10,
        description="How long a run's lock lasts without its heartbeat (renewed every third of "
        "it): a run killed on any host blocks the next one at most this long.",
    )
    full_every_hours: float = Field(
        default=24, gt=0, description="Between full pulls, runs pull only the contacts changed."
    )
    daily_budget_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Most of the CRM's daily request limit one run may use.",
    )
    max_record_attempts: int = Field(
        default=3,
        ge=1,
        description="Runs that retry a record the CRM refused before giving up on it.",
    )
    opt_out_field: str | None = Field(
        default=None,
        description="Boolean contact field of marketing opt-out (HubSpot hs_email_optout, "
        "Salesforce HasOptedOutOfEmail); opted-out contacts are never added to lists.",
    )
    segment_property: str = Field(default="segsync_segment", description="The primary segment.")
    segments_property: str = Field(default="segsync_segments", description="Every segment matched.")
    reason_property: str = Field(default="segsync_reason", description="Why the primary segment.")
    previous_segment_property: str = Field(
        default="",
        description="Contact property holding the primary segment before its last change "
        "(text); empty: not written.",
    )
    segment_changed_property: str = Field(
        default="",
        description="Contact property holding the date the primary segment last changed "
        "(a date); empty: not written.",
    )
    list_name_pattern: str = Field(
        default="segsync: {segment}",
        description="Name of each segment's list; {segment} is its only placeholder.",
    )
    fallback_segment: str | None = Field(
        default=None,
        description="Primary segment of contacts that match no segment (none: left empty).",
    )
    adopt_lists: list[str] = Field(
        default=[],
        description="Names of existing CRM lists segsync may take over for the segment whose "
        "list name they have; any other list with a segment's list name that segsync did not "
        "create stops the run (exit 2).",
    )
    orphan_lists: Literal["keep", "empty", "delete"] = Field(
        default="keep",
        description="What a sync does with the lists of segments no longer configured (renamed, "
        "removed, a cluster gone after a refit): keep them, empty them, or delete them.",
    )

    @property
    def sync_fields(self) -> list[str]:
        """The contact fields segsync writes: primary segment, all segments, reason, and the
        two fields of a move when configured (previous segment, date of the change)."""
        return [self.segment_property, self.segments_property, self.reason_property] + [
            name for name in (self.previous_segment_property, self.segment_changed_property) if name
        ]

    @field_validator("list_name_pattern")
    @classmethod
    def _has_placeholder(cls, pattern: str) -> str:
        problem = pattern_problem(pattern)
        if problem:
            raise ValueError(problem)
        return pattern


class ReportOptions(BaseModel):
    """What ``segsync report`` measures per segment beyond its size."""

    model_config = ConfigDict(extra="forbid")

    conversion_field: str | None = Field(
        default=None, description="Field telling whether a contact converted (e.g. lifecyclestage)."
    )
    conversion_values: list[str] = Field(
        default=["customer"], description="Values of conversion_field that count as converted."
    )
    revenue_field: str | None = Field(
        default=None, description="Numeric revenue field (e.g. total_revenue)."
    )
    output: Path = Field(
        default=Path("segsync-report.html"), description="Where the report is written."
    )

    @property
    def fields(self) -> tuple[str, ...]:
        """The contact fields the report reads (those configured): every run pulls them too."""
        return tuple(name for name in (self.conversion_field, self.revenue_field) if name)


class AlertOptions(BaseModel):
    """Where failed, aborted or heavily refused runs are announced (Slack-compatible webhook)."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr | None = Field(
        default=None,
        description="From SEGSYNC_ALERTS__WEBHOOK_URL only: the URL is the credential.",
    )
    max_rejected_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Alert when the CRM refuses more than this share of writes.",
    )


class Guardrails(BaseModel):
    """The ``[guardrails]`` section: how big a change ``sync.guardrails`` lets a run make."""

    model_config = ConfigDict(extra="forbid")

    max_list_removal_share: float = Field(
        default=0.2, ge=0, le=1, description="Most of any list one run may remove."
    )
    max_changed_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Most of all contacts one run may rewrite (not on a first sync).",
    )
    min_pulled_share: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Fewest contacts a full pull may return, against the last one.",
    )
