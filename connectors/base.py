"""The connector SDK: the small protocol every CRM connector implements.

The sync layer only ever talks to a CRM through this protocol, so a connector is free to use
whatever client its CRM ships (``hubspot-api-client``, ``simple-salesforce``, ...) as long as it
speaks these types. Connectors raise the typed errors at the bottom of this module, chosen by
what the caller should do next (wait, retry, fix configuration, skip a record), never by status.
What a connector may add beyond the protocol (count contacts, read deletions, delete lists, the
CRM's clock, field-name rules) lives in ``connectors.capabilities``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # the SDK's types load no pydantic: listing connectors stays fast
    from pydantic import BaseModel

FieldType = Literal[
    "string", "number", "bool", "date", "datetime", "enumeration", "multi_enumeration"
]
"""The normalised field types a connector reports; segment_core coerces values by them."""

FieldOwner = Literal["segsync", "crm", "other"]
"""Who defined a field: segsync itself (in this run or an earlier one), the CRM (a standard
field such as HubSpot's ``city``) or someone else (another app's or a person's custom field)."""


@dataclass(frozen=True)
class FieldInfo:
    """One contact field the CRM knows: what a rule may reference and how to read its values.

    ``defined_by`` is decided from what the CRM itself says about the field (HubSpot's
    ``hubspotDefined`` and property group, Salesforce's ``custom`` flag and help text), never
    from segsync's own state, so it holds with a fresh state store. None: the connector cannot
    tell, and segsync then only checks the field's type before writing it.
    ``option_labels``: (value, label) of the options the CRM labels, e.g.
    (``marketingqualifiedlead``, "Marketing Qualified Lead"): profiles and names read labels.
    """

    name: str
    label: str
    type: FieldType
    options: tuple[str, ...] = ()
    defined_by: FieldOwner | None = None
    option_labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Contact:
    """One contact as pulled: its CRM id and the requested fields, every value a string or None.

    CRMs send every value as text; typing them is segment_core's job, driven by ``FieldInfo``.
    ``modified_at`` is the CRM's system modification time, the cursor of incremental pulls.
    ``merged_from`` names the records the CRM merged into this one (HubSpot's
    ``hs_merged_object_ids``): those ids are gone from every read, and a caller that remembers
    them must forget them, or carry what it knew of them over to this id. Connectors whose CRM
    keeps no such trail leave it empty.
    """

    id: str
    properties: dict[str, str | None]
    modified_at: datetime | None = None
    merged_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactPage:
    """One page of a pull: the unit of work, carrying the cursor that fetches the next page.

    The cursor is opaque to the caller; None means this was the last page.
    """

    contacts: list[Contact]
    next_cursor: str | None


@dataclass(frozen=True)
class IdPage:
    """One page of record ids (a list's members) and the cursor of the next page."""

    ids: list[str]
    next_cursor: str | None


@dataclass(frozen=True)
class DeletionPage(IdPage):
    """A page of deleted contacts' ids that also says which of them a merge deleted.

    ``merged_into`` maps such an id to the record it was merged into (Salesforce's
    ``MasterRecordId``): as for ``Contact.merged_from``, a caller that remembers the id must
    carry what it knew of it (list memberships) over to that record, since the CRM moved them.
    Ids not in it were plainly deleted.
    """

    merged_into: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitStatus:
    """What the CRM last said about its limits, read from its own response headers.

    None means the CRM did not say. The sync layer paces itself by these numbers.
    """

    window_max: int | None = None
    window_remaining: int | None = None
    window_seconds: float | None = None
    daily_max: int | None = None
    daily_remaining: int | None = None


@dataclass(frozen=True)
class PropertyWrite:
    """The values to set on one contact. An empty string clears a value."""

    contact_id: str
    values: dict[str, str]


@dataclass(frozen=True)
class WriteResult:
    """The outcome for one record of a batched write; failures carry the CRM's code and message."""

    contact_id: str
    ok: bool
    code: str = ""
    message: str = ""
    retryable: bool = False
    missing: bool = False
    """The record no longer exists in the CRM (deleted or merged away): nothing to retry."""


@dataclass(frozen=True)
class MembershipChange:
    """What the CRM confirmed of one call adding or removing list members.

    ``changed`` are the ids it added (or removed); ``missing`` the ids it does not know
    (deleted, merged away), which it neither added nor removed. An id in neither was already
    as asked (a member already, or not a member): the CRM ignores those.
    """

    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListRef:
    """A CRM list (HubSpot list, Salesforce campaign) segsync manages, as the CRM describes it.

    ``size`` is the member count the CRM reported with the list (None: the connector cannot
    tell cheaply): an incremental run compares it with the members it remembers to find lists
    changed by hand. ``editable`` is False for a list whose members the CRM itself decides
    (a HubSpot DYNAMIC list): segsync can neither add nor remove members there.
    """

    id: str
    name: str
    size: int | None = field(default=None, compare=False)
    editable: bool = True


@dataclass(frozen=True)
class RequestBudget:
    """The request rate a CRM allows this integration; None where the CRM sets no such limit."""

    per_window: int | None
    window_seconds: float | None
    daily: int | None

    @property
    def per_second(self) -> float | None:
        """The sustained rate the window allows (None: no window limit)."""
        if self.per_window and self.window_seconds:
            return self.per_window / self.window_seconds
        return None


@dataclass(frozen=True)
class ConnectorLimits:
    """Batch sizes per call and the request budget, so the sync layer can plan and pace.

    ``max_concurrency`` is how many write calls the executor may have in flight at once: a
    CRM's latency, not its rate limit, caps a one-call-at-a-time client, so parallel calls
    are what reach the budget. 1 where the CRM or its client cannot take parallel calls.
    """

    read_page_size: int
    write_batch_size: int
    list_read_page_size: int
    list_change_batch_size: int
    budget: RequestBudget
    max_concurrency: int = 1
    setup_requests: int = 1
    """Requests one setup call (ensure a field, find-or-create a list) may make: the pacer keeps
    room for all of them, so the CRM's window is never overrun."""
    max_list_name_length: int | None = None
    """The longest list name the CRM accepts; None where it documents no limit."""
    max_option_length: int | None = None
    """The longest option (picklist value) of a select field; None where it documents none."""

    def __post_init__(self) -> None:
        for name in ("max_concurrency", "setup_requests"):
            if getattr(self, name) < 1:
                raise ValueError(f"ConnectorLimits.{name} must be at least 1")


SegmentFieldKind = Literal["single_select", "multi_select", "text", "date"]


@dataclass(frozen=True)
class SegmentField:
    """A field segsync writes on contacts; select kinds carry the options they must accept."""

    name: str
    label: str
    description: str
    kind: SegmentFieldKind
    options: tuple[str, ...] = ()
    missing: bool = False
    """The run's field list (``describe_fields``) did not have it: a connector may create it
    without reading it first, and falls back to reading it when the CRM says it exists."""

    @property
    def is_select(self) -> bool:  # a select has options, which a connector adds when missing
        return self.kind in ("single_select", "multi_select")


@runtime_checkable
class Connector(Protocol):
    """What the sync needs from a CRM.

    Implementations register in the ``segsync.connectors`` entry-point group; the entry point
    names their ``ConnectorFactory``, usually the connector class itself.
    """

    name: str
    limits: ConnectorLimits

    def describe_fields(self) -> list[FieldInfo]:
        """Every contact field the integration can read, with its type."""

    def read_contacts_page(self, fields: Sequence[str], cursor: str | None) -> ContactPage:
        """One page of non-archived contacts with only the requested fields; None starts."""

    def read_changed_contacts_page(
        self, fields: Sequence[str], since: datetime, cursor: str | None
    ) -> ContactPage:
        """One page of contacts modified at or after ``since``, in the connector's order
        (HubSpot: by id; Salesforce: by modification time).

        Pages may overlap (a connector re-reads a little to never miss a change): callers
        de-duplicate by id, keeping the last copy seen. A contact changed during the pull may
        be missing from it; the caller's watermark reaches back past the pull's start.
        """

    def ensure_segment_field(self, spec: SegmentField) -> None:
        """Create the field if missing; add any enumeration options it lacks. Idempotent.

        ``spec.missing`` says the run's field list lacked it: a connector may create it
        without reading it first, as long as it still extends a field that exists after all.
        """

    def write_properties(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        """Write one batch (at most ``limits.write_batch_size``); one result per record.

        A record is ``ok`` only when the CRM's answer confirms it; one the answer neither
        confirms nor refuses is a retryable failure (``UNCONFIRMED``). An answer that is no
        batch answer at all raises ``Transient``; a batch refused whole for one invalid record
        raises ``BatchRejected``, which the sync splits to find that record.
        """

    def find_list(self, name: str) -> ListRef | None:
        """The list with this name, or None when there is none; with its ``size`` where the
        CRM's answer (or one more cheap call) gives it."""

    def create_list(self, name: str) -> ListRef:
        """Create a static list that segsync can add members to and remove them from."""

    def read_list_members_page(self, list_ref: ListRef, cursor: str | None) -> IdPage:
        """One page of the list's member ids; None starts."""

    def add_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        """Add one chunk (at most ``limits.list_change_batch_size``) of contacts to the list;
        what the CRM's answer confirmed. An answer that confirms nothing raises ``Transient``."""

    def remove_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        """Remove one chunk (at most ``limits.list_change_batch_size``) from the list; what
        the CRM's answer confirmed."""

    def rate_limit_status(self) -> RateLimitStatus:
        """The limits the CRM reported on its most recent response."""

    def close(self) -> None:
        """Release connections."""


class ConnectorFactory(Protocol):
    """What a ``segsync.connectors`` entry point names: how a connector is configured and built.

    ``settings_model`` is the pydantic model of the connector's config section (``[hubspot]``
    for the entry point ``hubspot``): segsync validates the section against it, reads its keys
    from the environment (``SEGSYNC_HUBSPOT__TOKEN``) and secrets files too, and reports a bad
    key by file and key path. Built-in connectors declare theirs exactly as a plugin does.
    """

    settings_model: ClassVar[type[BaseModel]]

    def from_settings(self, settings: Any) -> Connector:
        """The connector, from its section validated as an instance of ``settings_model``
        (typed ``Any`` here, since each connector takes its own model)."""


class ConnectorError(Exception):
    """Base of every error a connector raises; the message is fit to show a person."""


class RateLimited(ConnectorError):
    """The CRM refused the call for rate; wait ``retry_after`` seconds. ``scope`` names the limit.

    A ``daily`` scope means waiting will not help within this run.
    """

    def __init__(self, message: str, retry_after: float, scope: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope


class Transient(ConnectorError):
    """A failure that is likely to pass: 5xx, timeouts, dropped connections, locks."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthFailed(ConnectorError):
    """The credentials are missing, wrong, expired or lack a permission. Fix configuration."""


class NotFound(ConnectorError):
    """The addressed object (list, property, record) does not exist."""


class RecordRejected(ConnectorError):
    """The CRM refused one record; the rest of its batch is unaffected."""

    def __init__(self, record_id: str, code: str, message: str, retryable: bool) -> None:
        super().__init__(f"record {record_id} rejected ({code}): {message}")
        self.record_id = record_id
        self.code = code
        self.retryable = retryable


class RequestRejected(ConnectorError):
    """The CRM refused a whole request (4xx); retrying the same call will not help.

    ``status`` is the HTTP status, so a caller can tell "already exists" (409) from invalid.
    """

    def __init__(self, message: str, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        """The CRM's error code (e.g. ``INVALID_OPTION``) when its answer names one."""


class BatchRejected(RequestRejected):
    """The CRM refused a whole batch write as invalid (HubSpot's 400 for one bad value in 100).

    Nothing in the batch was written. The culprits are unknown, so the sync splits the batch
    and resends each half until the refused records stand alone.
    """


UNCONFIRMED = "UNCONFIRMED"
"""The code of a record the CRM's answer to a write neither confirmed nor refused."""
