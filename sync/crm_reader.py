"""What the CRM holds now: its contacts (all of them, or those changed since the last run), the
contacts it deleted, and each segment's list with its members.

Each read is remembered in the state store as it is made (mirror, synced values, members,
owned lists), so an incremental run can take the rest of the picture from there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from connectors.base import Connector, FieldInfo, ListRef
from connectors.capabilities import ContactCounting, CrmClock, DeletionReading
from sync.config import SyncOptions
from sync.member_prefetch import MemberPrefetch
from sync.outcome import PullCount
from sync.owned_lists import claim_list
from sync.plan import OrphanList, SegmentTarget
from sync.progress import ProgressSink
from sync.pull import (
    Rows,
    in_parallel,
    pull_changed_contacts,
    pull_contact_rows,
    read_deleted,
    read_members,
)
from sync.retry import Retrier
from sync.segmentation import text_frame
from sync.state.store import StateStore


@dataclass(frozen=True)
class PulledContacts:
    """One pull's contacts, each frame indexed by contact id."""

    rule_values: pd.DataFrame
    """The fields the segments read."""
    current: pd.DataFrame
    """segsync's own fields as the CRM holds them."""
    modified: pd.Series
    """When the CRM last modified each contact pulled (where the next incremental pull starts)."""
    count: PullCount | None = None
    """A full pull's contacts against the CRM's own count (None on incremental pulls)."""


