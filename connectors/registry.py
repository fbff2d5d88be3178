"""Discovery of connectors through the ``segsync.connectors`` entry-point group.

The built-in connectors register exactly as a third-party package would, so nothing here
knows any CRM by name. An entry point names a ``connectors.base.ConnectorFactory``: a class
that declares the pydantic model of its config section (``settings_model``) and builds the
connector from a validated section (``from_settings``).
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

from connectors.base import Connector, ConnectorError, ConnectorFactory

if TYPE_CHECKING:  # pydantic stays unloaded until a connector is: listing them stays fast
    from pydantic import BaseModel

ENTRY_POINT_GROUP = "segsync.connectors"


class UnknownConnector(ConnectorError):
    """No installed package provides a connector of that name."""


def available_connectors() -> dict[str, EntryPoint]:
    """Installed connectors by name, without importing them (listing stays fast)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def connector_factory(name: str) -> ConnectorFactory:
    """Import the named connector's class; ``ConnectorError`` when it declares no settings
    model, since its config section could not be validated."""
    from pydantic import BaseModel

    installed = available_connectors()
    if name not in installed:
        known = ", ".join(sorted(installed)) or "none"
        raise UnknownConnector(
            f"no connector named {name!r} is installed (installed: {known}); "
            f"install its package or fix 'connector' in the config"
        )
    factory = installed[name].load()
    model = getattr(factory, "settings_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConnectorError(
            f"connector {name!r} ({installed[name].value}) declares no settings_model, the "
            "pydantic model of its config section; its package must add one"
        )
    return factory


def settings_model(name: str) -> type[BaseModel]:
    """The model the named connector's config section must validate against."""
    return connector_factory(name).settings_model


def load_connector(name: str, section: object) -> Connector:
    """Import the named connector, validate its config section (a mapping, or already an
    instance of its settings model) and build it."""
    factory = connector_factory(name)
    return factory.from_settings(factory.settings_model.model_validate(section))
