"""Segment lists looked up and their members read several lists at once (issue #14, item 2).

Over the internet a forced full run spent most of its time reading list members one page
after another. Lists are now read concurrently (one list's pages still follow its cursor), and
the members read must be exactly the CRM's: hand edits to any list are found and undone.
"""

from __future__ import annotations

from pathlib import Path

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.base import Arrival
from tests.conftest import TOKEN, hubspot_settings
from tests.expectations import sync

MEMBERS = "GET /crm/v3/lists/{listId}/memberships"


def note_member_reads(crm: HubSpotSandbox) -> list[str]:
    """From now on, the list id of each member page asked for, in order of arrival."""
    reads: list[str] = []

    def note(request: Arrival) -> None:
        if request.route == MEMBERS:
            reads.append(request.path.split("/")[4])

    crm.on_request(note)
    return reads


def switches(reads: list[str]) -> int:
    """How often a member read is of another list than the read before it."""
    return sum(1 for before, after in zip(reads, reads[1:], strict=False) if before != after)


def test_a_forced_full_run_reads_every_list_at_once_and_exactly(tmp_path: Path) -> None:
    with HubSpotSandbox(TOKEN, latency=0.02) as crm:
        ids = crm.seed_contacts(1_500, seed=91)
        hubspot = HubSpotConnector(hubspot_settings(crm))
        first = sync(hubspot, crm, tmp_path)
        lists = {
            change.segment: crm.store.list_by_name(change.list_name)
            for change in first.plan.list_changes
        }
        big, engaged = (
            crm.store.list_record(str(lists[name]["listId"])) for name in ("Big", "Engaged")
        )
        assert big is not None and engaged is not None
        dropped = str(min(big.members))
        outsider = next(
            i for i in ids if int(i) not in engaged.members and int(i) not in big.members
        )
        crm.store.remove_members(big, [dropped])  # hand edits the run must find
        crm.store.add_members(engaged, [outsider])
        reads = note_member_reads(crm)

        forced = sync(hubspot, crm, tmp_path, full=True)

        sizes = {
            segment: len(crm.store.list_members(str(found["listId"])))
            for segment, found in lists.items()
        }
        pages = sum(-(-size // 250) or 1 for size in sizes.values())
        assert len(reads) == pages  # every page of every list, once
        assert switches(reads) > len(lists) - 1  # lists read at once, not one after another
        changes = {
            change.segment: (change.add, change.remove)
            for change in forced.plan.list_changes
            if change.add or change.remove
        }
        assert changes == {"Big": ((dropped,), ()), "Engaged": ((), (outsider,))}
        assert forced.plan.writes == ()
        assert crm.store.list_members(str(lists["Big"]["listId"])) >= {dropped}
        assert outsider not in crm.store.list_members(str(lists["Engaged"]["listId"]))
