"""Local, faithful stand-ins for the CRM APIs segsync talks to, for tests and the demo.

``HubSpotSandbox`` serves HubSpot's CRM v3 endpoints on a loopback port and ``SalesforceSandbox``
Salesforce's REST, Bulk API 2.0, Tooling and SOAP endpoints over loopback TLS, so the real
vendor clients (``hubspot-api-client``, ``simple-salesforce``), and therefore segsync's real
connector code, run unchanged against them; ``SandboxLimits`` switches on HubSpot's rate
limits; ``generate_contacts`` makes realistic seeded B2B data for both.
"""

from connectors.sandbox.base import CallRecord
from connectors.sandbox.hubspot.sandbox import HubSpotSandbox
from connectors.sandbox.limits import SandboxLimits
from connectors.sandbox.salesforce.sandbox import SalesforceSandbox
from connectors.sandbox.seed import generate_contacts

__all__ = [
    "CallRecord", "HubSpotSandbox", "SalesforceSandbox", "SandboxLimits", "generate_contacts",
]
