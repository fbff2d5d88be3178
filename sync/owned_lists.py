"""Which CRM lists segsync may change: the ones it created, or that the config adopts.

A list found by a segment's list name may be a person's (a list called "segsync: VIP" made
by hand, or a DYNAMIC list whose members follow filters). Taking it over silently would
rewrite its members; so every found list is checked before anything is written.
"""

from __future__ import annotations

from collections.abc import Collection

from connectors.base import ListRef
from sync.config import ConfigError
from sync.plan import SegmentTarget
from sync.state.lists import OwnedList


def claim_list(
    target: SegmentTarget,
    found: ListRef,
    owned: OwnedList | None,
    *,
    tracked: bool,
    adopt: Collection[str],
    source: str,
) -> bool:
    """Whether segsync must now record ``found`` as the segment's list; a ``ConfigError`` when
    it may not change it.

    Owned lists pass (one whose creation was under way, found by name, is recorded by id
    now). A list the config adopts (``sync.adopt_lists``) is taken over. A list
    of a store written before segsync recorded its lists is recognised, once, by the members
    the store already tracks for the segment (from earlier runs) while it owns no list for it.
    """
    if not found.editable:
        raise ConfigError(
            f"{source}: the CRM list {found.name!r} (id {found.id}) of segment "
            f"{target.name!r} is not a static list (its members follow filters, as in a "
            f"HubSpot DYNAMIC list), so segsync cannot manage it: rename it in the CRM, or "
            f"change sync.list_name_pattern"
        )
    if owned is not None and owned.matches(found):
        return owned.list_id != found.id  # a creation under way when a run was killed
    if found.name.casefold() in {name.casefold() for name in adopt}:
        return True
    if owned is None and tracked:
        return True
    raise ConfigError(
        f"{source}: a CRM list named {found.name!r} (id {found.id}) already exists and segsync "
        f"did not create it: add {found.name!r} to sync.adopt_lists to let segsync manage its "
        f"members for segment {target.name!r}, or rename that list in the CRM, or change "
        f"sync.list_name_pattern"
    )
