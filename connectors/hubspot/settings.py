"""Settings of the HubSpot connector: where the portal is and how to authenticate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class HubSpotSettings(BaseModel):
    """The ``[hubspot]`` section of the config. The token only ever comes from the environment
    (``SEGSYNC_HUBSPOT__TOKEN``) or a secrets file, never from the committed TOML."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        "https://api.hubapi.com",
        description="API host; point it at the sandbox CRM for tests and demos.",
    )
    token: SecretStr | None = Field(None, description="Private-app access token.")
    timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Deadline of every HTTP call, from connecting to the last byte of the answer.",
    )
    requests_per_ten_seconds: int = Field(
        190,
        gt=0,
        description="Burst limit of the private app (Free/Starter 100, Professional and "
        "Enterprise 190, with the capacity pack 250). The response headers correct it.",
    )
    daily_requests: int = Field(
        625_000,
        gt=0,
        description="Daily limit of the account (Free/Starter 250,000, Professional 625,000, "
        "Enterprise 1,000,000). The response headers correct it.",
    )
    list_change_batch_size: int = Field(
        1000,
        gt=0,
        le=10_000,
        description=(
            "Record ids per list membership call; HubSpot documents no cap, so stay modest."
        ),
    )
    export_above_contacts: int = Field(
        200_000,
        ge=0,
        description="Above this many contacts a full pull uses one CRM export (scope "
        "crm.export) instead of pages; without the scope it pages.",
    )
    export_wait_seconds: float = Field(
        3600.0, gt=0, description="How long a full pull waits for its export to finish."
    )
