"""Opening the state database: the engine for a URL, and where the SQLite store lives by
default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sync.private import PRIVATE_FOLDER, ensure_private_file
from sync.state.schema import StateStoreUnavailable


def default_url(state_dir: Path) -> str:
    state_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    return f"sqlite:///{state_dir / 'state.db'}"


def open_engine(url: str) -> Engine:
    """The engine for ``url``; a missing database driver is one line saying what to install.

    A new SQLite file is created readable by its owner only: it holds contact data. (SQLite
    gives its WAL and shared-memory files the database file's permissions.)
    """
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
