"""Syncs killed at random points, and syncs through a faulty CRM, still converge exactly.

The sandbox runs in the test process; the sync runs as a real ``segsync`` process so that
SIGKILL can stop it anywhere, mid-request included. The sandbox's call log is the witness that
no batch the CRM completed was ever sent again.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from connectors.base import RateLimited, Transient
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.base import Arrival
from sync.pipeline import run_sync
from sync.progress import SilentProgress
from tests.conftest import TOKEN, hubspot_settings, make_settings
from tests.expectations import FAST_RETRY, SEGMENTS, assert_crm_holds_desired_state, segments_toml
from tests.support.kills import completed_writes_sent_twice, kill_at_write, start_sync

TRIALS = 20
CONTACTS = 350


def write_config(path: Path, crm: HubSpotSandbox, state: Path) -> Path:
    path.write_text(
        f'[sync]\nstate_dir = "{state}"\n\n'
        f'[hubspot]\nbase_url = "{crm.base_url}"\ntimeout_seconds = 5\n\n' + segments_toml(SEGMENTS)
    )
    return path


def sync_in_process(crm: HubSpotSandbox, state: Path) -> None:
    connector = HubSpotConnector(hubspot_settings(crm))
    try:
        run_sync(
            connector,
            make_settings(crm, SEGMENTS, state),
            dry_run=False,
            progress=SilentProgress(),
            retry=FAST_RETRY,
        )
    finally:
        connector.close()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_run_killed_anywhere_resumes_to_the_exact_state(trial: int, tmp_path: Path) -> None:
    rng = random.Random(trial)
    with HubSpotSandbox(token=TOKEN) as crm:
        ids = crm.seed_contacts(CONTACTS, seed=100 + trial)
        config = write_config(tmp_path / "segsync.toml", crm, tmp_path / "state")
        if trial % 2:  # odd trials: kill an incremental run after a week of edits
            sync_in_process(crm, tmp_path / "state")
            for contact_id in rng.sample(ids, 40):
                crm.store.set_properties(
                    contact_id, {"employees": str(rng.choice([5, 150, 900])), "hs_email_open": "7"}
                )
        process = start_sync(config, {"SEGSYNC_HUBSPOT__TOKEN": TOKEN})
        write_calls_of_a_whole_run = 4 if trial % 2 else 12
        at = rng.randint(1, write_calls_of_a_whole_run)
        assert kill_at_write(process, crm, at, rng.random() / 200)
        sync_in_process(crm, tmp_path / "state")
        assert_crm_holds_desired_state(crm, ids)
        assert completed_writes_sent_twice(crm) == []


class Chaos:
    """Fails a seeded share of the sandbox's requests, whatever the client sends.

    The sandbox's request hook flips a seeded coin for every request as it arrives and, on
    heads, injects a fault into that request: 5xx pages, dropped connections (some after the
    write was carried out), 429 bursts (that request and the next two). The same requests
    meet the same faults on every run.
    """

    FAULTS = [
        {"status": 500},
        {"status": 502},
        {"status": 503},
        {"status": "disconnect"},
        {"status": "disconnect", "after_commit": True},
        {"status": 504, "after_commit": True},
        {"status": 429, "count": 3},
    ]

    def __init__(self, crm: HubSpotSandbox, rate: float, seed: int) -> None:
        self.crm = crm
        self.rate = rate
        self.rng = random.Random(seed)
        self.armed = 0

    def __enter__(self) -> Chaos:
        self.crm.on_request(self._arrived)
        return self

    def __exit__(self, *exc: object) -> None:
        self.crm.on_request(None)

    def _arrived(self, request: Arrival) -> None:
        if self.rng.random() < self.rate:
            fault = dict(self.rng.choice(self.FAULTS))
            self.crm.inject_faults(fault.pop("status"), fault.pop("count", 1), **fault)
            self.armed += 1


def test_a_sync_through_a_faulty_crm_converges(tmp_path: Path) -> None:
    with HubSpotSandbox(token=TOKEN) as crm:
        ids = crm.seed_contacts(CONTACTS, seed=7)
        runs_needed = 0
        with Chaos(crm, rate=0.1, seed=7) as chaos:
            while runs_needed < 5:  # a run may give up on a call; the next run picks up
                runs_needed += 1
                try:
                    sync_in_process(crm, tmp_path)
                    break
                except (Transient, RateLimited):
                    continue
        assert runs_needed < 5
        assert chaos.armed >= 5
        statuses = Counter(record.status for record in crm.call_log)
        assert statuses[0] + statuses[429] + statuses[500] + statuses[502] + statuses[503] >= 5
        assert_crm_holds_desired_state(crm, ids)
