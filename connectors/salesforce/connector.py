"""The Salesforce connector: the connector protocol mapped onto ``simple-salesforce``.

Contacts (or Leads, by configuration) are read with SOQL, or with a Bulk API 2.0 query job
when a full pull is larger than ``bulk_threshold``; they are written with sObject Collections
(200 records a call, one result per record). Lists are Campaigns and their members
CampaignMembers. Incremental pages come in ascending ``SystemModstamp`` order, so the sync
may save their cursor mid-run; full pulls are ordered by Id and carry no such promise.
Every call goes through ``SalesforceClient`` (timeout, one re-login, typed errors); retrying
is the sync layer's job.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from simple_salesforce import Salesforce, format_soql

from connectors.base import (
    AccessCheck,
    AuthFailed,
    ConnectorLimits,
    ContactPage,
    DeletionPage,
    FieldInfo,
    FieldType,
    IdPage,
    ListRef,
    MembershipChange,
    NotFound,
    PropertyWrite,
    RateLimitStatus,
    RecordRejected,
    RequestBudget,
    SegmentField,
    Transient,
    WriteResult,
)
from connectors.salesforce.client import SalesforceClient, login_check
from connectors.salesforce.errors import (
    bulk_record_result,
    named_field,
    record_result,
)
from connectors.salesforce.fields import ContactFields, field_info, field_name_problem
from connectors.salesforce.paging import (
    BULK_POLL_SECONDS,
    BulkCursor,
    Cursor,
    KeyedQuery,
    RestCursor,
    bulk_page,
    decode,
    encode,
    rest_page,
    where_clause,
)
from connectors.salesforce.permissions import setup_checks
from connectors.salesforce.records import (
    MODIFIED_FIELD,
    bulk_row,
    contact_from_csv,
    contact_from_json,
    sobject_row,
)
from connectors.salesforce.settings import SalesforceSettings

QUERY_BATCH_SIZE = 2_000
"""Records a REST query page holds (Salesforce's default and maximum batch size)."""
COLLECTION_SIZE = 200
"""Records one sObject Collections call takes."""
BULK_PAGE_SIZE = 10_000
"""Records a page of a Bulk API 2.0 query result holds: the unit of work of big pulls."""
SOQL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""A field of the object itself: relationship paths (``Account.Name``) are not read."""
MEMBER_ALREADY_ADDED = "DUPLICATE_VALUE"
FRESH_COUNT_SECONDS = 60.0
"""How long a count taken just before a pull still chooses its kind (REST or Bulk)."""
CAMPAIGN_NAME_LENGTH = 80
"""Campaign.Name's length (Salesforce's object reference: Name, string, 80)."""
PICKLIST_VALUE_LENGTH = 255
"""The longest picklist value (API name) Salesforce accepts."""
MASTER_RECORD_FIELD = "MasterRecordId"
"""On a Contact or Lead a merge deleted: the record it was merged into."""


def select_list(fields: Sequence[str]) -> tuple[str, ...]:
    """Id and SystemModstamp, then the requested fields once each: SOQL refuses duplicates,
    and since field names go into the query text they must be plain API names."""
    for field in fields:
        if not SOQL_NAME.fullmatch(field):
            raise ValueError(f"not a Salesforce field name: {field!r}")
    unique: dict[str, str] = {}
    for field in ("Id", MODIFIED_FIELD, *fields):
        unique.setdefault(field.lower(), field)
    return tuple(unique.values())


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
        self.member_field = f"{settings.object}Id"
        # A converted lead is read-only (writes fail with CANNOT_UPDATE_CONVERTED_LEAD) and its
        # person is a contact now: a Lead sync leaves it out of its pulls, and leaves alone its
        # campaign members, which moved to the contact (they carry both ids).
        leads = settings.object == "Lead"
        self.live: tuple[str, ...] = ("IsConverted = false",) if leads else ()
        self.converted_out: tuple[str, ...] = ("ContactId = null",) if leads else ()
        self.client = SalesforceClient(settings)
        self.fields = ContactFields(self.client)
        self._types: dict[str, FieldType] | None = None
        self._fresh_count: tuple[int, float] | None = None
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
        self.client.close()

    # -- reading ---------------------------------------------------------------------------

    def describe_fields(self) -> list[FieldInfo]:
        return [field_info(described) for described in self.fields.describe()]

    def read_contacts_page(self, fields: Sequence[str], cursor: str | None) -> ContactPage:
        """A REST query page, or a Bulk API 2.0 page when the pull started above the threshold
        (counted on the first page; the cursor then says which kind the pull is)."""
        select = select_list(fields)
        position = decode(cursor)
        if isinstance(position, RestCursor) or (
            position is None and self._pull_count() <= self.settings.bulk_threshold
        ):
            query = KeyedQuery(self.sobject, select, where=self.live)
            return self._rest_contacts(query, fields, position)
        return self._bulk_contacts(select, fields, position)

    def count_contacts(self) -> int:
        """The records a full pull lists, by ``SELECT COUNT()`` with the pull's own filter.

        The sync counts right before a full pull; the pull's first page then takes this count
        to choose REST or Bulk instead of counting again.
        """
        count = self._count()
        self._fresh_count = (count, time.monotonic())
        return count

    def _pull_count(self) -> int:
        """The count that chooses REST or Bulk for a pull starting now: the one just taken by
        ``count_contacts`` when it is at most ``FRESH_COUNT_SECONDS`` old, else a new one."""
        fresh, self._fresh_count = self._fresh_count, None
        if fresh is not None and time.monotonic() - fresh[1] <= FRESH_COUNT_SECONDS:
            return fresh[0]
        return self._count()

    def read_deleted_contacts_page(self, since: datetime, cursor: str | None) -> DeletionPage:
        """Records in the recycle bin deleted since ``since`` (with the incremental overlap):
        ``queryAll`` with ``IsDeleted = true``, and ``SystemModstamp``, which a delete sets.
        Chosen over ``sobjects/{type}/deleted`` because it pages like every other query and
        takes any start, where that endpoint refuses a window older than the bin's 15 days.

        A merge's losing records are deleted too, with ``MasterRecordId`` set to the record
        they were merged into, which took over their campaign members (``merge()`` in the SOAP
        API reference, which points to ``queryAll`` for the records a merge deleted; Apex
        "Triggers and Merge Statements" for ``MasterRecordId``): the page names those in
        ``merged_into``."""
        query = KeyedQuery(
            self.sobject,
            select_list((MASTER_RECORD_FIELD,)),
            key=MODIFIED_FIELD,
            where=(
                "IsDeleted = true",
                format_soql(f"{MODIFIED_FIELD} >= {{}}", self._since(since)),
            ),
            include_deleted=True,
        )
        records, next_cursor = rest_page(
            self.client, f"read deleted {self.sobject}s", query, decode(cursor)
        )
        return DeletionPage(
            ids=[str(record["Id"]) for record in records],
            next_cursor=encode(next_cursor),
            merged_into={
                str(record["Id"]): str(record[MASTER_RECORD_FIELD])
                for record in records
                if record.get(MASTER_RECORD_FIELD)
            },
        )

    def _since(self, since: datetime) -> datetime:
        """Where a query for changes since ``since`` starts: ``incremental_overlap_seconds``
        earlier, since ``SystemModstamp`` is set at commit and a long transaction lands late."""
        return since - timedelta(seconds=self.settings.incremental_overlap_seconds)

    def read_changed_contacts_page(
        self, fields: Sequence[str], since: datetime, cursor: str | None
    ) -> ContactPage:
        query = KeyedQuery(
            self.sobject,
            select_list(fields),
            key=MODIFIED_FIELD,
            where=(format_soql(f"{MODIFIED_FIELD} >= {{}}", self._since(since)), *self.live),
        )
        return self._rest_contacts(query, fields, decode(cursor))

    def _count(self) -> int:
        result = self.client.rest(
            f"count {self.sobject}s",
            "query/",
            params={"q": f"SELECT COUNT() FROM {self.sobject}{where_clause(self.live)}"},
        )
        return int(result["totalSize"])

    def _rest_contacts(
        self, query: KeyedQuery, fields: Sequence[str], cursor: Cursor | None
    ) -> ContactPage:
        records, next_cursor = rest_page(
            self.client, f"read {self.sobject}s", query, cursor, fields
        )
        contacts = [contact_from_json(record, fields) for record in records]
        return ContactPage(contacts=contacts, next_cursor=encode(next_cursor))

    def _bulk_contacts(
        self, select: Sequence[str], fields: Sequence[str], cursor: BulkCursor | None
    ) -> ContactPage:
        soql = f"SELECT {', '.join(select)} FROM {self.sobject}{where_clause(self.live)}"
        rows, next_cursor = bulk_page(
            self.client,
            f"bulk-read {self.sobject}s",
            self.sobject,
            soql,
            cursor,
            BULK_PAGE_SIZE,
            fields,
        )
        types = self._field_types()
        contacts = [contact_from_csv(row, fields, types) for row in rows]
        return ContactPage(contacts=contacts, next_cursor=encode(next_cursor))

    def _field_types(self) -> dict[str, FieldType]:
        """Field types by lower-case name, for reading CSV, whose cells are all text."""
        if self._types is None:
            self._types = {info.name.lower(): info.type for info in self.describe_fields()}
        return self._types

    # -- fields ----------------------------------------------------------------------------

    def field_name_problem(self, name: str) -> str | None:
        return field_name_problem(name)

    def ensure_segment_field(self, spec: SegmentField) -> None:
        self.fields.ensure(spec)

    # -- writing ---------------------------------------------------------------------------

    def write_properties(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        """One sObject Collections update with ``allOrNone`` off: each record stands alone."""
        _at_most((write.contact_id for write in writes), self.limits.write_batch_size)
        if not writes:
            return []
        names = sorted({name for write in writes for name in write.values})
        body = {
            "allOrNone": False,
            "records": [sobject_row(self.sobject, write) for write in writes],
        }
        results = self.client.rest(
            f"update {self.sobject}s", "composite/sobjects", method="PATCH", body=body, fields=names
        )
        _require_one_result_each(f"update {self.sobject}s", writes, results)
        hidden = named_field((error for r in results for error in r.get("errors") or ()), names)
        if hidden is not None:  # every record would fail alike: a permission, not bad data
            raise AuthFailed(self.client.grant.message(hidden))
        return [record_result(w.contact_id, r) for w, r in zip(writes, results, strict=True)]

    def write_properties_bulk(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        """Write any number of records with Bulk API 2.0 ingest jobs; one result per record.

        For write-backs far above ``bulk_threshold``: the job does not fail on bad records, so
        the failed ones are read back per job. Each job counts toward the org's daily limit of
        ingest jobs, and the call waits for every job to finish.
        """
        if not writes:
            return []
        rows = [bulk_row(write) for write in writes]
        names = sorted({name for write in writes for name in write.values})

        def run(sf: Salesforce) -> list[dict[str, str]]:
            jobs = getattr(sf.bulk2, self.sobject)
            outcomes = jobs.update(records=rows, wait=BULK_POLL_SECONDS)
            return [
                failed
                for outcome in outcomes
                if outcome["numberRecordsFailed"]
                for failed in csv.DictReader(
                    io.StringIO(jobs.get_failed_records(outcome["job_id"]))
                )
            ]

        failed_rows = self.client.call(f"bulk-update {self.sobject}s", run, fields=names)
        failed = {row["Id"]: bulk_record_result(row["Id"], row["sf__Error"]) for row in failed_rows}
        return [failed.get(w.contact_id) or WriteResult(w.contact_id, ok=True) for w in writes]

    # -- lists -----------------------------------------------------------------------------

    def find_list(self, name: str) -> ListRef | None:
        """The oldest Campaign of that name (Salesforce does not keep names unique)."""
        rows = self.client.query(
            f"find campaign {name!r}",
            format_soql(
                "SELECT Id, Name FROM Campaign WHERE Name = {} ORDER BY CreatedDate ASC LIMIT 1",
                name,
            ),
        )
        if not rows:
            return None
        campaign = ListRef(id=str(rows[0]["Id"]), name=str(rows[0]["Name"]))
        return dataclasses.replace(campaign, size=self._member_count(campaign))

    def _member_count(self, campaign: ListRef) -> int:
        """The campaign's members as ``read_list_members_page`` reads them, in one COUNT()
        query (``NumberOfContacts`` and ``NumberOfLeads`` would count converted leads too)."""
        result = self.client.rest(
            f"count members of campaign {campaign.name!r}",
            "query/",
            params={"q": "SELECT COUNT() FROM CampaignMember" + where_clause(
                self._member_where(campaign)
            )},
        )
        return int(result["totalSize"])

    def _member_where(self, campaign: ListRef) -> tuple[str, ...]:
        """The conditions of this sync's members of a campaign: its person object's, live."""
        return (
            format_soql("CampaignId = {}", campaign.id),
            f"{self.member_field} != null",
            *self.converted_out,
        )

    def create_list(self, name: str) -> ListRef:
        """An active Campaign that offers the configured member status."""
        created = self.client.rest(
            f"create campaign {name!r}",
            "sobjects/Campaign/",
            method="POST",
            body={"Name": name, "IsActive": True},
        )
        campaign = ListRef(id=str(created["id"]), name=name, size=0)
        self._ensure_member_status(campaign)
        return campaign

    def delete_list(self, list_ref: ListRef) -> None:
        """Delete the Campaign (to the recycle bin, with its members); a gone one is done."""
        try:
            self.client.rest(
                f"delete campaign {list_ref.name!r}",
                f"sobjects/Campaign/{list_ref.id}",
                method="DELETE",
            )
        except NotFound:
            return

    def _ensure_member_status(self, campaign: ListRef) -> None:
        """New campaigns offer "Sent" and "Responded"; add the configured status if missing."""
        status = self.settings.campaign_status
        rows = self.client.query(
            f"read member statuses of campaign {campaign.name!r}",
            format_soql(
                "SELECT Label, SortOrder FROM CampaignMemberStatus WHERE CampaignId = {}",
                campaign.id,
            ),
        )
        if any(row["Label"] == status for row in rows):
            return
        self.client.rest(
            f"add member status {status!r} to campaign {campaign.name!r}",
            "sobjects/CampaignMemberStatus/",
            method="POST",
            body={
                "CampaignId": campaign.id,
                "Label": status,
                "SortOrder": max((int(row["SortOrder"]) for row in rows), default=0) + 1,
                "HasResponded": False,
            },
        )

    def read_list_members_page(self, list_ref: ListRef, cursor: str | None) -> IdPage:
        query = KeyedQuery(
            "CampaignMember",
            ("Id", self.member_field),
            where=self._member_where(list_ref),
        )
        records, next_cursor = rest_page(
            self.client, f"read members of campaign {list_ref.name!r}", query, decode(cursor)
        )
        return IdPage(
            ids=[str(record[self.member_field]) for record in records],
            next_cursor=encode(next_cursor),
        )

    def add_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        """Insert CampaignMembers for the ids that are not members yet.

        Inserting an existing pair fails with ``DUPLICATE_VALUE``, so present members are
        read first; one that appears in between (a concurrent run) is already as asked.
        """
        ids = _at_most(contact_ids, self.limits.list_change_batch_size)
        present = self._members(list_ref, ids)
        new = [contact_id for contact_id in ids if contact_id not in present]
        if not new:
            return MembershipChange()
        records = [
            {
                "attributes": {"type": "CampaignMember"},
                "CampaignId": list_ref.id,
                self.member_field: contact_id,
                "Status": self.settings.campaign_status,
            }
            for contact_id in new
        ]
        results = self.client.rest(
            f"add to campaign {list_ref.name!r}",
            "composite/sobjects",
            method="POST",
            body={"allOrNone": False, "records": records},
        )
        return _membership_change(new, results, contacts_named=True)

    def remove_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        """Delete the CampaignMembers of these ids; ids that are not members are ignored, as are
        converted leads' (their contact's now)."""
        ids = _at_most(contact_ids, self.limits.list_change_batch_size)
        members = self._members(list_ref, ids, *self.converted_out)
        if not members:
            return MembershipChange()
        results = self.client.rest(
            f"remove from campaign {list_ref.name!r}",
            "composite/sobjects",
            method="DELETE",
            params={"ids": ",".join(members.values()), "allOrNone": "false"},
        )
        return _membership_change(list(members), results, contacts_named=False)

    def _members(self, list_ref: ListRef, ids: Sequence[str], *where: str) -> dict[str, str]:
        """CampaignMember Id by contact id, for those of ``ids`` in the campaign (and ``where``)."""
        if not ids:
            return {}
        rows = self.client.query(
            f"read members of campaign {list_ref.name!r}",
            format_soql(
                f"SELECT Id, {self.member_field} FROM CampaignMember "
                f"WHERE CampaignId = {{}} AND {self.member_field} IN {{}}",
                list_ref.id,
                list(ids),
            )
            + "".join(f" AND {condition}" for condition in where),
        )
        return {str(row[self.member_field]): str(row["Id"]) for row in rows}

    # -- segsync check ---------------------------------------------------------------------

    def check_access(self, segment_fields: Sequence[str]) -> list[AccessCheck]:
        """Describe the person object, Campaign and CampaignMember. A describe answers for the
        integration user, so its flags and the fields it shows (field-level security) say what
        a sync may do, without writing anything."""
        plural = f"{self.sobject}s"
        person = self._describe(self.sobject)
        visible = {field["name"].lower(): field for field in person.get("fields") or ()}
        campaign, member = self._describe("Campaign"), self._describe("CampaignMember")
        # Campaign members follow the campaign's access, and only marketing users manage them.
        campaigns = self._object_grant("Read, Create and Edit", "Campaigns") + (
            " and tick Marketing User on its user record (Setup → Users)"
        )
        return [
            login_check(self.client.method),
            _flag(f"read {plural}", person, "queryable", self._object_grant("Read", plural)),
            _flag(f"update {plural}", person, "updateable", self._object_grant("Edit", plural)),
            *(self._field_check(name, visible.get(name.lower())) for name in segment_fields),
            *setup_checks(self.client),
            _flag("create campaigns", campaign, "createable", campaigns),
            _flag("add campaign members", member, "createable", campaigns),
            _flag("remove campaign members", member, "deletable", campaigns),
        ]

    def _describe(self, sobject: str) -> Mapping[str, Any]:
        """The object's describe; empty when the user may not see the object at all."""
        try:
            return self.client.rest(f"describe {sobject}", f"sobjects/{sobject}/describe")
        except NotFound:
            return {}

    def _object_grant(self, permission: str, plural: str) -> str:
        """Where a person grants an object permission to the integration user."""
        permission_set = self.settings.permission_set or "<permission set>"
        return (
            f"grant {permission} on {plural} to the integration user (Setup → Permission Sets → "
            f"{permission_set} → Object Settings → {plural} → Edit)"
        )

    def _field_check(self, field: str, described: Mapping[str, Any] | None) -> AccessCheck:
        """Whether segsync can write ``field``; one it cannot see yet is created or granted by
        the first sync (``ContactFields.ensure``), so it is left unchecked."""
        name = f"write field {field}"
        refused = field_name_problem(field)
        if refused:
            return AccessCheck(name, "failed", f"{refused}: rename it in [sync]")
        if described is None:
            detail = "not visible yet: the first sync creates it and grants it Read and Edit"
            return AccessCheck(name, "unchecked", detail)
        if described.get("updateable"):
            return AccessCheck(name, "ok", "visible and updateable")
        return AccessCheck(name, "failed", self.client.grant.message(field))


