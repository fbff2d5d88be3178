"""Private by default: the state store, logs and secrets are the owner's alone, addresses in
any script are redacted, and one person can be erased from segsync's memory."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.alerts import redact
from sync.cli import app
from sync.effect import BatchEffect
from sync.state.engine import default_url
from sync.state.failures import RecordFailure
from sync.state.store import StateStore
from tests.conftest import write_hubspot_config

runner = CliRunner()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default umask, under which new files are world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_state_store_and_the_log_file_are_created_for_their_owner_only(
    tmp_path: Path, loose_umask: None
) -> None:
    (tmp_path / "sync").mkdir()
    config = write_hubspot_config(tmp_path / "sync", "http://127.0.0.1:9")
    log = tmp_path / "segsync.log"
    result = runner.invoke(app, ["--log-file", str(log), "runs", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert mode(tmp_path / "sync" / "state.db") == 0o600
    assert mode(log) == 0o600


def test_the_state_folder_is_created_for_its_owner_only_when_the_store_opens(
    tmp_path: Path, loose_umask: None
) -> None:
    folder = tmp_path / "state" / "segsync"
    assert default_url(folder) == f"sqlite:///{folder / 'state.db'}"
    assert not folder.parent.exists()  # computing where the store lives creates nothing
    StateStore(folder, "default").close()
    assert mode(folder) == 0o700
    assert mode(folder / "state.db") == 0o600


@pytest.mark.parametrize("loose", ["folder", "file"])
def test_secrets_that_others_can_read_are_refused_as_ssh_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose: str
) -> None:
    monkeypatch.delenv("SEGSYNC_HUBSPOT__TOKEN", raising=False)
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    token = secrets / "hubspot__token"
    token.write_text("pat-from-file")
    token.chmod(0o600)
    (secrets if loose == "folder" else token).chmod(0o755 if loose == "folder" else 0o644)
    monkeypatch.setenv("SEGSYNC_SECRETS_DIR", str(secrets))
    config = write_hubspot_config(tmp_path, "http://127.0.0.1:9")

    result = runner.invoke(app, ["runs", "--config", str(config)])
    assert result.exit_code == 2
    path, fix = (secrets, "chmod 700") if loose == "folder" else (token, "chmod 600")
    assert f"{path}: secrets readable by others are refused; run `{fix} {path}`" in " ".join(
        result.output.split()
    )
    assert "pat-from-file" not in result.output


@pytest.mark.parametrize(
    "address",
    [
        "डाटामेल@डाटामेल.भारत",
        "jose\u0301@exa\u0301mple.com",  # decomposed accents: combining marks
        "用户@例子.广告",
        "o'brien@example.ie",
        "info@xn--bcher-kva.de",
    ],
)
def test_internationalised_email_addresses_are_redacted(address: str) -> None:
    assert redact(f'sent to {address} and {{"email":"{address}"}}') == (
        'sent to [email] and {"email":"[email]"}'
    )


def test_forget_erases_one_person_from_the_state_store_and_nobody_else(tmp_path: Path) -> None:
    config = write_hubspot_config(tmp_path, "http://127.0.0.1:9")
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}", "default")
    run_id = store.start_run("full", dry_run=False)
    store.save_mirror({"51": {"email": "a@x.io"}, "52": {"email": "b@x.io"}}, replace=True)
    store.replace_synced({"51": {"segsync_segment": "Big"}, "52": {"segsync_segment": "Big"}})
    store.record_batch(run_id, 1, BatchEffect("list_add", "Big", 2, added=("51", "52")))
    store.record_batch(
        run_id, 2, BatchEffect("write", "properties", 1),
        refusals=[RecordFailure("52", run_id, "INVALID_OPTION", "b@x.io refused", False, 0)],
    )
    failures = [{"contact_id": "52", "code": "INVALID_OPTION", "message": "b@x.io refused"}]
    store.finish_run(run_id, "done_with_failures", summary=json.dumps({"failures": failures}))

    result = runner.invoke(app, ["forget", "52", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "forgot contact 52: 5 entries removed"
    assert store.mirror() == {"51": {"email": "a@x.io"}}
    assert store.synced_fields() == {"51": {"segsync_segment": "Big"}}
    assert store.members() == {"Big": {"51"}}
    assert store.failures() == []
    assert json.loads(store.run(run_id).summary) == {"failures": []}  # type: ignore[union-attr]

    again = runner.invoke(app, ["forget", "52", "--config", str(config)])
    assert again.output.strip() == "contact 52 is not in the state store of sync 'default'"
    store.close()
