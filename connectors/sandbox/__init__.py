"""A local, faithful stand-in for the HubSpot CRM v3 API, for tests and the demo.

``SandboxCRM`` serves HubSpot's endpoints on a loopback port so the real ``hubspot-api-client``
(and therefore segsync's real connector code) runs unchanged against it; ``SandboxLimits``
switches on HubSpot's rate limits; ``generate_contacts`` makes realistic seeded B2B data.
"""

from connectors.sandbox.crm import CallRecord, SandboxCRM
from connectors.sandbox.limits import SandboxLimits
from connectors.sandbox.seed import generate_contacts

__all__ = ["CallRecord", "SandboxCRM", "SandboxLimits", "generate_contacts"]
