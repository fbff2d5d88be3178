"""A throwaway PostgreSQL server for the state store's tests.

Started from Debian's binaries (``scripts/install-postgres.sh`` installs them) in a temporary
folder, on a free loopback port, with trust authentication; stopped and removed at the end of
the test session. PostgreSQL refuses to run as root, so as root it runs as the ``postgres``
user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One server; ``url(database)`` addresses a database on it."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="segsync-pg-"))
        self.data = self.folder / "data"
        self._as_user: list[str] = []

    @property
    def available(self) -> bool:
        return bool(self.initdb and self.pg_ctl)

    def start(self) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")  # KeyError: no postgres user to run as
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        if self.data.exists():
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str | None) -> None:
        subprocess.run(
            [*self._as_user, *(str(part) for part in command)],
            check=True,
            capture_output=True,
            cwd=self.folder,
        )
