"""The most verbose log segsync writes holds every request, but no credential and no email.

Each run is the real command in its own process, so logging starts unconfigured as it does
for a person, and the vendor libraries' debug loggers (urllib3, hubspot-api-client's response
bodies) are captured along with segsync's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from connectors.sandbox.hubspot.scopes import ALL_SCOPES
from connectors.sandbox.salesforce.schema import ORG_ID
from tests.conftest import write_hubspot_config

SEGSYNC = Path(sys.executable).with_name("segsync")
HUBSPOT_TOKEN = "pat-na1-3f6c1e2a-9b7d-4c55-8e21-a0b1c2d3e4f5"
"""Shaped like a real private-app token."""


def debug_run(tmp_path: Path, config: str, env: dict[str, str]) -> tuple[int, str]:
    """``segsync --log-level debug --log-file ... sync``: its exit code, and its log followed
    by everything it printed."""
    path = tmp_path / "segsync.toml"
    path.write_text(config)
    log = tmp_path / "debug.log"
    run = subprocess.run(
        [str(SEGSYNC), "--log-level", "debug", "--log-file", str(log), "sync", "-c", str(path)],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run.returncode, log.read_text() + run.stdout + run.stderr


def assert_no_leak(text: str, secrets: Iterable[str], emails: Iterable[str]) -> None:
    assert [secret for secret in secrets if secret in text] == []
    assert [email for email in emails if email in text] == []


def hubspot_emails(crm: HubSpotSandbox, ids: list[str]) -> list[str]:
    emails = [crm.store.contact(i).get("email") for i in ids]
    return [email for email in emails if email]


def test_a_debug_log_of_a_hubspot_sync_has_every_request_and_no_token_or_email(
    tmp_path: Path,
) -> None:
    with HubSpotSandbox(token=HUBSPOT_TOKEN) as crm:
        ids = crm.seed_contacts(150, seed=41)
        config = write_hubspot_config(tmp_path, crm.base_url).read_text()
        code, text = debug_run(tmp_path, config, {"SEGSYNC_HUBSPOT__TOKEN": HUBSPOT_TOKEN})
    assert code == 0, text[-2000:]
    assert '"POST /crm/v3/objects/contacts/batch/update HTTP/1.1" 200' in text  # urllib3
    assert "DEBUG hubspot.crm.properties.rest: response body: " in text  # the SDK's bodies
    # and the bodies segsync reads itself (contact pages, write confirmations)
    assert "DEBUG connectors.hubspot.calls: HubSpot read contacts: response body: " in text
    assert "[email]" in text  # they held addresses, which were redacted
    assert_no_leak(text, [HUBSPOT_TOKEN], hubspot_emails(crm, ids))


def test_a_debug_log_of_a_failing_hubspot_sync_has_no_token_or_email(tmp_path: Path) -> None:
    granted = ALL_SCOPES - {"crm.lists.write"}  # fails after pulling and writing contacts
    with HubSpotSandbox(token=HUBSPOT_TOKEN, scopes=granted) as crm:
        ids = crm.seed_contacts(150, seed=42)
        config = write_hubspot_config(tmp_path, crm.base_url).read_text()
        code, text = debug_run(tmp_path, config, {"SEGSYNC_HUBSPOT__TOKEN": HUBSPOT_TOKEN})
    assert code == 3, text[-2000:]
    assert '"POST /crm/v3/lists/ HTTP/1.1" 403' in text
    assert "Authentication failed: HubSpot refused create list" in text
    assert_no_leak(text, [HUBSPOT_TOKEN], hubspot_emails(crm, ids))


SALESFORCE_CONFIG = """
connector = "salesforce"

[salesforce]
consumer_key = "{consumer_key}"
domain = "{domain}"
ca_bundle = "{ca_bundle}"
permission_set = "Segsync_Integration"
timeout_seconds = 20

[sync]
state_dir = "{state_dir}"
segment_property = "Segsync_Segment__c"
segments_property = "Segsync_Segments__c"
reason_property = "Segsync_Reason__c"

[audit]
email_field = "Email"

[[segments]]
name = "Big"
priority = 10
rule = 'Employees__c >= 50'
"""


def test_a_debug_log_of_a_salesforce_sync_has_no_secret_session_or_email(
    tmp_path: Path,
) -> None:
    consumer_secret = "Tr0ub4dor-and-3-Xk9QmZ2vLp7RtY4wNs8BcD1f"
    with SalesforceSandbox(consumer_secret=consumer_secret) as org:
        org.seed_contacts(150, seed=43)
        emails = [
            str(row.values["Email"]) for row in org.store.rows("Contact") if row.values.get("Email")
        ]
        config = SALESFORCE_CONFIG.format(
            consumer_key=org.app.consumer_key,
            domain=org.my_domain,
            ca_bundle=org.ca_path,
            state_dir=tmp_path,
        )
        env = {
            "SEGSYNC_SALESFORCE__CONSUMER_SECRET": consumer_secret,
            "HTTPS_PROXY": org.proxy_url,  # the login goes to the org's My Domain
        }
        code, text = debug_run(tmp_path, config, env)
        written = {row.values.get("Segsync_Segment__c") for row in org.store.rows("Contact")}
    assert code == 0, text[-2000:]
    assert "Big" in written
    assert "DEBUG urllib3.connectionpool: " in text and "composite/sobjects" in text
    session_prefix = f"{ORG_ID[:15]}!"  # every session id of the sandbox org starts so
    assert_no_leak(text, [consumer_secret, session_prefix], emails)
