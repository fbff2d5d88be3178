"""The sync plan: the difference between what the CRM holds and what it should hold.

Planning is pure — it reads the desired assignments and the CRM's current state and calls
nothing — so every decision about what to write is testable without a server. The executor
is the only code that talks to the CRM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

import pandas as pd

from connectors.base import ConnectorLimits, FieldInfo, ListRef, PropertyWrite, SegmentField
from sync.config import SyncOptions
from sync.move_plan import plan_moves, planned_moves
from sync.moves import SegmentMove


@dataclass(frozen=True)
class SegmentTarget:
    """A segment as the sync sees it: its name, its priority and the list that mirrors it."""

    name: str
    priority: int
    list_name: str


@dataclass(frozen=True)
class ListChange:
    """Membership changes of one segment's list; ``list_ref`` is None when it must be created."""

    segment: str
    list_name: str
    list_ref: ListRef | None
    add: tuple[str, ...]
    remove: tuple[str, ...]
    unseen: int = 0
    """Members this run did not pull, so cannot judge: they stay in the list."""


OrphanAction = Literal["keep", "empty", "delete"]


@dataclass(frozen=True)
class OrphanList:
    """A list segsync owns whose segment is no longer configured (renamed, removed, a cluster
    gone after a refit); ``list_ref`` is None when it is gone from the CRM too. ``action`` is
    what this run does with it (``[sync] orphan_lists``)."""

    segment: str
    list_name: str
    list_ref: ListRef | None
    members: int | None
    action: OrphanAction

    @property
    def to_delete(self) -> bool:
        return self.action == "delete" and self.list_ref is not None

    @property
    def loses_members(self) -> bool:
        """Whether this run empties or deletes a list that has (or may have) members."""
        return self.action != "keep" and self.list_ref is not None and self.members != 0


