"""Unexpected failures: one line for the person, the full traceback in a private file.

A scheduled sync runs unattended, so a bug must not end as a screen of traceback nobody reads,
nor as exit 1 (which means "done, some records refused"). It ends as one line naming the
error and the file that holds its traceback (redacted like the logs, readable by its owner
only), and a distinct exit code.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from sync.alerts import redact
from sync.private import write_private_file

EXIT_CRASH = 8


def crash_folder() -> Path:
    """Where tracebacks go: ``SEGSYNC_CRASH_DIR``, else a per-user folder in the temp dir."""
    configured = os.environ.get("SEGSYNC_CRASH_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / (
        f"segsync-crashes-{os.getuid()}"
    )


def write_crash_report(exc: BaseException) -> Path:
    """Write ``exc``'s traceback, redacted, to a new private file and return its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = "".join(traceback.format_exception(exc))
    return write_private_file(crash_folder() / f"crash-{stamp}-{os.getpid()}.txt", redact(text))


def crash_line(exc: BaseException, report: Path) -> str:
    """The one line shown for an unexpected failure."""
    first = str(exc).splitlines()[0][:300] if str(exc) else ""
    what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return f"{redact(what)} (a bug in segsync; traceback in {report})"
