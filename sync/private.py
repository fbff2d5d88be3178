"""Files only their owner can read: the state store, logs and crash reports hold contact data.

segsync creates them readable by their owner alone, whatever the umask, and refuses secrets
that others can read, as ssh refuses a private key with loose permissions.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def ensure_private_file(path: Path) -> Path:
    """Create ``path`` readable by its owner only, if missing (its folder must exist).

    An existing file keeps its mode: an operator who loosened it on purpose is not overruled.
    """
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE))
    return path


def write_private_file(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, created (with its missing folders) readable by its owner only
    and never briefly readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def open_to_others(path: Path) -> bool:
    """Whether anyone but the owner may read or write ``path`` (a file or a folder)."""
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def loose_secrets(folder: Path) -> list[Path]:
    """The secrets folder and the secret files in it that others may read or change."""
    if not folder.is_dir():
        return []
    found = [folder] if open_to_others(folder) else []
    return found + sorted(
        entry for entry in folder.iterdir() if entry.is_file() and open_to_others(entry)
    )
