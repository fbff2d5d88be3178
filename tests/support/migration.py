"""A planted week of segment moves on the HubSpot sandbox, for the migration tests.

The test segments (``tests.expectations.SEGMENTS``): Big (employees >= 200, priority 100),
Engaged (hs_email_open >= 5) and Buyers (num_purchases > 0 and employees < 200). Each planted
contact matches exactly one of them (or none), so its primary segment is known by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from connectors.sandbox import HubSpotSandbox
from sync.moves import MigrationMatrix, Pair, RecordedMove

BIG = {"employees": "500", "hs_email_open": "0", "num_purchases": "0"}
ENGAGED = {"employees": "10", "hs_email_open": "9", "num_purchases": "0"}
BUYERS = {"employees": "10", "hs_email_open": "0", "num_purchases": "2"}
NOTHING = {"employees": "10", "hs_email_open": "0", "num_purchases": "0"}
PLANTED = {"Big": (BIG, 6), "Engaged": (ENGAGED, 4), "Buyers": (BUYERS, 3), None: (NOTHING, 2)}

FIRST_RUN: Counter[Pair] = Counter({(None, "Big"): 6, (None, "Engaged"): 4, (None, "Buyers"): 3})
"""The moves of the first sync: every matching contact's first assignment."""
THE_WEEK: Counter[Pair] = Counter(
    {
        ("Big", "Engaged"): 2,
        ("Big", None): 1,
        ("Engaged", "Buyers"): 1,
        ("Buyers", "Big"): 1,
        (None, "Engaged"): 1,
    }
)
"""The moves the planted week makes (``plant_a_week``)."""


def seed_segments(crm: HubSpotSandbox) -> dict[str | None, list[str]]:
    """The planted contacts' ids by the primary segment they start in."""
    return {
        segment: crm.store.add_contacts([{**values} for _ in range(count)])
        for segment, (values, count) in PLANTED.items()
    }


def plant_a_week(crm: HubSpotSandbox, ids: dict[str | None, list[str]]) -> dict[str, list[str]]:
    """The week's edits, making the moves of ``THE_WEEK``; also a person clears segsync's
    segment field on a Big contact that does not move (a repair, not a move) and an Engaged
    contact opens more mail (still Engaged). Returns the contacts by what happened to them."""
    big, engaged, buyers, nothing = ids["Big"], ids["Engaged"], ids["Buyers"], ids[None]
    edits = {
        big[0]: ENGAGED,
        big[1]: ENGAGED,
        big[2]: NOTHING,
        engaged[0]: {**BUYERS, "num_purchases": "1"},
        buyers[0]: {**BUYERS, "employees": "300"},
        nothing[0]: ENGAGED,
        engaged[1]: {**ENGAGED, "hs_email_open": "12"},
    }
    for contact_id, values in edits.items():
        crm.store.set_properties(contact_id, values)
    crm.store.set_properties(big[3], {"segsync_segment": ""})
    return {
        "moved_to_engaged": big[:2],
        "moved_out": [big[2]],
        "repaired": [big[3]],
        "unmoved": [big[4], big[5], engaged[1], engaged[2], buyers[1], nothing[1]],
    }


def pairs(moves: Sequence[RecordedMove]) -> Counter[Pair]:
    """The (from, to) counts of recorded moves."""
    return MigrationMatrix.of((m.move.previous, m.move.segment) for m in moves).counts
