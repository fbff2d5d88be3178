"""A run killed mid-write neither loses nor doubles a move: each move is recorded with the
checkpoint of the write the CRM confirmed, so the resumed run records exactly the rest.

The sync runs as a real ``segsync`` process so that SIGKILL can stop it anywhere, between the
CRM's answer and segsync's record of it included.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from connectors.sandbox import HubSpotSandbox
from sync.moves import Pair
from sync.state.store import StateStore
from tests.conftest import TOKEN
from tests.expectations import SEGMENTS, expected_segments, segments_toml
from tests.support.kills import kill_at_write, start_sync

CONTACTS = 350


def write_config(tmp_path: Path, crm: HubSpotSandbox) -> Path:
    path = tmp_path / "segsync.toml"
    path.write_text(
        f'[sync]\nstate_dir = "{tmp_path}"\n\n'
        f'[hubspot]\nbase_url = "{crm.base_url}"\ntimeout_seconds = 5\n\n'
        + segments_toml(SEGMENTS)
    )
    return path


@pytest.mark.parametrize(("at", "delay"), [(4, 0.0), (5, 0.002), (6, 0.0), (7, 0.004)])
def test_a_killed_run_resumes_without_losing_or_doubling_a_move(
    crm: HubSpotSandbox, tmp_path: Path, at: int, delay: float
) -> None:
    ids = crm.seed_contacts(CONTACTS, seed=300 + at)
    expected: Counter[Pair] = Counter()
    for contact_id in ids:
        matched = expected_segments(crm.store.contact(contact_id))
        if matched:
            expected[(None, matched[0])] += 1
    config = write_config(tmp_path, crm)
    env = {"SEGSYNC_HUBSPOT__TOKEN": TOKEN}

    assert kill_at_write(start_sync(config, env), crm, at, delay)
    resumed = start_sync(config, env)
    assert resumed.wait(timeout=120) == 0

    store = StateStore(tmp_path, "default")
    try:
        killed, finished = sorted(run.id for run in store.runs())
        moves = store.run_moves(killed) + store.run_moves(finished)
        latest = store.known_segments()
    finally:
        store.close()
    moved = Counter(m.move.contact_id for m in moves)
    assert Counter((m.move.previous, m.move.segment) for m in moves) == expected
    assert set(moved.values()) == {1}
    assert latest == {
        cid: crm.store.contact(cid)["segsync_segment"] for cid in ids if cid in moved
    }
