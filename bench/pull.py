"""Full-pull throughput of each connector against the sandbox CRM.

Run: make bench (or .venv/bin/python bench/pull.py [contacts]). Prints, per connector,
contacts/second, API calls per 10,000 contacts and the minimum possible call count (one call
per full page at the connector's page size). Figures only; nothing is asserted.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from pydantic import SecretStr

from connectors.base import Connector
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.progress import SilentProgress
from sync.pull import pull_contacts
from sync.retry import Retrier, RetryPolicy

TOKEN = "bench-token"


def measure(name: str, connector: Connector, fields: list[str], calls: Callable[[], int]) -> None:
    before = calls()
    started = time.perf_counter()
    frame, _ = pull_contacts(connector, fields, Retrier(RetryPolicy()), SilentProgress())
    elapsed = time.perf_counter() - started
    made = calls() - before
    pulled = len(frame)
    minimum = -(-pulled // connector.limits.read_page_size)
    print(
        f"{name:<11} {pulled:>9,} contacts {pulled / elapsed:>10,.0f}/s   "
        f"calls/10k {made * 10_000 / pulled:>7.1f}   minimum/10k "
        f"{minimum * 10_000 / pulled:>6.1f}   calls/minimum {made / minimum:.2f}"
    )


def hubspot(contacts: int) -> None:
    with HubSpotSandbox(token=TOKEN) as crm:
        crm.seed_contacts(contacts, seed=1)
        settings = HubSpotSettings(base_url=crm.base_url, token=SecretStr(TOKEN))
        connector = HubSpotConnector(settings)
        fields = ["email", "industry", "employees", "lifecyclestage", "hs_email_open"]
        measure("HubSpot", connector, fields, lambda: sum(crm.calls.values()))
        connector.close()


def salesforce(contacts: int) -> None:
    with SalesforceSandbox() as org:
        org.seed_contacts(contacts, seed=1)
        settings = SalesforceSettings(
            instance_url=org.instance_url,
            session_id=SecretStr(org.session_id),
            ca_bundle=org.ca_path,
            permission_set="Segsync_Integration",
        )
        connector = SalesforceConnector(settings)
        fields = ["Email", "Title", "Employees__c", "Email_Opens__c"]
        measure("Salesforce", connector, fields, lambda: sum(org.calls.values()))
        connector.close()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    hubspot(count)
    salesforce(count)