def _flag(name: str, described: Mapping[str, Any], flag: str, fix: str) -> AccessCheck:
    """Ok when the describe sets ``flag`` for the integration user, else failed with ``fix``."""
    if described.get(flag):
        return AccessCheck(name, "ok", f"describe says {flag}")
    return AccessCheck(name, "failed", fix)


def _membership_change(
    ids: Sequence[str], results: Sequence[Mapping[str, Any]], *, contacts_named: bool
) -> MembershipChange:
    """What a membership change's Collections results confirm, one result per id.

    A member added twice (``DUPLICATE_VALUE``, a concurrent run) or a member already gone is
    as asked. A record missing is the contact when the call named contacts (an insert), only
    the CampaignMember when it named members (a delete): then the contact itself is still
    there. Any other failure raises, for the first record that needs attention.

    The rest of the call is applied either way (``allOrNone`` is off), and the change is
    idempotent, so a lock makes the whole chunk transient: the retry redoes only what is left.
    """
    _require_one_result_each("change campaign members", ids, results)
    outcomes = [record_result(i, r) for i, r in zip(ids, results, strict=True)]
    failures = [
        outcome
        for outcome in outcomes
        if not (outcome.ok or outcome.missing or outcome.code == MEMBER_ALREADY_ADDED)
    ]
    if any(failure.retryable for failure in failures):
        raise Transient(f"Salesforce campaign members locked: {failures[0].message}")
    if failures:
        first = failures[0]
        raise RecordRejected(first.contact_id, first.code, first.message, retryable=False)
    missing = [o.contact_id for o in outcomes if o.missing] if contacts_named else []
    return MembershipChange(
        changed=tuple(o.contact_id for o in outcomes if o.ok), missing=tuple(missing)
    )


def _require_one_result_each(action: str, sent: Sequence[object], results: Any) -> None:
    """A Collections answer confirms a record only by its place in an array as long as the
    request's records: anything else confirms nothing, and the call is retried."""
    if not isinstance(results, list) or len(results) != len(sent):
        raise Transient(
            f"Salesforce {action}: the answer does not have one result for each of the "
            f"{len(sent)} records; nothing confirmed"
        )
