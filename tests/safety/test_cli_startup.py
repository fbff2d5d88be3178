"""``segsync --help`` starts without loading the data stack (issue #14, item 7): importing the
command line loads neither pandas, scikit-learn nor SQLAlchemy, and the help still lists every
command. Each test runs a fresh interpreter, since this one has loaded them all already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "sklearn", "sqlalchemy", "pydantic")


def fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


def commands_panel(help_text: str) -> list[str]:
    """The command names in the help's "Commands" panel, sorted."""
    panel = help_text.split("─ Commands ─", 1)[1].split("╰", 1)[0]
    return sorted(line.split()[1] for line in panel.splitlines() if line.startswith("│ "))


def test_importing_the_command_line_loads_no_data_library() -> None:
    done = fresh_python(
        "import json, sys\n"
        "import sync.cli\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))"
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_help_lists_every_command_without_loading_a_data_library() -> None:
    done = fresh_python(
        "import sys\n"
        "sys.argv = ['segsync', '--help']\n"
        "from sync.cli import app\n"
        "try:\n"
        "    app()\n"
        "except SystemExit as end:\n"
        f"    loaded = [name for name in {HEAVY!r} if name in sys.modules]\n"
        "    print('exit', end.code, 'loaded', loaded)\n"
    )

    assert done.returncode == 0, done.stderr
    commands = [
        "sync", "plan", "runs", "failures", "unlock", "forget", "report", "audit",
        "schedule", "demo", "connectors", "init", "check", "sandbox", "explain", "clusters",
    ]
    assert commands_panel(done.stdout) == sorted(commands)
    assert done.stdout.splitlines()[-1] == "exit 0 loaded []"
