"""``segsync sandbox serve``, and the README's way from it to a scheduled sync, run as written.

The README's three commands run as separate processes, as a person types them:

    segsync sandbox serve &
    segsync init --sandbox http://127.0.0.1:8787
    SEGSYNC_SECRETS_DIR=.segsync/secrets segsync schedule --config segsync.toml

Here on a free port instead of 8787, and with a schedule of every two seconds instead of every
minute, so that the first scheduled run comes quickly.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from sync.cli import app
from sync.state.engine import default_url
from sync.state.store import StateStore

SEGSYNC = Path(sys.executable).with_name("segsync")
WAIT = 60.0
"""A bound on waiting for a process, never an expectation of speed."""
SECRETS = Path(".segsync/secrets")


class Process:
    """A segsync command running in the background, its output read line by line."""

    def __init__(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str] | None = None,
        before_exec: Callable[[], None] | None = None,
    ) -> None:
        self.popen = subprocess.Popen(
            [str(SEGSYNC), *args],
            cwd=cwd,
            env={**os.environ, "COLUMNS": "200", "PYTHONFAULTHANDLER": "1", **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=before_exec,  # noqa: PLW1509 - only signal settings, no locks taken
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.popen.stdout is not None
        stdout = self.popen.stdout
        self._reader = threading.Thread(target=lambda: [self.lines.put(x) for x in stdout])
        self._reader.start()

    def read_until(self, pattern: str) -> re.Match[str]:
        """The first line (from here on) matching ``pattern``."""
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in:\n{''.join(self.seen)}") from None
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match

    def stop(self, stop_signal: signal.Signals = signal.SIGTERM) -> int:
        """Send ``stop_signal`` and wait for the exit code; ``seen`` then has every line."""
        self.popen.send_signal(stop_signal)
        try:
            code = self.popen.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            # SIGABRT makes the faulthandler print every thread's stack: where it waits.
            self.popen.send_signal(signal.SIGABRT)
            self.popen.wait(timeout=WAIT)
            self._take_lines()
            raise AssertionError(
                f"no exit {WAIT:g} s after {stop_signal.name}; it printed:\n" + "".join(self.seen)
            ) from None
        self._take_lines()
        return code

    def _take_lines(self) -> None:
        self._reader.join(timeout=WAIT)
        while not self.lines.empty():
            self.seen.append(self.lines.get())

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=WAIT)
        self._reader.join(timeout=WAIT)


@contextmanager
def background(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    before_exec: Callable[[], None] | None = None,
) -> Iterator[Process]:
    process = Process(args, cwd, env, before_exec)
    try:
        yield process
    finally:
        process.kill()


def segsync(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command to its end; its output, after checking it succeeded."""
    done = subprocess.run(
        [str(SEGSYNC), *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def contacts_and_list(crm: HubSpotConnector, list_name: str) -> tuple[dict[str, str], set[str]]:
    """Each contact's segsync_segments ("opted out" for those never put in lists), and the
    members of the list named ``list_name``."""
    segments: dict[str, str] = {}
    cursor = None
    while True:
        fields = ["segsync_segment", "segsync_segments", "hs_email_optout"]
        page = crm.read_contacts_page(fields, cursor)
        for contact in page.contacts:
            values = contact.properties
            assert values.get("segsync_segment"), contact
            opted_out = values.get("hs_email_optout") == "true"
            segments[contact.id] = "opted out" if opted_out else values["segsync_segments"] or ""
        if (cursor := page.next_cursor) is None:
            break
    found = crm.find_list(list_name)
    assert found is not None, list_name
    members: set[str] = set()
    cursor = None
    while True:
        ids = crm.read_list_members_page(found, cursor)
        members.update(ids.ids)
        if (cursor := ids.next_cursor) is None:
            return segments, members


def test_the_readme_commands_reach_a_scheduled_sync_of_the_sandbox(tmp_path: Path) -> None:
    with background(["sandbox", "serve", "--port", "0", "--contacts", "300"], tmp_path) as serve:
        url = serve.read_until(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        token_file = tmp_path / SECRETS / "hubspot__token"
        assert token_file.stat().st_mode & 0o777 == 0o600

        segsync("init", "--sandbox", url, "--schedule", "*/2 * * * * *", cwd=tmp_path)
        assert "token" not in (tmp_path / "segsync.toml").read_text().split("[hubspot]")[1][:200]

        env = {"SEGSYNC_SECRETS_DIR": str(SECRETS)}
        schedule = ["schedule", "--config", "segsync.toml"]
        with background(schedule, tmp_path, env) as scheduler:
            finished = scheduler.read_until(r"Sync 'default' finished with exit code (\d+)")
            assert finished.group(1) == "0"
            assert scheduler.stop() == 0

        settings = HubSpotSettings(base_url=url, token=SecretStr(token_file.read_text()))
        crm = HubSpotConnector(settings)
        try:
            segments, members = contacts_and_list(crm, "segsync: Healthcare accounts")
        finally:
            crm.close()
        assert len(segments) == 300
        healthcare = {i for i, names in segments.items() if "Healthcare accounts" in names}
        assert members == healthcare and healthcare
        store = StateStore(default_url(tmp_path / ".segsync"), "default")
        try:
            [run] = store.runs()
        finally:
            store.close()
        assert (run.status, run.contacts, run.dry_run) == ("done", 300, False)

        assert serve.stop() == 0
    assert not token_file.exists()
    assert serve.seen[-1].strip() == "Sandbox stopped."


def test_a_salesforce_sandbox_stops_on_ctrl_c_and_takes_its_session_along(tmp_path: Path) -> None:
    args = ["sandbox", "serve", "--crm", "salesforce", "--port", "0", "--contacts", "20"]
    with background(args, tmp_path) as serve:
        url = serve.read_until(r"listening on (https://127\.0\.0\.1:\d+)").group(1)
        printed = serve.read_until(
            r'^In \[salesforce\]: .* ca_bundle = "([^"]+)" .* permission_set = "([^"]+)"'
        )
        ca_bundle, permission_set = printed.group(1), printed.group(2)
        session = tmp_path / SECRETS / "salesforce__session_id"
        settings = SalesforceSettings(
            instance_url=url,
            ca_bundle=Path(ca_bundle),
            session_id=SecretStr(session.read_text()),
            permission_set=permission_set,
        )
        org = SalesforceConnector(settings)
        try:
            assert org.read_contacts_page(["Email"], None).contacts
        finally:
            org.close()
        assert serve.stop(signal.SIGINT) == 0
    assert not session.exists()


def ignore_ctrl_c() -> None:
    """As a shell does for a command it starts in the background."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def block_stop_signals() -> None:
    """As a parent that spawns with its own signal mask hands it down."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


@pytest.mark.parametrize(
    "inherited", [ignore_ctrl_c, block_stop_signals], ids=["Ctrl-C ignored", "signals blocked"]
)
def test_the_sandbox_stops_on_ctrl_c_whatever_signal_state_it_inherited(
    tmp_path: Path, inherited: Callable[[], None]
) -> None:
    args = ["sandbox", "serve", "--port", "0", "--contacts", "5"]
    with background(args, tmp_path, before_exec=inherited) as serve:
        serve.read_until(r"Stop with Ctrl-C or SIGTERM")
        assert serve.stop(signal.SIGINT) == 0
    assert serve.seen[-1].strip() == "Sandbox stopped."
    assert not (tmp_path / SECRETS / "hubspot__token").exists()


def test_a_port_in_use_is_a_clear_error_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        secrets_dir = tmp_path / "secrets"
        result = CliRunner().invoke(
            app, ["sandbox", "serve", "--port", str(port), "--secrets-dir", str(secrets_dir)]
        )
    assert result.exit_code == 2
    assert result.output.startswith(f"Sandbox not started: cannot listen on 127.0.0.1:{port}")
    assert "pass another --port" in result.output
    assert not secrets_dir.exists()
