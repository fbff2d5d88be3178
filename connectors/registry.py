"""Discovery of connectors through the ``segsync.connectors`` entry-point group.

The built-in connectors register exactly as a third-party package would, so nothing here
knows any CRM by name. An entry point names a class with a ``from_settings(mapping)``
classmethod that returns an object implementing ``connectors.base.Connector``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from connectors.base import Connector, ConnectorError

ENTRY_POINT_GROUP = "segsync.connectors"


class UnknownConnector(ConnectorError):
    """No installed package provides a connector of that name."""


def available_connectors() -> dict[str, EntryPoint]:
    """Installed connectors by name, without importing them (listing stays fast)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_connector(name: str, settings: Mapping[str, Any]) -> Connector:
    """Import the named connector and build it from its config section."""
    installed = available_connectors()
    if name not in installed:
        known = ", ".join(sorted(installed)) or "none"
        raise UnknownConnector(
            f"no connector named {name!r} is installed (installed: {known}); "
            f"install its package or fix 'connector' in the config"
        )
    factory = installed[name].load()
    return factory.from_settings(settings)
