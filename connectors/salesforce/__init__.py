"""Salesforce connector, registered as ``salesforce`` in the ``segsync.connectors`` entry points.

``SalesforceConnector`` is imported on first access (PEP 562): simple-salesforce pulls in
zeep, lxml and PyJWT, which code that only needs ``SalesforceSettings`` should not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.salesforce.settings import SalesforceSettings

if TYPE_CHECKING:
    from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector", "SalesforceSettings"]


def __getattr__(name: str) -> Any:
    if name == "SalesforceConnector":
        from connectors.salesforce.connector import SalesforceConnector

        return SalesforceConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
