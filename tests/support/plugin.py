"""The example plugin (``tests/plugin_example``) installed as its own package, and ``segsync``
run in a process that imports it from there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parent.parent.parent
PLUGIN = Path(__file__).parent.parent / "plugin_example"
SEGSYNC = Path(sys.executable).with_name("segsync")


def install_plugin(target: Path) -> None:
    """Install the example plugin into the folder ``target`` (not into this environment)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(PLUGIN),
        ],
        check=True,
        capture_output=True,
    )


def installed(plugin_path: Path) -> dict[str, str]:
    """The environment of a process that sees the installed plugin and this checkout."""
    # The checkout under test first: an editable install may point at another checkout.
    path = os.pathsep.join([str(plugin_path), str(REPO)])
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"}


def segsync(plugin_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = installed(plugin_path)
    return subprocess.run([str(SEGSYNC), *args], env=env, capture_output=True, text=True)