@dataclass(frozen=True)
class Plan:
    """Everything one sync run will change, and nothing it would not."""

    fields: tuple[SegmentField, ...]
    writes: tuple[PropertyWrite, ...]
    list_changes: tuple[ListChange, ...]
    orphans: tuple[OrphanList, ...] = ()
    moves: tuple[SegmentMove, ...] = ()
    """The moves between primary segments the writes carry (each has its contact's write)."""
    moves_held: tuple[SegmentMove, ...] = ()
    """The moves the CRM holds already (a killed run's write landed): nothing to write."""

    @property
    def is_empty(self) -> bool:
        return not (
            self.fields
            or self.writes
            or any(c.list_ref is None or c.add or c.remove for c in self.list_changes)
            or any(o.to_delete for o in self.orphans)
        )

    def batch_count(self, limits: ConnectorLimits) -> int:
        """The write calls this plan needs at the connector's batch sizes."""

        def calls(items: int, size: int) -> int:
            return -(-items // size)

        return (
            len(self.fields)
            + sum(o.to_delete for o in self.orphans)
            + sum(c.list_ref is None for c in self.list_changes)
            + calls(len(self.writes), limits.write_batch_size)
            + sum(
                calls(len(c.add), limits.list_change_batch_size)
                + calls(len(c.remove), limits.list_change_batch_size)
                for c in self.list_changes
            )
        )

    def list_adds(self) -> int:
        return sum(len(change.add) for change in self.list_changes)

    def list_removes(self) -> int:
        return sum(len(change.remove) for change in self.list_changes)

    def members_unseen(self) -> int:
        return sum(change.unseen for change in self.list_changes)


def segment_fields(options: SyncOptions, segment_names: Sequence[str]) -> tuple[SegmentField, ...]:
    """The contact fields segsync maintains, with the segment names as their options."""
    return tuple(spec for _, spec in keyed_segment_fields(options, segment_names))


def keyed_segment_fields(
    options: SyncOptions, segment_names: Sequence[str]
) -> tuple[tuple[str, SegmentField], ...]:
    """Each contact field segsync maintains, with the ``[sync]`` key that names it: the three
    it always writes, then the two of a move, when configured."""
    keys = ("segment_property", "segments_property", "reason_property")
    return tuple(zip(keys, _always_written(options, segment_names), strict=True)) + tuple(
        (key, spec) for key, spec in _move_fields(options) if spec.name
    )


def _move_fields(options: SyncOptions) -> tuple[tuple[str, SegmentField], ...]:
    return (
        (
            "previous_segment_property",
            SegmentField(
                options.previous_segment_property,
                "Previous segment (segsync)",
                "The contact's primary segment before it last changed.",
                "text",
            ),
        ),
        (
            "segment_changed_property",
            SegmentField(
                options.segment_changed_property,
                "Segment changed on (segsync)",
                "The date the contact's primary segment last changed.",
                "date",
            ),
        ),
    )


def _always_written(
    options: SyncOptions, segment_names: Sequence[str]
) -> tuple[SegmentField, ...]:
    names = tuple(segment_names)
    return (
        SegmentField(
            options.segment_property,
            "Segment (segsync)",
            "The contact's primary segment, chosen by segment priority.",
            "single_select",
            names,
        ),
        SegmentField(
            options.segments_property,
            "All segments (segsync)",
            "Every segment the contact matches.",
            "multi_select",
            names,
        ),
        SegmentField(
            options.reason_property,
            "Segment reason (segsync)",
            "Why the contact is in its primary segment.",
            "text",
        ),
    )


def fields_to_ensure(
    wanted: Sequence[SegmentField], existing: Mapping[str, FieldInfo]
) -> tuple[SegmentField, ...]:
    """The wanted fields that are missing (marked so) or lack some of their options."""
    return tuple(
        replace(spec, missing=spec.name not in existing)
        for spec in wanted
        if spec.name not in existing or not set(spec.options) <= set(existing[spec.name].options)
    )


def desired_values(assignments: pd.DataFrame, options: SyncOptions) -> pd.DataFrame:
    """What each contact's segsync fields should hold, as the CRM stores them (text).

    A contact with no primary segment gets every field cleared, reason included: there is
    nothing for a sales rep to read, and clearing is a no-op on contacts never touched.
    """
    assigned = assignments["primary"].notna()
    return pd.DataFrame(
        {
            options.segment_property: assignments["primary"].fillna("").astype(object),
            options.segments_property: assignments["segments"].map(";".join).astype(object),
            options.reason_property: assignments["reason"].where(assigned, "").astype(object),
        },
        index=assignments.index,
    )


def property_writes(desired: pd.DataFrame, current: pd.DataFrame) -> tuple[PropertyWrite, ...]:
    """One write per contact whose fields differ, carrying only the fields that differ.

    A missing value in the CRM and an empty string are the same thing: HubSpot clears a
    property when sent an empty string.
    """
    held = current.reindex(index=desired.index, columns=desired.columns)
    held = held.astype(object).where(held.notna(), "")
    differs = desired.ne(held)
    changed = differs.any(axis=1)
    rows = changed.to_numpy()
    columns = list(desired.columns)
    # Plain lists, zipped contact by contact: itertuples over 10^5 contacts cost a second.
    values = zip(*(desired[c].to_numpy()[rows].tolist() for c in columns), strict=True)
    flags = zip(*(differs[c].to_numpy()[rows].tolist() for c in columns), strict=True)
    return tuple(
        PropertyWrite(
            str(contact_id),
            {column: value for column, value, flag in zip(columns, row, mask, strict=True) if flag},
        )
        for contact_id, row, mask in zip(desired.index[rows], values, flags, strict=True)
    )


def list_changes(
    targets: Sequence[SegmentTarget],
    assignments: pd.DataFrame,
    lists: Mapping[str, ListRef | None],
    members: Mapping[str, set[str]],
    kept_out: Mapping[str, set[str]] | None = None,
) -> tuple[ListChange, ...]:
    """Per segment: the matching contacts missing from its list, and the members who left.

    Only a contact the run segmented (one of ``assignments``: pulled, or for an incremental
    run mirrored) can leave a list, and only because it no longer matches. Absence is not
    departure: a member the run does not know (a pull that ended early, a contact the
    integration cannot see) stays, counted in ``ListChange.unseen``.

    ``kept_out`` names, per segment, matching contacts that must not be in its list (held out
    for measurement, or opted out of marketing); they are removed if a person added them.
    """
    kept_out = kept_out or {}
    known = set(assignments.index)
    exploded = assignments["segments"].explode().dropna()
    wanted_by_segment: dict[str, set[str]] = {}
    for contact_id, segment in zip(exploded.index.tolist(), exploded.tolist(), strict=True):
        wanted_by_segment.setdefault(segment, set()).add(contact_id)
    changes = []
    for target in targets:
        wanted = wanted_by_segment.get(target.name, set()) - kept_out.get(target.name, set())
        held = members.get(target.name, set())
        judged = held & known
        changes.append(
            ListChange(
                segment=target.name,
                list_name=target.list_name,
                list_ref=lists.get(target.name),
                add=_in_id_order(wanted - held),
                remove=_in_id_order(judged - wanted),
                unseen=len(held) - len(judged),
            )
        )
    return tuple(changes)


def emptying_changes(
    orphans: Sequence[OrphanList], members: Mapping[str, set[str]]
) -> tuple[ListChange, ...]:
    """The removals that empty the orphan lists ``orphan_lists = "empty"`` acts on."""
    return tuple(
        ListChange(
            o.segment, o.list_name, o.list_ref, (), _in_id_order(members[o.segment])
        )
        for o in orphans
        if o.action == "empty" and o.list_ref is not None and members.get(o.segment)
    )


def in_holdout(contact_id: str, segment: str, share: float) -> bool:
    """Whether the contact is in the segment's holdout: stable across runs and machines."""
    digest = hashlib.sha1(f"{segment}\0{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def kept_out_of_lists(
    targets: Sequence[SegmentTarget],
    assignments: pd.DataFrame,
    holdouts: Mapping[str, float],
    opted_out: set[str],
) -> dict[str, set[str]]:
    """Per segment, the matching contacts its list must not hold: holdout, then opted out."""
    exploded = assignments["segments"].explode().dropna()
    kept: dict[str, set[str]] = {}
    for target in targets:
        matching = exploded.index[exploded.to_numpy() == target.name]
        share = holdouts.get(target.name, 0.0)
        held = {cid for cid in matching if share and in_holdout(cid, target.name, share)}
        kept[target.name] = held | (opted_out & set(matching))
    return kept


def _in_id_order(ids: set[str]) -> tuple[str, ...]:
    """CRM ids sorted numerically where they are numbers, so batches are stable and readable.
    When all are numbers, ``int`` alone is the same order, and several times faster on 10^5
    ids than the mixed key."""
    if all(contact_id.isdigit() for contact_id in ids):
        return tuple(sorted(ids, key=int))
    return tuple(sorted(ids, key=_id_order))


def _id_order(contact_id: str) -> tuple[int, str]:
    return (int(contact_id), "") if contact_id.isdigit() else (0, contact_id)


def build_plan(
    *,
    options: SyncOptions,
    targets: Sequence[SegmentTarget],
    assignments: pd.DataFrame,
    existing_fields: Mapping[str, FieldInfo],
    current_values: pd.DataFrame,
    lists: Mapping[str, ListRef | None],
    members: Mapping[str, set[str]],
    kept_out: Mapping[str, set[str]] | None = None,
    skip_writes: set[str] | None = None,
    known_segments: Mapping[str, str | None] | None = None,
    moved_on: date | None = None,
) -> Plan:
    """Compare desired and current state; the result holds only real changes.

    ``skip_writes`` are contacts segsync has given up writing (refused too often).
    ``known_segments`` are the primary segments the contacts had by their recorded moves
    (``sync.move_plan``), and ``moved_on`` the date a move is written with.
    """
    option_names = [t.name for t in targets]
    if options.fallback_segment and options.fallback_segment not in option_names:
        option_names.append(options.fallback_segment)
    skip = skip_writes or set()
    moves = tuple(
        move
        for move in planned_moves(
            assignments, current_values, options.segment_property, known_segments or {}
        )
        if move.contact_id not in skip
    )
    writes = property_writes(desired_values(assignments, options), current_values)
    writes = tuple(w for w in writes if w.contact_id not in skip)
    moving = plan_moves(writes, moves, current_values, options, moved_on)
    return Plan(
        fields=fields_to_ensure(segment_fields(options, option_names), existing_fields),
        writes=moving.writes,
        list_changes=list_changes(targets, assignments, lists, members, kept_out),
        moves=moving.written,
        moves_held=moving.held,
    )
