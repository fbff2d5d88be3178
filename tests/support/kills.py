"""Kill a real ``segsync`` process mid-run, and read the sandbox's call log for what the CRM
did twice: the witnesses of the kill-and-resume trials (HubSpot and Salesforce)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from connectors.sandbox import CallRecord
from connectors.sandbox.base import SandboxServer
from tests.conftest import READ_ROUTES

SEGSYNC = Path(sys.executable).with_name("segsync")


def completed_writes_sent_twice(
    sandbox: SandboxServer, reads: frozenset[str] = READ_ROUTES
) -> list[tuple[str, str, str]]:
    """(route, query, body digest) of write calls the CRM completed more than once."""
    done = Counter(
        (record.route, record.query, record.body_sha1)
        for record in sandbox.call_log
        if is_write(record, reads) and 200 <= record.status < 300
    )
    return [key for key, count in done.items() if count > 1]


def is_write(record: CallRecord, reads: frozenset[str] = READ_ROUTES) -> bool:
    """Whether a call changes the CRM: anything but a GET or one of the CRM's POST reads."""
    return not record.route.startswith("GET ") and record.route not in reads


def start_sync(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``segsync sync`` as its own process, so that it can be killed anywhere."""
    return subprocess.Popen(
        [str(SEGSYNC), "sync", "--config", str(config), "--json"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_at_write(
    process: subprocess.Popen[bytes],
    sandbox: SandboxServer,
    writes: int,
    delay: float,
    reads: frozenset[str] = READ_ROUTES,
) -> bool:
    """SIGKILL the process ``delay`` seconds after the sandbox logs its ``writes``-th write.

    True only when that kill is what ended the process; False when it ended first (short of
    that write, or within the delay), so that a trial cannot pass without its kill.

    The sandbox logs a request once it has answered it, so small delays kill the client
    between the CRM's answer and the client's own record of it — the hardest moment.
    """
    start = len(sandbox.call_log)
    while process.poll() is None:
        if sum(1 for record in sandbox.call_log[start:] if is_write(record, reads)) >= writes:
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait()
            return process.returncode == -signal.SIGKILL
        time.sleep(0.0002)
    return False
