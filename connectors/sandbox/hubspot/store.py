"""In-memory state of the sandbox HubSpot portal: contacts, property definitions and groups, lists.

All state sits behind one re-entrant lock, so a request handler can hold ``transaction()`` for a
whole read-validate-write sequence (HubSpot applies a batch as a unit) while tests, playing a
person who edits the CRM, call the helper methods from another thread at any time.
"""

from __future__ import annotations

import bisect
import copy
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.hubspot import schema
from connectors.sandbox.timestamps import iso_from_ms, parse_timestamp_ms, wall_clock_ms

FIRST_CONTACT_ID = 51
"""Ids start low so a page of contacts crosses digit boundaries (99 → 100 → 1000): a client that
sorts or compares ids as text instead of numbers then gets the order visibly wrong."""

FIRST_LIST_ID = 11

MERGED_IDS_PROPERTY = "hs_merged_object_ids"
"""HubSpot's "Merged Contact IDs": the ids a merge folded into a record, ``;``-separated."""


def _required_timestamp(text: str) -> int:
    parsed = parse_timestamp_ms(text)
    if parsed is None:
        raise ValueError(f"not a timestamp: {text!r}")
    return parsed


@dataclass
class ContactRecord:
    """One contact. ``values`` holds only set properties; the system ones are derived."""

    id: int
    values: dict[str, str]
    created_ms: int
    updated_ms: int
    archived_ms: int | None = None
    merged_into: int | None = None
    """The record a merge folded this one into: reads skip it, addressing it reaches that one."""

    def value(self, name: str) -> str | None:
        """A property's value as HubSpot returns it: text, or None when unset."""
        if name == "hs_object_id":
            return str(self.id)
        if name == "createdate":
            return iso_from_ms(self.created_ms)
        if name == "lastmodifieddate":
            return iso_from_ms(self.updated_ms)
        return self.values.get(name)


