"""Opening the state database: the engine for a URL, or for the SQLite store in segsync's state
folder, which is where that folder is created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sync.private import PRIVATE_FOLDER, ensure_private_file
from sync.state.schema import StateStoreUnavailable

STATE_FILE = "state.db"
"""The SQLite store's file in segsync's state folder."""


def default_url(state_dir: Path) -> str:
    """The URL of the SQLite store in segsync's state folder ``state_dir``."""
    return f"sqlite:///{state_dir / STATE_FILE}"


def open_engine(location: str | Path) -> Engine:
    """The engine for a database URL, or for the SQLite store in segsync's state folder (a
    ``Path``); a missing database driver is one line saying what to install.

    A missing state folder and a new SQLite file are created readable by their owner only:
    they hold contact data. (SQLite gives its WAL and shared-memory files the database file's
    permissions.) The folder of a SQLite database URL must exist: a typo is not a new store.
    """
    if isinstance(location, Path):
        location.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        url = default_url(location)
    else:
        url = location
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateStoreUnavailable(f"state_url is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        try:
            ensure_private_file(Path(parsed.database))
        except OSError as exc:
            raise StateStoreUnavailable(
                f"cannot create the state database {parsed.database}: {exc.strerror}"
            ) from None
    try:
        engine = create_engine(parsed)
    except ModuleNotFoundError as exc:
        extra = " (pip install 'segsync[postgres]')" if url.startswith("postgres") else ""
        raise StateStoreUnavailable(
            f"state_url needs the database driver {exc.name!r}, which is not installed{extra}"
        ) from None
    except ArgumentError as exc:
        raise StateStoreUnavailable(f"state_url is not a database URL: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets `segsync runs` read while a sync writes; synchronous=NORMAL is safe with WAL."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
