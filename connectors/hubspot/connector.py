"""The HubSpot connector: the connector protocol mapped onto ``hubspot-api-client``.

``HubSpotConnector`` composes one part per job, all sharing one ``HubSpotCalls`` (deadline,
rate-limit headers, typed errors): ``pulls`` reads contacts, ``exports`` reads a big portal's
full pull through one CRM export, ``properties`` describes and creates fields, ``writes``
updates contacts, ``lists`` manages lists and their members, and ``access`` probes the token's
scopes for ``segsync check``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from connectors.access import AccessCheck
from connectors.base import (
    AuthFailed,
    ConnectorLimits,
    ContactPage,
    FieldInfo,
    IdPage,
    ListRef,
    MembershipChange,
    PropertyWrite,
    RateLimitStatus,
    RequestBudget,
    SegmentField,
    WriteResult,
)
from connectors.hubspot.access import ALL_SCOPES, AccessProbe
from connectors.hubspot.calls import HubSpotApis, HubSpotCalls
from connectors.hubspot.exports import ExportPull
from connectors.hubspot.lists import ContactLists
from connectors.hubspot.properties import ContactProperties, field_name_problem
from connectors.hubspot.pulls import ContactPulls
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.writes import write_contacts


class HubSpotConnector:
    """HubSpot contacts, properties and v3 lists through the official Python client."""

    name = "hubspot"
    settings_model = HubSpotSettings

    def __init__(self, settings: HubSpotSettings) -> None:
        from hubspot import HubSpot  # heavy import, kept out of `segsync connectors`

        if settings.token is None or not settings.token.get_secret_value():
            raise AuthFailed(
                "No HubSpot token: set SEGSYNC_HUBSPOT__TOKEN to a Service Key (HubSpot Settings "
                "→ Integrations → Service Keys → Create; scopes: " + ", ".join(ALL_SCOPES) + ") "
                "or a private-app access token."
            )
        self.settings = settings
        self.limits = ConnectorLimits(
            read_page_size=100,
            write_batch_size=100,
            list_read_page_size=250,
            list_change_batch_size=settings.list_change_batch_size,
            budget=RequestBudget(
                per_window=settings.requests_per_ten_seconds,
                window_seconds=10.0,
                daily=settings.daily_requests,
            ),
            # HubSpot caps rates, not parallel calls; 5 stays inside the SDK's connection pool
            # (5 per CPU) and reaches 19 requests/s at up to ~250 ms a call.
            max_concurrency=5,
            # Ensuring a field: create the property group, read the property, create or patch
            # it; finding-or-creating a list: two.
            setup_requests=3,
        )
        client = HubSpot(
            access_token=settings.token.get_secret_value(),
            host=settings.base_url.rstrip("/"),
            retry=False,  # one retry policy only: segsync's, in the sync layer
        )
        self._apis = HubSpotApis.of(client)
        self._calls = HubSpotCalls(settings.timeout_seconds)
        self._pulls = ContactPulls(self._calls, self._apis.contacts, self._apis.search)
        self._properties = ContactProperties(
            self._calls, self._apis.properties, self._apis.groups
        )
        self._lists = ContactLists(self._calls, self._apis.lists, self._apis.memberships)
        self._access = AccessProbe(settings, self._apis)
        self._exports = ExportPull(self._calls, self._apis.exports, settings, self._pulls.count)

    @classmethod
    def from_settings(cls, settings: HubSpotSettings) -> HubSpotConnector:
        """Build from the ``[hubspot]`` config section, validated by the registry against
        ``settings_model`` (the entry-point contract, ``connectors.base.ConnectorFactory``)."""
        return cls(settings)

    def crm_time(self) -> datetime | None:
        return self._calls.crm_time

    def rate_limit_status(self) -> RateLimitStatus:
        return self._calls.rate_limit

    # -- reading ---------------------------------------------------------------------------

    def describe_fields(self) -> list[FieldInfo]:
        return self._properties.describe()

    def field_name_problem(self, name: str) -> str | None:
        return field_name_problem(name)

    def read_contacts_page(self, fields: Sequence[str], cursor: str | None) -> ContactPage:
        if (exported := self._exports.page(fields, cursor)) is not None:  # big portals
            return exported
        return self._pulls.read_page(fields, cursor, self.limits.read_page_size)

    def contact_partitions(self, parts: int) -> list[str] | None:
        """The list endpoint's cursor and id ranges searched beside it, read at once
        (``capabilities.PartitionedReading``); None when an export serves the pull, which reads
        in one sequence, or the CRM answers fast enough for one cursor to keep up."""
        if self._exports.wanted():
            return None
        return self._pulls.partitions(parts, self._calls.round_trip)

    def partition_wanted(self, partition: str) -> bool:
        return self._pulls.partition_wanted(partition)

    def read_partition_page(
        self, fields: Sequence[str], partition: str, cursor: str | None
    ) -> ContactPage:
        return self._pulls.read_partition_page(
            fields, partition, cursor, self.limits.read_page_size
        )

    def count_contacts(self) -> int:
        self._exports.counted = counted = self._pulls.count()
        return counted

    def read_deleted_contacts_page(self, since: datetime, cursor: str | None) -> IdPage:
        return self._pulls.read_deleted_page(since, cursor, self.limits.read_page_size)

    def read_changed_contacts_page(
        self, fields: Sequence[str], since: datetime, cursor: str | None
    ) -> ContactPage:
        return self._pulls.read_changed_page(fields, since, cursor)

    # -- fields and writes -----------------------------------------------------------------

    def ensure_segment_field(self, spec: SegmentField) -> None:
        self._properties.ensure(spec)

    def write_properties(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        if len(writes) > self.limits.write_batch_size:
            raise ValueError(f"at most {self.limits.write_batch_size} records per batch")
        return write_contacts(self._calls, self._apis.batch, writes)

    # -- lists -----------------------------------------------------------------------------

    def find_list(self, name: str) -> ListRef | None:
        return self._lists.find(name)

    def create_list(self, name: str) -> ListRef:
        return self._lists.create(name)

    def delete_list(self, list_ref: ListRef) -> None:
        self._lists.delete(list_ref)

    def read_list_members_page(self, list_ref: ListRef, cursor: str | None) -> IdPage:
        return self._lists.read_members_page(list_ref, cursor, self.limits.list_read_page_size)

    def add_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        return self._lists.add_members(list_ref, self._chunk(contact_ids))

    def remove_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        return self._lists.remove_members(list_ref, self._chunk(contact_ids))

    def _chunk(self, contact_ids: Iterable[str]) -> list[str]:
        ids = list(contact_ids)
        if len(ids) > self.limits.list_change_batch_size:
            raise ValueError(f"at most {self.limits.list_change_batch_size} ids per call")
        return ids

    # -- segsync check ---------------------------------------------------------------------

    def check_access(self, segment_fields: Sequence[str]) -> list[AccessCheck]:
        return self._access.check_access(segment_fields)

    def close(self) -> None:
        for api_client in self._apis.api_clients():
            api_client.rest_client.pool_manager.clear()
