"""The Salesforce connector: the connector protocol mapped onto ``simple-salesforce``.

Contacts (or Leads, by configuration) are read with SOQL, or with a Bulk API 2.0 query job
when a full pull is larger than ``bulk_threshold`` (``pulls``); they are written with sObject
Collections (200 records a call, one result per record: ``writes``). Lists are Campaigns and
their members CampaignMembers (``campaigns``); segsync's fields are created and granted by
``fields``, and ``access`` probes the integration user for ``segsync check``. Incremental
pages come in ascending ``SystemModstamp`` order, so the sync may save their cursor mid-run;
full pulls are ordered by Id and carry no such promise. Every call goes through
``SalesforceClient`` (timeout, one re-login, typed errors); retrying is the sync layer's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from connectors.access import AccessCheck
from connectors.base import (
    ConnectorLimits,
    ContactPage,
    DeletionPage,
    FieldInfo,
    FieldType,
    IdPage,
    ListRef,
    MembershipChange,
    PropertyWrite,
    RateLimitStatus,
    RequestBudget,
    SegmentField,
    WriteResult,
)
from connectors.salesforce.access import AccessProbe
from connectors.salesforce.campaigns import CAMPAIGN_NAME_LENGTH, Campaigns
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.fields import ContactFields, field_info, field_name_problem
from connectors.salesforce.pulls import QUERY_BATCH_SIZE, ContactPulls
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.writes import COLLECTION_SIZE, write_records, write_records_bulk

PICKLIST_VALUE_LENGTH = 255
"""The longest picklist value (API name) Salesforce accepts."""


def _at_most(items: Iterable[str], limit: int) -> list[str]:
    chunk = list(items)
    if len(chunk) > limit:
        raise ValueError(f"at most {limit} records per call")
    return chunk


class SalesforceConnector:
    """Salesforce contacts or leads, segsync's fields on them, and Campaigns as lists."""

    name = "salesforce"
    settings_model = SalesforceSettings

    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        self.sobject = settings.object
        # A converted lead is read-only (writes fail with CANNOT_UPDATE_CONVERTED_LEAD) and its
        # person is a contact now: a Lead sync leaves it out of its pulls, and leaves alone its
        # campaign members, which moved to the contact (they carry both ids).
        leads = settings.object == "Lead"
        live: tuple[str, ...] = ("IsConverted = false",) if leads else ()
        converted_out: tuple[str, ...] = ("ContactId = null",) if leads else ()
        self.client = SalesforceClient(settings)
        self.fields = ContactFields(self.client)
        self._types: dict[str, FieldType] | None = None
        self._pulls = ContactPulls(self.client, settings, live, self._field_types)
        self._campaigns = Campaigns(self.client, settings, converted_out)
        self._access = AccessProbe(self.client, settings)
        self.limits = ConnectorLimits(
            read_page_size=QUERY_BATCH_SIZE,
            write_batch_size=COLLECTION_SIZE,
            list_read_page_size=QUERY_BATCH_SIZE,
            list_change_batch_size=COLLECTION_SIZE,
            budget=RequestBudget(
                per_window=None, window_seconds=None, daily=settings.daily_requests
            ),
            # One call at a time: the client's lazy login and session renewal are not
            # thread-safe, and parallel CampaignMember inserts into one campaign contend for
            # its row lock (UNABLE_TO_LOCK_ROW).
            max_concurrency=1,
            max_list_name_length=CAMPAIGN_NAME_LENGTH,
            max_option_length=PICKLIST_VALUE_LENGTH,
        )

    @classmethod
    def from_settings(cls, settings: SalesforceSettings) -> SalesforceConnector:
        """Build from the ``[salesforce]`` config section, validated by the registry against
        ``settings_model`` (the entry-point contract, ``connectors.base.ConnectorFactory``)."""
        return cls(settings)

    def rate_limit_status(self) -> RateLimitStatus:
        return self.client.rate_limit_status()

    def crm_time(self) -> datetime | None:
        return self.client.crm_time()

    def close(self) -> None:
        self._pulls.prefetch.close()
        self.client.close()

    # -- reading ---------------------------------------------------------------------------

    def describe_fields(self) -> list[FieldInfo]:
        return [field_info(described) for described in self.fields.describe()]

    def _field_types(self) -> dict[str, FieldType]:
        """Field types by lower-case name, for reading CSV, whose cells are all text."""
        if self._types is None:
            self._types = {info.name.lower(): info.type for info in self.describe_fields()}
        return self._types

    def read_contacts_page(self, fields: Sequence[str], cursor: str | None) -> ContactPage:
        return self._pulls.read_page(fields, cursor)

    def count_contacts(self) -> int:
        return self._pulls.count()

    def read_deleted_contacts_page(self, since: datetime, cursor: str | None) -> DeletionPage:
        return self._pulls.read_deleted_page(since, cursor)

    def read_changed_contacts_page(
        self, fields: Sequence[str], since: datetime, cursor: str | None
    ) -> ContactPage:
        return self._pulls.read_changed_page(fields, since, cursor)

    # -- fields and writes -----------------------------------------------------------------

    def field_name_problem(self, name: str) -> str | None:
        return field_name_problem(name)

    def ensure_segment_field(self, spec: SegmentField) -> None:
        self.fields.ensure(spec)

    def write_properties(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        _at_most((write.contact_id for write in writes), self.limits.write_batch_size)
        return write_records(self.client, self.sobject, writes)

    def write_properties_bulk(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        return write_records_bulk(self.client, self.sobject, writes)

    # -- lists -----------------------------------------------------------------------------

    def find_list(self, name: str) -> ListRef | None:
        return self._campaigns.find(name)

    def create_list(self, name: str) -> ListRef:
        return self._campaigns.create(name)

    def delete_list(self, list_ref: ListRef) -> None:
        self._campaigns.delete(list_ref)

    def read_list_members_page(self, list_ref: ListRef, cursor: str | None) -> IdPage:
        return self._campaigns.read_members_page(list_ref, cursor)

    def add_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        ids = _at_most(contact_ids, self.limits.list_change_batch_size)
        return self._campaigns.add_members(list_ref, ids)

    def remove_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        ids = _at_most(contact_ids, self.limits.list_change_batch_size)
        return self._campaigns.remove_members(list_ref, ids)

    # -- segsync check ---------------------------------------------------------------------

    def check_access(self, segment_fields: Sequence[str]) -> list[AccessCheck]:
        return self._access.check_access(segment_fields)