class CrmReader:
    """Reads the CRM's current state through the run's call gateway, remembering it."""

    def __init__(
        self,
        connector: Connector,
        retrier: Retrier,
        store: StateStore,
        progress: ProgressSink,
        options: SyncOptions,
        source: str,
    ) -> None:
        self.connector = connector
        self.retrier = retrier
        self.store = store
        self.progress = progress
        self.options = options
        self.source = source
        """The config file, to name it in errors."""

    @property
    def sync_fields(self) -> list[str]:
        return self.options.sync_fields

    def crm_time(self) -> datetime | None:
        """The CRM's time at its latest answer, when the connector can tell it."""
        return self.connector.crm_time() if isinstance(self.connector, CrmClock) else None

    def full_pull(
        self, read_fields: list[str], fields: Mapping[str, FieldInfo], dry_run: bool
    ) -> PulledContacts:
        # Only the segsync fields the CRM has: Salesforce refuses a query naming a missing one,
        # and on a first sync the plan has yet to create them.
        present = [name for name in self.sync_fields if name in fields]
        before = self._count_contacts()
        rows, modified = pull_contact_rows(
            self.connector, read_fields + present, self.retrier, self.progress
        )
        after = self._count_contacts()
        counts = [count for count in (before, after) if count is not None]
        pull_count = PullCount(len(rows), min(counts) if counts else None)
        # A field the CRM lacks reads as empty (None).
        raw = text_frame(rows, read_fields + present).reindex(
            columns=read_fields + self.sync_fields
        )
        raw.index.name = "id"
        if not dry_run:  # a pull that ended early replaces nothing: it only adds what it read
            complete = pull_count.complete
            self.store.save_mirror(_values(rows, read_fields), replace=complete)
            save_synced = self.store.replace_synced if complete else self.store.merge_synced
            save_synced(_synced_values(rows, self.sync_fields, present))
        return PulledContacts(raw[read_fields], raw[self.sync_fields], modified, pull_count)

    def incremental_pull(self, read_fields: list[str], since: datetime) -> PulledContacts:
        merges: dict[str, str] = {}
        changed, modified = pull_changed_contacts(
            self.connector,
            read_fields + self.sync_fields,
            since,
            self.retrier,
            self.progress,
            merges=merges,
        )
        self.store.absorb_merged(merges)  # merged-away ids: forgotten, memberships moved
        pulled = _values(changed, read_fields)
        mirror = self.store.mirror()
        mirror.update(pulled)
        synced: Mapping[str, Mapping[str, str | None]] = {
            **self.store.synced_fields(),
            **_values(changed, self.sync_fields),
        }
        self.store.save_mirror(pulled, replace=False)
        rule_values = text_frame(mirror, read_fields)
        current = text_frame(synced, self.sync_fields).reindex(rule_values.index)
        return PulledContacts(rule_values, current, modified)

    def forget_deleted(self, since: datetime | None, dry_run: bool) -> set[str]:
        """Contacts the CRM says it deleted since the last run: forgotten in the state store
        (mirror, synced values, list members, refusals) and left out of this run, so they are
        neither segmented nor written. Asked of the CRM, never inferred from a pull.

        Both CRMs take a deleted contact out of every list themselves (HubSpot on archiving,
        Salesforce deletes its campaign members along), so nothing is removed for them. A
        contact a merge deleted (Salesforce) is absorbed instead: its lists are the surviving
        record's now, in the CRM and so in the store (in dry runs too, as for the merges a pull
        reports), so the plan takes the survivor out of those it does not belong in.
        """
        if since is None or not isinstance(self.connector, DeletionReading):
            return set()
        merges: dict[str, str] = {}
        deleted = read_deleted(self.connector, since, self.retrier, merges=merges)
        self.store.absorb_merged(merges)
        if not dry_run:
            self.store.forget_contacts(deleted)
        return deleted

    def lists(
        self,
        targets: Sequence[SegmentTarget],
        *,
        read_all: bool,
        dry_run: bool,
        ahead: MemberPrefetch,
    ) -> tuple[dict[str, ListRef | None], dict[str, set[str]]]:
        """Each segment's list and members: read from the CRM (or taken from those ``ahead``
        read of a list of the same id), or from the state store.

        Every list found must be segsync's own (``claim_list``), checked before any write.
        An incremental run trusts the members it remembers only while the CRM reports the
        same member count: hand edits do not bump contacts' modification dates, so a list
        whose size differs is read again (a hand swap that keeps the size waits for the next
        full run).
        """
        tracked = self.store.members()
        owned = self.store.owned_lists()
        found_lists = self._find_lists([target.list_name for target in targets])
        lists = {target.name: found for target, found in zip(targets, found_lists, strict=True)}
        members: dict[str, set[str]] = {}
        unread: dict[str, ListRef] = {}
        for target, found in zip(targets, found_lists, strict=True):
            if found is None:
                members[target.name] = set()
                continue
            claimed = claim_list(
                target,
                found,
                owned.get(target.name),
                tracked=target.name in tracked,
                adopt=self.options.adopt_lists,
                source=self.source,
            )
            if claimed and not dry_run:
                self.store.own_list(target.name, found.id, found.name)
            # The store keeps no row for an empty list: a size of 0 needs no read either.
            remembered = tracked.get(target.name, set() if found.size == 0 else None)
            if not read_all and remembered is not None and found.size in (None, len(remembered)):
                members[target.name] = remembered
            else:
                unread[target.name] = found
        for name, ids in ahead.members_of(unread).items():
            members[name] = ids
            # A forced run finds most lists as the store has them: rewriting 10^5 rows that
            # did not change cost it seconds.
            if not dry_run and ids != tracked.get(name, set()):
                self.store.replace_members(name, ids)
        return lists, {target.name: members[target.name] for target in targets}

    def orphans(
        self, targets: Sequence[SegmentTarget], *, dry_run: bool
    ) -> tuple[tuple[OrphanList, ...], dict[str, set[str]]]:
        """The owned lists of segments no longer configured, and the members of those this
        run empties. A list gone from the CRM (or renamed by hand) is reported once, then
        forgotten."""
        configured = {target.name for target in targets}
        action = self.options.orphan_lists
        orphans: list[OrphanList] = []
        members: dict[str, set[str]] = {}
        for segment, owned in sorted(self.store.owned_lists().items()):
            if segment in configured:
                continue
            found = self.retrier.call(self.connector.find_list, owned.list_name)
            if found is None or not owned.matches(found):
                if not dry_run:
                    self.store.forget_list(segment)
                orphans.append(OrphanList(segment, owned.list_name, None, None, action))
                continue
            size = found.size
            if action == "empty" and size != 0:
                members[segment] = read_members(self.connector, found, self.retrier)
                size = len(members[segment])
            orphans.append(OrphanList(segment, owned.list_name, found, size, action))
        return tuple(orphans), members

    def _find_lists(self, names: Sequence[str]) -> list[ListRef | None]:
        """Each named list, or None where the CRM has none, looked up several at once."""

        def find(name: str) -> ListRef | None:
            return self.retrier.call(self.connector.find_list, name)

        return in_parallel(find, names, self.connector.limits.max_concurrency)

    def _count_contacts(self) -> int | None:
        """The CRM's own count of its contacts, when the connector can ask for it."""
        if not isinstance(self.connector, ContactCounting):
            return None
        return self.retrier.call(self.connector.count_contacts)


def _values(rows: Rows, fields: Sequence[str]) -> Rows:
    """Contacts' values of ``fields`` as the state store keeps them: None where the CRM sent
    none."""
    return {cid: {name: values.get(name) for name in fields} for cid, values in rows.items()}


def _synced_values(
    rows: Rows, sync_fields: Sequence[str], present: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Contacts' segsync fields as the synced state keeps them: "" where the CRM holds no
    value, or lacks the field (``present`` are those it has)."""
    held = [(name, name in present) for name in sync_fields]
    return {
        cid: {name: (values.get(name) or "") if pulled else "" for name, pulled in held}
        for cid, values in rows.items()
    }