@dataclass
class ListRecord:
    """A list (ILS v3). ``members`` maps record id to the membership time in epoch ms."""

    list_id: int
    name: str
    processing_type: str
    object_type_id: str
    created_ms: int
    updated_ms: int
    filter_branch: dict[str, Any] | None
    deleted_ms: int | None = None
    members: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The list as HubSpot describes it (the ``list`` object of the v3 lists API).

        ``size`` is the member count: ``PublicObjectList.size`` in HubSpot's Lists v3 spec
        (as hubspot-api-client 12 models it), which segsync compares with the members it
        remembers to find lists edited by hand.
        """
        described: dict[str, Any] = {
            "listId": str(self.list_id),
            "listVersion": 1,  # counts filter changes; sandbox lists never change filters
            "name": self.name,
            "objectTypeId": self.object_type_id,
            "processingType": self.processing_type,
            "processingStatus": "COMPLETE",
            "createdAt": iso_from_ms(self.created_ms),
            "updatedAt": iso_from_ms(self.updated_ms),
            "filtersUpdatedAt": iso_from_ms(self.created_ms),
            "size": len(self.members),
        }
        if self.deleted_ms is not None:
            described["deletedAt"] = iso_from_ms(self.deleted_ms)
        if self.filter_branch is not None:
            described["filterBranch"] = copy.deepcopy(self.filter_branch)
        return described


class HubSpotStore:
    """The portal's data. Public methods are safe to call from tests while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clock_ms = wall_clock_ms
        self._contacts: dict[int, ContactRecord] = {}
        self._contact_ids: list[int] = []
        self._next_contact_id = FIRST_CONTACT_ID
        self._groups: dict[str, dict[str, Any]] = {
            group["name"]: {**group, "archived": False} for group in schema.GROUPS
        }
        self._properties: dict[str, dict[str, Any]] = {
            prop["name"]: copy.deepcopy(prop) for prop in schema.PROPERTIES
        }
        self._lists: dict[int, ListRecord] = {}
        self._next_list_id = FIRST_LIST_ID

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the state lock across several calls so they apply as one unit."""
        with self._lock:
            yield

    def now_ms(self) -> int:
        """The store's clock, in epoch milliseconds."""
        return self._clock_ms()

    # -- contacts --------------------------------------------------------------------------

    def add_contacts(self, rows: Iterable[Mapping[str, str | None]]) -> list[str]:
        """Insert contacts and return their new ids, in input order.

        ``createdate`` and ``lastmodifieddate`` in a row set the record's timestamps (seed data
        has a history); other keys must be defined properties. None and "" mean unset.
        """
        with self._lock:
            now = self._clock_ms()
            ids: list[str] = []
            for row in rows:
                values = {k: v for k, v in row.items() if v not in (None, "")}
                created = values.pop("createdate", None)
                modified = values.pop("lastmodifieddate", None)
                self._require_properties(values)
                created_ms = _required_timestamp(created) if created else now
                updated_ms = _required_timestamp(modified) if modified else max(now, created_ms)
                record = ContactRecord(self._next_contact_id, dict(values), created_ms, updated_ms)
                self._contacts[record.id] = record
                self._contact_ids.append(record.id)
                self._next_contact_id += 1
                ids.append(str(record.id))
            return ids

    def contact(self, contact_id: str) -> dict[str, str | None]:
        """Every defined property of a contact (archived ones included) → its value or None."""
        with self._lock:
            record = self._known_contact(contact_id)
            return {name: record.value(name) for name in self._properties}

    def set_properties(self, contact_id: str, values: Mapping[str, str]) -> None:
        """A person's edit in the CRM: set (or, with "", clear) values and bump the timestamp."""
        with self._lock:
            record = self._known_contact(contact_id)
            self._require_properties(values)
            self.write_values(record, values)

    def archive_contact(self, contact_id: str) -> None:
        """A person archives a contact: reads skip it and it leaves every list."""
        with self._lock:
            record = self._known_contact(contact_id)
            record.archived_ms = self._clock_ms()
            for lst in self._lists.values():
                lst.members.pop(record.id, None)

    def active_contact(self, contact_id: str) -> ContactRecord | None:
        """The live (non-archived) contact this id addresses; None for unknown or malformed ids.

        An id a merge folded away addresses the record the merge made, as HubSpot keeps old
        ids pointing at it (see ``merge_contacts``).
        """
        if not contact_id.isdigit():
            return None
        with self._lock:
            record = self._contacts.get(int(contact_id))
            while record is not None and record.merged_into is not None:
                record = self._contacts[record.merged_into]
            return record if record is not None and record.archived_ms is None else None

    def merge_contacts(self, primary_id: str, merged_id: str) -> str:
        """Merge two live contacts the way HubSpot does today; the id of the resulting record.

        HubSpot's changelog ("Updated merge functionality for contacts and companies"): a merge
        creates a new record with a new id, the primary's values win and the other's fill what
        the primary lacks, and both old ids keep pointing at the new record. The originals
        leave every read (neither live nor archived); the new record lists every id it absorbed
        (both originals and whatever they had absorbed) in ``hs_merged_object_ids``; static
        list memberships of either carry over (integrators' reports; HubSpot does not document
        it). KeyError for an id that is not a live contact, ValueError for merging one with
        itself.
        """
        with self._lock:
            primary, other = self.active_contact(primary_id), self.active_contact(merged_id)
            if primary is None or other is None:
                raise KeyError(primary_id if primary is None else merged_id)
            if primary is other:
                raise ValueError(f"contact {primary.id} cannot be merged into itself")
            absorbed = {str(primary.id), str(other.id)} | {
                part
                for record in (primary, other)
                for part in (record.values.get(MERGED_IDS_PROPERTY) or "").split(";")
                if part
            }
            values = {**other.values, **primary.values}
            values[MERGED_IDS_PROPERTY] = ";".join(sorted(absorbed, key=int))
            now = self._clock_ms()
            merged = ContactRecord(
                self._next_contact_id, values, min(primary.created_ms, other.created_ms), now
            )
            self._contacts[merged.id] = merged
            self._contact_ids.append(merged.id)
            self._next_contact_id += 1
            for lst in self._lists.values():
                joined = [lst.members.pop(r.id) for r in (primary, other) if r.id in lst.members]
                if joined:
                    lst.members[merged.id] = min(joined)
            primary.merged_into = other.merged_into = merged.id
            return str(merged.id)

    def contacts_from(self, first_id: int, archived: bool) -> Iterator[ContactRecord]:
        """Contacts with id >= ``first_id`` in ascending id order, archived or live ones only;
        records a merge folded away are neither.

        Call inside ``transaction()``: the iterator reads live state.
        """
        ids = self._contact_ids
        for index in range(bisect.bisect_left(ids, first_id), len(ids)):
            record = self._contacts[ids[index]]
            if record.merged_into is None and (record.archived_ms is not None) == archived:
                yield record

    def write_values(self, record: ContactRecord, values: Mapping[str, str]) -> None:
        """Apply values ("" clears); bump ``lastmodifieddate`` only if something changed.

        HubSpot documents ``lastmodifieddate`` as the time of the latest property update, and
        writing a value a property already holds updates nothing. The timestamp also moves
        forward by at least 1 ms, so two quick writes never share one.
        """
        changed = False
        for name, value in values.items():
            if name == "createdate":
                # Stored as the record's creation time; HubSpot cannot clear it.
                created_ms = _required_timestamp(value) if value else record.created_ms
                changed |= created_ms != record.created_ms
                record.created_ms = created_ms
            elif value == "":
                changed |= record.values.pop(name, None) is not None
            elif record.values.get(name) != value:
                record.values[name] = value
                changed = True
        if changed:
            record.updated_ms = max(self._clock_ms(), record.updated_ms + 1)

    def _known_contact(self, contact_id: str) -> ContactRecord:
        """The contact with this id, archived or not; KeyError when there is none."""
        record = self._contacts.get(int(contact_id)) if str(contact_id).isdigit() else None
        if record is None:
            raise KeyError(contact_id)
        return record

    def _require_properties(self, values: Iterable[str]) -> None:
        """Helpers take only stored properties: a typo in a test should fail loudly."""
        unknown = sorted(
            name for name in values
            if name not in self._properties or name in schema.SYSTEM_PROPERTIES
        )
        if unknown:
            raise ValueError(f"unknown or derived contact properties: {unknown}")

    # -- properties and groups -------------------------------------------------------------

    def property(self, name: str) -> dict[str, Any] | None:
        """The property definition (a copy), or None when it does not exist."""
        with self._lock:
            prop = self._properties.get(name)
            return copy.deepcopy(prop) if prop is not None else None

    def property_types(self) -> dict[str, str]:
        """Each property's ``type``: all that reads and searches need, without copying."""
        with self._lock:
            return {name: prop["type"] for name, prop in self._properties.items()}

    def properties(self) -> list[dict[str, Any]]:
        """Every property definition (copies), in creation order."""
        with self._lock:
            return copy.deepcopy(list(self._properties.values()))

    def put_property(self, definition: dict[str, Any]) -> None:
        """Create or replace a property definition (validation is the API's job)."""
        with self._lock:
            self._properties[definition["name"]] = copy.deepcopy(definition)

    def delete_property(self, name: str) -> None:
        """A person deletes a property: its definition and every value of it go."""
        with self._lock:
            del self._properties[name]
            for record in self._contacts.values():
                record.values.pop(name, None)

    def group(self, name: str) -> dict[str, Any] | None:
        """The property group (a copy), or None when it does not exist."""
        with self._lock:
            group = self._groups.get(name)
            return dict(group) if group is not None else None

    def groups(self) -> list[dict[str, Any]]:
        """Every property group (copies), in creation order."""
        with self._lock:
            return [dict(group) for group in self._groups.values()]

    def put_group(self, group: dict[str, Any]) -> None:
        """Create or replace a property group."""
        with self._lock:
            self._groups[group["name"]] = dict(group)

    # -- lists -----------------------------------------------------------------------------

    def create_list(
        self,
        name: str,
        processing_type: str,
        object_type_id: str = "0-1",
        filter_branch: dict[str, Any] | None = None,
    ) -> ListRecord:
        """Create a list; name uniqueness is the API's check (it owns the error body)."""
        with self._lock:
            now = self._clock_ms()
            record = ListRecord(
                list_id=self._next_list_id,
                name=name,
                processing_type=processing_type,
                object_type_id=object_type_id,
                created_ms=now,
                updated_ms=now,
                filter_branch=copy.deepcopy(filter_branch),
            )
            self._lists[record.list_id] = record
            self._next_list_id += 1
            return record

    def list_record(self, list_id: str) -> ListRecord | None:
        """The list with this id, deleted or not; None when unknown or malformed."""
        if not list_id.isdigit():
            return None
        with self._lock:
            return self._lists.get(int(list_id))

    def live_list_named(self, name: str) -> ListRecord | None:
        """The non-deleted list with this name, compared case-insensitively as HubSpot does."""
        wanted = name.casefold()
        with self._lock:
            for record in self._lists.values():
                if record.deleted_ms is None and record.name.casefold() == wanted:
                    return record
            return None

    def list_by_name(self, name: str) -> dict[str, Any] | None:
        """The non-deleted list with this name as HubSpot describes it, or None."""
        with self._lock:
            record = self.live_list_named(name)
            return record.as_dict() if record is not None else None

    def list_members(self, list_id: str) -> set[str]:
        """The ids of the contacts in a list."""
        with self._lock:
            record = self._known_list(list_id)
            return {str(member) for member in record.members}

    def delete_list(self, list_id: str) -> None:
        """A person deletes a list: HubSpot keeps it, readable by id, with ``deletedAt`` set."""
        with self._lock:
            record = self._known_list(list_id)
            record.deleted_ms = self._clock_ms()
            record.updated_ms = record.deleted_ms

    def _known_list(self, list_id: str) -> ListRecord:
        """The list with this id, deleted or not; KeyError when there is none."""
        record = self.list_record(str(list_id))
        if record is None:
            raise KeyError(list_id)
        return record

    def add_members(self, record: ListRecord, ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Add live contacts to a list: (ids newly added, ids that are not live contacts).

        Ids already in the list are neither added nor missing, which is how HubSpot's
        "records that are already members of the list are ignored" reads.
        """
        with self._lock:
            now = self._clock_ms()
            added: list[str] = []
            missing: list[str] = []
            for contact_id in ids:
                contact = self.active_contact(contact_id)
                if contact is None:
                    missing.append(contact_id)
                elif contact.id not in record.members:
                    record.members[contact.id] = now
                    added.append(contact_id)
            return added, missing

    def remove_members(self, record: ListRecord, ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Remove contacts from a list: (ids removed, ids that are not live contacts)."""
        with self._lock:
            removed: list[str] = []
            missing: list[str] = []
            for contact_id in ids:
                contact = self.active_contact(contact_id)
                if contact is None:
                    missing.append(contact_id)
                elif record.members.pop(contact.id, None) is not None:
                    removed.append(contact_id)
            return removed, missing
