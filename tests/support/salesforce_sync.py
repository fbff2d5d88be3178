"""What the Salesforce sync tests share: how many contacts they seed, the SOAP login route, the
config file a ``segsync`` process syncs the test segments with, and the org's campaign rows."""

from __future__ import annotations

from pathlib import Path

from connectors.sandbox import SalesforceSandbox
from tests.conftest import PERMISSION_SET
from tests.expectations import SALESFORCE_CONTACTS, segments_toml

CONTACTS = 150
SOAP_LOGIN = "POST /services/Soap/u/{soapVersion}"


def write_config(path: Path, sf_box: SalesforceSandbox, state: Path) -> Path:
    sync_fields = "".join(
        f'{key} = "{value}"\n' for key, value in SALESFORCE_CONTACTS.sync_options().items()
    )
    path.write_text(
        f'connector = "salesforce"\n\n[sync]\nstate_dir = "{state}"\n{sync_fields}\n'
        f'[salesforce]\ninstance_url = "{sf_box.instance_url}"\nca_bundle = "{sf_box.ca_path}"\n'
        f'permission_set = "{PERMISSION_SET}"\ntimeout_seconds = 10\n\n'
        + segments_toml(SALESFORCE_CONTACTS.segment_config())
    )
    return path


def member_rows(sf_box: SalesforceSandbox, campaign_name: str, person: str) -> int:
    campaign = sf_box.store.campaign_by_name(campaign_name)
    assert campaign is not None
    with sf_box.store.transaction():
        return sum(
            1
            for row in sf_box.store.rows("CampaignMember")
            if row.values["CampaignId"] == campaign["Id"]
            and person in (row.values.get("ContactId"), row.values.get("LeadId"))
        )
