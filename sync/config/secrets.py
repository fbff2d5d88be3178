"""The secrets policy: secrets come only from the environment or a private secrets directory.

The TOML file is meant to be committed, so a secret found in it is refused, with the
environment variable to set instead; a secrets directory others may read is refused too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from sync.config.errors import ConfigError
from sync.private import loose_secrets

SECRET_KEYS = frozenset(
    {
        "token",
        "password",
        "security_token",
        "client_secret",
        "consumer_secret",
        "private_key",
        "session_id",
        "webhook_url",
    }
)


def refuse_committed_secrets(path: Path, data: dict[str, Any]) -> None:
    """Refuse the file ``data`` was read from when it holds a secret: a secret key in any
    section, or a state store URL with a password."""
    secrets = _secret_paths(data)
    if secrets:
        env_names = ", ".join("SEGSYNC_" + key.replace(".", "__").upper() for key in secrets)
        raise ConfigError(
            f"{path}: {', '.join(secrets)} is a secret and must not be in the config file; "
            f"remove it and set {env_names} in the environment (or a secrets file) instead"
        )
    if _has_password((data.get("sync") or {}).get("state_url")):
        raise ConfigError(
            f"{path}: sync.state_url holds a password, a secret that must not be in the config "
            "file; remove it and set the whole URL in SEGSYNC_SYNC__STATE_URL (or a secrets file)"
        )


def _secret_paths(data: Any, path: str = "") -> list[str]:
    if not isinstance(data, dict):
        return []
    found = []
    for key, value in data.items():
        key_path = f"{path}.{key}" if path else key
        if key in SECRET_KEYS:
            found.append(key_path)
        found.extend(_secret_paths(value, key_path))
    return found


def check_secrets_private(folder: Path) -> None:
    """Refuse secrets others may read, as ssh refuses a private key with loose permissions."""
    loose = loose_secrets(folder)
    if loose:
        path = loose[0]
        mode = "700" if path.is_dir() else "600"
        raise ConfigError(
            f"{path}: secrets readable by others are refused; run `chmod {mode} {path}` "
            "(in Kubernetes, mount the secret with defaultMode: 0400)"
        )


def _has_password(url: Any) -> bool:
    """Whether a database URL carries a password (an unreadable URL is left to the store)."""
    if not isinstance(url, str):
        return False
    try:
        return bool(make_url(url).password)
    except ArgumentError:
        return False
