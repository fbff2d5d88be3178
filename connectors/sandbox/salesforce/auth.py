"""Who may call the sandbox org: the integration user's credentials and its sessions.

A session id looks like Salesforce's (the org id, ``!``, an opaque token). Several sessions
can be valid at once (each login makes one); ``expire_all`` ends them all, which is what a
client meets when an admin revokes sessions or a session times out: ``INVALID_SESSION_ID``
until it logs in again. The request gate (``sandbox``) asks ``valid`` on every call.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from connectors.sandbox.salesforce.schema import ORG_ID


@dataclass(frozen=True)
class Credentials:
    """What ``Salesforce(username=, password=, security_token=)`` must send: SOAP login takes
    the password with the security token appended."""

    username: str
    password: str
    security_token: str

    def accepts(self, username: str, password: str) -> bool:
        """Whether a SOAP login's username and (password + token) are these."""
        return (secrets.compare_digest(username, self.username)
                and secrets.compare_digest(password, self.password + self.security_token))


class Sessions:
    """Issued session ids and whether each is still valid."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._valid: set[str] = set()
        self.initial = self.issue()

    def issue(self) -> str:
        """A new valid session id (one login)."""
        session_id = f"{ORG_ID[:15]}!{secrets.token_urlsafe(72)}"
        with self._lock:
            self._valid.add(session_id)
        return session_id

    def valid(self, session_id: str) -> bool:
        """Whether ``session_id`` may still be used."""
        with self._lock:
            return session_id in self._valid

    def expire_all(self) -> None:
        """End every session (they time out, or an admin revokes them)."""
        with self._lock:
            self._valid.clear()


def bearer(authorization: str | None) -> str:
    """The session id of an ``Authorization: Bearer <id>`` header ("" when absent)."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") else ""
