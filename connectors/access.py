"""The optional capability behind ``segsync check``: a connector probing its own permissions,
each probe an ``AccessCheck`` that ``sync.check`` shows as a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

AccessStatus = Literal["ok", "failed", "unchecked", "warning"]
"""``warning``: works today but needs attention (a login method being retired); not a failure."""


@dataclass(frozen=True)
class AccessCheck:
    """One permission a sync needs, as probed: ``detail`` says what was seen or, when the check
    failed, exactly what to grant (the scope, the permission and where to set it)."""

    name: str
    status: AccessStatus
    detail: str = ""


@runtime_checkable
class AccessChecking(Protocol):
    """What a connector may add so that ``segsync check`` can confirm its permissions.

    Optional: the sync never calls it, and a connector without it is reported as reachable
    with its permissions unchecked.
    """

    def check_access(self, segment_fields: Sequence[str]) -> list[AccessCheck]:
        """Probe, read-only and in a few calls, every permission a sync needs: reading
        contacts, writing (or creating) ``segment_fields``, managing lists. A refused
        permission is a failed check, not an exception; bad credentials raise ``AuthFailed``."""
