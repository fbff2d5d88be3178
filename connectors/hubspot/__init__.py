"""HubSpot connector, registered as ``hubspot`` in the ``segsync.connectors`` entry points."""

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.settings import HubSpotSettings

__all__ = ["HubSpotConnector", "HubSpotSettings"]
