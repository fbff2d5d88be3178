"""Settings of the Salesforce connector: where the org is, how to log in, how to sync."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class SalesforceSettings(BaseModel):
    """The ``[salesforce]`` section of the config.

    Secrets (consumer secret, private key, password, security token, session id) only ever
    come from the environment (``SEGSYNC_SALESFORCE__CONSUMER_SECRET`` ...) or a secrets file,
    never from the committed TOML. The connector logs in with the first complete method:
    OAuth 2.0 client credentials of an External Client App (consumer key and secret, at the
    org's My Domain), then the JWT bearer flow (username, consumer key, private key), then the
    legacy password login (SOAP ``login()``, refused from API 65.0 and retired by Salesforce in
    Summer '27), then an existing session.
    """

    model_config = ConfigDict(extra="forbid")

    instance_url: str | None = Field(
        None,
        description="Org URL for session auth, e.g. https://acme.my.salesforce.com; also how "
        "tests reach the sandbox CRM.",
    )
    domain: str = Field(
        "login",
        description="Login host: the org's My Domain ('acme.my', needed by client credentials), "
        "'login' (production) or 'test' (sandbox).",
    )
    username: str | None = Field(None, description="The integration user's username.")
    password: SecretStr | None = Field(
        None, description="The integration user's password (legacy SOAP login)."
    )
    security_token: SecretStr | None = Field(None, description="Appended to the password.")
    consumer_key: str | None = Field(
        None, description="External Client App consumer key (client credentials, JWT bearer)."
    )
    consumer_secret: SecretStr | None = Field(
        None, description="External Client App consumer secret (client credentials)."
    )
    private_key: SecretStr | None = Field(
        None, description="PEM private key signing the JWT bearer assertion."
    )
    session_id: SecretStr | None = Field(
        None, description="An existing session (with instance_url); cannot be renewed."
    )
    api_version: str = Field("59.0", pattern=r"^\d+\.\d$", description="REST API version.")
    object: Literal["Contact", "Lead"] = Field(
        "Contact", description="The sObject segsync segments and adds to campaigns."
    )
    timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Deadline of every HTTP call, from connecting to the last byte of the answer.",
    )
    bulk_threshold: int = Field(
        10_000,
        gt=0,
        description="Full pulls of more records than this use a Bulk API 2.0 query job.",
    )
    incremental_overlap_seconds: float = Field(
        300.0,
        ge=0,
        description="Incremental pulls re-read this far before 'since': SystemModstamp is set "
        "at commit time, so a transaction open across the previous run's end shows up late.",
    )
    campaign_status: str = Field(
        "Sent", min_length=1, description="CampaignMember status given to added members."
    )
    permission_set: str | None = Field(
        None,
        description="API name of the permission set, assigned to the integration user, that "
        "gets Read and Edit on segsync's fields (required).",
    )
    ca_bundle: Path | None = Field(
        None, description="CA bundle to trust instead of the system's (a private CA, the sandbox)."
    )
    daily_requests: int = Field(
        100_000,
        gt=0,
        description="The org's daily API request allowance; Sforce-Limit-Info corrects it.",
    )
