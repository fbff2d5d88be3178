"""The state store on SQLite and on a real PostgreSQL server: the same data comes back, the
schema is created once however many processes start together, and the run lease is a lease.

The PostgreSQL cases run against a throwaway server (tests/postgres_server.py) and skip only
where PostgreSQL cannot be installed or started.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from sync.effect import BatchEffect
from sync.state.failures import RecordFailure
from sync.state.lease import SyncLocked
from sync.state.schema import SCHEMA_VERSION, StateStoreUnavailable, leases, schema_version
from sync.state.store import StateStore
from tests.conftest import TOKEN, write_hubspot_config, writes_among
from tests.expectations import assert_crm_holds_desired_state, sync

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent


def plant_lease(store: StateStore, holder: str, expires_in: timedelta) -> None:
    """A lease row as a run on another host (or a killed one) left it."""
    now = datetime.now(UTC)
    with store.transaction() as tx:
        tx.execute(
            insert(leases).values(
                sync_name=store.sync_name,
                holder=holder,
                acquired_at=now - timedelta(hours=1),
                expires_at=now + expires_in,
            )
        )


def test_the_store_keeps_and_returns_the_same_data_on_each_backend(state_url: str) -> None:
    store = StateStore(state_url, "backend")
    run_id = store.start_run("full", dry_run=False)
    store.save_mirror({"51": {"employees": "60"}, "52": {"employees": None}}, replace=True)
    store.replace_synced({"51": {"segsync_segment": ""}, "52": {"segsync_segment": ""}})
    store.record_batch(
        run_id, 1, BatchEffect("write", "properties", 2, written={"51": {"segsync_segment": "Big"}}),
        refusals=[RecordFailure("52", run_id, "INVALID_OPTION", "no such option", False, 0)],
    )
    store.record_batch(run_id, 2, BatchEffect("list_add", "Big", 1, added=("51",)))
    store.save_cursor(datetime(2026, 12, 1, 8, 30, tzinfo=UTC), 2)
    store.save_model("set", b"\x00model")
    store.finish_run(run_id, "done_with_failures", contacts=2, writes=1, failures=1)

    assert store.mirror() == {"51": {"employees": "60"}, "52": {"employees": None}}
    assert store.synced_fields() == {
        "51": {"segsync_segment": "Big"},
        "52": {"segsync_segment": ""},
    }
    assert store.members() == {"Big": {"51"}}
    assert store.failures() == [
        RecordFailure("52", run_id, "INVALID_OPTION", "no such option", False, 1)
    ]
    assert store.cursor() == (datetime(2026, 12, 1, 8, 30, tzinfo=UTC), 2)
    assert store.models() == {"set": b"\x00model"}
    assert store.batches_done(run_id) == 2
    [run] = store.runs()
    assert (run.id, run.status, run.mode, run.contacts, run.writes, run.failures) == (
        run_id, "done_with_failures", "full", 2, 1, 1
    )
    store.close()


def test_twelve_processes_opening_a_fresh_database_at_once_all_work(state_url: str) -> None:
    opener = (
        "import sys; from sync.state.store import StateStore; "
        "s = StateStore(sys.argv[1], 'fresh'); s.start_run('full', False); s.close()"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", opener, state_url],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(12)
    ]
    failures = [p.stderr.read() for p in processes if p.wait(timeout=120) != 0]  # type: ignore[union-attr]
    assert failures == []
    store = StateStore(state_url, "fresh")
    assert len(store.runs()) == 12
    with store.engine.connect() as connection:
        assert connection.execute(select(schema_version)).all() == [("state", SCHEMA_VERSION)]
    store.close()


def test_a_store_written_by_a_newer_segsync_is_refused(state_url: str) -> None:
    StateStore(state_url, "x").close()
    store = StateStore(state_url, "x")
    with store.transaction() as tx:
        tx.execute(update(schema_version).values(version=SCHEMA_VERSION + 1))
    store.close()
    with pytest.raises(StateStoreUnavailable, match="written by a newer segsync"):
        StateStore(state_url, "x")


def test_a_lease_left_by_a_run_killed_on_another_host_is_taken_over_once_it_lapses(
    state_url: str,
) -> None:
    store = StateStore(state_url, "leased")
    plant_lease(store, "pod-7f9c:1:dead", expires_in=timedelta(seconds=-1))
    with store.lock(lease_seconds=60):
        holder = store.lease().current()
        assert holder is not None and holder.holder != "pod-7f9c:1:dead"
    assert store.lease().current() is None
    store.close()


def test_a_live_lease_on_another_host_keeps_the_sync_locked(state_url: str) -> None:
    store = StateStore(state_url, "leased")
    plant_lease(store, "pod-7f9c:1:alive", expires_in=timedelta(minutes=4))
    with pytest.raises(SyncLocked, match=r"sync 'leased' is already running \(pod-7f9c:1:alive"):
        with store.lock():
            pass
    assert store.lease().current().holder == "pod-7f9c:1:alive"  # type: ignore[union-attr]
    store.close()


def test_two_live_runs_exclude_each_other_and_the_heartbeat_keeps_the_lease(
    state_url: str,
) -> None:
    first, second = StateStore(state_url, "both"), StateStore(state_url, "both")
    with first.lock(lease_seconds=1.0):
        time.sleep(2.5)  # two and a half lease lengths: only the heartbeat keeps it alive
        with pytest.raises(SyncLocked, match="already running"):
            with second.lock(lease_seconds=1.0):
                pass
    with second.lock(lease_seconds=1.0):  # released at the end of the first
        pass
    first.close()
    second.close()


def test_a_full_sync_on_postgresql_reaches_the_exact_state_and_resumes_from_it(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path, state_url: str
) -> None:
    ids = crm.seed_contacts(150, seed=91)
    sync(connector, crm, tmp_path, sync_options={"state_url": state_url})
    assert_crm_holds_desired_state(crm, ids)
    calls_before = crm.calls.copy()
    second = sync(connector, crm, tmp_path, sync_options={"state_url": state_url})
    assert second.plan.is_empty
    assert writes_among(crm.calls - calls_before) == {}


# -- the command line ------------------------------------------------------------------------


def config_with_state_url(tmp_path: Path, crm_url: str, state_url: str) -> Path:
    path = write_hubspot_config(tmp_path, crm_url)
    path.write_text(path.read_text().replace("[sync]\n", f'[sync]\nstate_url = "{state_url}"\n'))
    return path


def test_unlock_shows_the_holder_and_releases_only_when_confirmed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_hubspot_config(tmp_path, "http://127.0.0.1:9")
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", "default")
    plant_lease(store, "pod-1:7:abcd", expires_in=timedelta(minutes=4))

    refused = runner.invoke(app, ["unlock", "--config", str(config)], input="n\n")
    assert refused.exit_code == 2
    assert "locked by pod-1:7:abcd" in refused.output
    assert store.lease().current() is not None

    released = runner.invoke(app, ["unlock", "--config", str(config), "--yes"])
    assert released.exit_code == 0, released.output
    assert "Released." in released.output
    assert store.lease().current() is None

    again = runner.invoke(app, ["unlock", "--config", str(config), "--yes"])
    assert again.exit_code == 0 and "is not locked" in again.output
    store.close()


def test_a_sync_locked_by_a_live_run_elsewhere_exits_7_and_writes_nothing(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    crm.seed_contacts(20, seed=92)
    config = write_hubspot_config(tmp_path, crm.base_url)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", "default")
    plant_lease(store, "pod-2:9:beef", expires_in=timedelta(minutes=4))
    result = runner.invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 7, result.output
    assert "pod-2:9:beef" in result.output and "segsync unlock" in result.output
    assert writes_among(crm.calls) == {}
    store.close()


def test_a_postgres_url_without_its_driver_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = config_with_state_url(tmp_path, "http://127.0.0.1:9", "postgresql+pg8000://db/x")
    result = runner.invoke(app, ["runs", "--config", str(config)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "State store: state_url needs the database driver 'pg8000', which is not installed "
        "(pip install 'segsync[postgres]')"
    ]


def test_a_state_url_with_a_password_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = config_with_state_url(
        tmp_path, "http://127.0.0.1:9", "postgresql+psycopg://segsync:hunter2@db/segsync"
    )
    result = runner.invoke(app, ["runs", "--config", str(config)])
    assert result.exit_code == 2
    assert "sync.state_url holds a password" in result.output
    assert "SEGSYNC_SYNC__STATE_URL" in result.output
    assert "hunter2" not in result.output


def test_a_sqlite_state_url_in_a_missing_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "state.db"
    config = config_with_state_url(tmp_path, "http://127.0.0.1:9", f"sqlite:///{missing}")
    result = runner.invoke(app, ["runs", "--config", str(config)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"State store: cannot create the state database {missing}: No such file or directory"
    ]
