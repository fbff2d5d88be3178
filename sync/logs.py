"""Logging for the command line: one handler, every library's records, nothing secret in them.

At ``debug`` the vendor libraries log what they send and receive: urllib3 every request line,
hubspot-api-client every response body (contacts' email addresses included). So every line
segsync writes goes through ``sync.alerts.redact`` first, which strips email addresses and
token-like strings, whatever logger produced it.

hubspot-api-client sets its own loggers and urllib3's back to WARNING each time it builds an
API client, which would silently drop their debug lines; ``release_library_levels`` undoes
that once a connector has been built.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from sync.alerts import redact
from sync.private import ensure_private_file

LogLevel = Literal["debug", "info", "warning", "error"]
LIBRARIES = ("urllib3", "hubspot", "simple_salesforce", "requests", "apscheduler")
"""Top-level names of the libraries whose loggers follow segsync's level."""
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts the whole line, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: LogLevel, log_file: Path | None = None) -> None:
    """Send records at ``level`` and above, from segsync and its libraries, to stderr (or
    ``log_file``, appended to), redacted. The command line calls it once per process."""
    handler: logging.Handler = (
        logging.FileHandler(ensure_private_file(log_file), encoding="utf-8")
        if log_file
        else logging.StreamHandler()
    )
    handler.setFormatter(RedactingFormatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    release_library_levels()


def logging_configured() -> bool:
    """Whether ``configure_logging`` ran: a command's own default must not override it."""
    return any(isinstance(h.formatter, RedactingFormatter) for h in logging.getLogger().handlers)


def release_library_levels() -> None:
    """Let the libraries' loggers inherit segsync's level again (see the module docstring)."""
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".")[0] in LIBRARIES:
            logger.setLevel(logging.NOTSET)
