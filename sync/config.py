"""segsync's configuration: a TOML file, overridden by ``SEGSYNC_*`` environment variables.

Secrets (tokens, passwords) come only from the environment or a secrets directory
(``SEGSYNC_SECRETS_DIR``, one file per secret such as ``hubspot__token``); a secret found in
the TOML file is refused, because that file is meant to be committed.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connectors.hubspot.settings import HubSpotSettings
from connectors.registry import available_connectors
from connectors.salesforce.settings import SalesforceSettings
from segment_core.audit import parse_audit
from segment_core.cluster_config import parse_cluster_sets
from segment_core.errors import ConfigError as SegmentConfigError
from segment_core.features import parse_features
from segment_core.validation import parse_validation
from sync.guardrails import Guardrails
from sync.names import name_collision, pattern_problem, with_fallback
from sync.private import loose_secrets
from sync.state.lease import DEFAULT_LEASE_SECONDS

SECRET_KEYS = frozenset(
    {
        "token",
        "password",
        "security_token",
        "client_secret",
        "consumer_secret",
        "private_key",
        "session_id",
        "webhook_url",
    }
)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, the key and the fix."""


class SegmentConfig(BaseModel):
    """One rule segment: a name, a priority (higher wins) and a rule (table or expression)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    priority: int = 0
    rule: dict[str, Any] | str
    description: str = ""
    holdout: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Share of the segment kept out of its list (chosen by a hash of the contact "
        "id and segment name, so stable), to measure what the list's campaigns add.",
    )

    @field_validator("name")
    @classmethod
    def _no_separator(cls, name: str) -> str:
        if ";" in name:
            raise ValueError("a segment name cannot contain ';' (CRMs use it to join values)")
        return name


class SyncOptions(BaseModel):
    """What one sync is called, where it keeps its state and where it writes in the CRM."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("default", min_length=1, description="Names this sync in the state store.")
    state_dir: Path = Field(Path(".segsync"), description="Where the SQLite state store lives.")
    state_url: str | None = Field(
        None, description="SQLAlchemy URL of the state store (e.g. postgresql://...)."
    )
    schedule: str | None = Field(None, description="Cron expression for `segsync schedule`.")
    lease_seconds: float = Field(
        DEFAULT_LEASE_SECONDS,
        ge=10,
        description="How long a run's lock lasts without its heartbeat (renewed every third of "
        "it): a run killed on any host blocks the next one at most this long.",
    )
    full_every_hours: float = Field(
        24, gt=0, description="Between full pulls, runs pull only the contacts changed."
    )
    daily_budget_share: float = Field(
        0.5, gt=0, le=1, description="Most of the CRM's daily request limit one run may use."
    )
    max_record_attempts: int = Field(
        3, ge=1, description="Runs that retry a record the CRM refused before giving up on it."
    )
    opt_out_field: str | None = Field(
        None,
        description="Boolean contact field of marketing opt-out (HubSpot hs_email_optout, "
        "Salesforce HasOptedOutOfEmail); opted-out contacts are never added to lists.",
    )
    segment_property: str = Field("segsync_segment", description="The primary segment.")
    segments_property: str = Field("segsync_segments", description="Every segment matched.")
    reason_property: str = Field("segsync_reason", description="Why the primary segment.")
    list_name_pattern: str = Field(
        "segsync: {segment}",
        description="Name of each segment's list; {segment} is its only placeholder.",
    )
    fallback_segment: str | None = Field(
        None, description="Primary segment of contacts that match no segment (none: left empty)."
    )
    adopt_lists: list[str] = Field(
        [],
        description="Names of existing CRM lists segsync may take over for the segment whose "
        "list name they have; any other list with a segment's list name that segsync did not "
        "create stops the run (exit 2).",
    )
    orphan_lists: Literal["keep", "empty", "delete"] = Field(
        "keep",
        description="What a sync does with the lists of segments no longer configured (renamed, "
        "removed, a cluster gone after a refit): keep them, empty them, or delete them.",
    )

    @property
    def sync_fields(self) -> list[str]:
        """The three contact fields segsync writes: primary segment, all segments, reason."""
        return [self.segment_property, self.segments_property, self.reason_property]

    @field_validator("list_name_pattern")
    @classmethod
    def _has_placeholder(cls, pattern: str) -> str:
        problem = pattern_problem(pattern)
        if problem:
            raise ValueError(problem)
        return pattern


class ReportOptions(BaseModel):
    """What ``segsync report`` measures per segment beyond its size."""

    model_config = ConfigDict(extra="forbid")

    conversion_field: str | None = Field(
        None, description="Field telling whether a contact converted (e.g. lifecyclestage)."
    )
    conversion_values: list[str] = Field(
        ["customer"], description="Values of conversion_field that count as converted."
    )
    revenue_field: str | None = Field(
        None, description="Numeric revenue field (e.g. total_revenue)."
    )
    output: Path = Field(Path("segsync-report.html"), description="Where the report is written.")


class AlertOptions(BaseModel):
    """Where failed, aborted or heavily refused runs are announced (Slack-compatible webhook)."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr | None = Field(
        None, description="From SEGSYNC_ALERTS__WEBHOOK_URL only: the URL is the credential."
    )
    max_rejected_share: float = Field(
        0.05, ge=0, le=1, description="Alert when the CRM refuses more than this share of writes."
    )


class Settings(BaseSettings):
    """The whole configuration. Sources, strongest first: environment, secrets dir, TOML file."""

    model_config = SettingsConfigDict(
        env_prefix="SEGSYNC_",
        env_nested_delimiter="__",
        secrets_nested_delimiter="__",
        secrets_dir_missing="ok",
        extra="allow",  # a third-party connector's section; checked in load_settings
    )

    connector: str = Field("hubspot", description="Entry-point name of the CRM connector.")
    hubspot: HubSpotSettings = Field(default_factory=HubSpotSettings)
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)
    sync: SyncOptions = Field(default_factory=SyncOptions)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    report: ReportOptions = Field(default_factory=ReportOptions)
    alerts: AlertOptions = Field(default_factory=AlertOptions)
    segments: list[SegmentConfig] = Field(default_factory=list)
    features: dict[str, Any] | None = Field(
        None, description="Derived fields: days_since, rfm, engagement (segment_core.features)."
    )
    clusters: list[dict[str, Any]] | None = Field(
        None, description="Cluster segment sets, each a [[clusters]] table."
    )
    audit: dict[str, Any] | None = Field(
        None, description="Data-quality audit options (segment_core.audit)."
    )
    validation: dict[str, Any] | None = Field(
        None, description="Segment validation thresholds (segment_core.validation)."
    )

    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> str:
        """Where this configuration was read from, for error messages."""
        return str(self._source) if self._source else "the configuration"

    def state_url(self) -> str | Path:
        """The state store's database URL, or segsync's state folder for the SQLite store in it
        (see ``sync.state.engine``)."""
        return self.sync.state_url or self.sync.state_dir

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment and secrets must override it.
        secrets = NestedSecretsSettingsSource(file_secret_settings, secrets_prefix="")
        return env_settings, secrets, init_settings

    def connector_settings(self) -> dict[str, Any]:
        """The raw section of the configured connector, as its factory expects it."""
        section = getattr(self, self.connector, None)
        if isinstance(section, BaseModel):
            return section.model_dump()
        return dict((self.model_extra or {}).get(self.connector) or {})


def _secret_paths(data: Any, path: str = "") -> list[str]:
    if not isinstance(data, dict):
        return []
    found = []
    for key, value in data.items():
        key_path = f"{path}.{key}" if path else key
        if key in SECRET_KEYS:
            found.append(key_path)
        found.extend(_secret_paths(value, key_path))
    return found


def _check_secrets_private(folder: Path) -> None:
    """Refuse secrets others may read, as ssh refuses a private key with loose permissions."""
    loose = loose_secrets(folder)
    if loose:
        path = loose[0]
        mode = "700" if path.is_dir() else "600"
        raise ConfigError(
            f"{path}: secrets readable by others are refused; run `chmod {mode} {path}` "
            "(in Kubernetes, mount the secret with defaultMode: 0400)"
        )


def _has_password(url: Any) -> bool:
    """Whether a database URL carries a password (an unreadable URL is left to the store)."""
    if not isinstance(url, str):
        return False
    try:
        return bool(make_url(url).password)
    except ArgumentError:
        return False


def _format_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {key}: {problem['msg']}")
    return "\n".join(lines)


def read_toml(path: Path) -> dict[str, Any]:
    """The file's contents, or a ConfigError that says which file and what is wrong with it."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file (run `segsync init` to write one)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not usable TOML: it nests too deeply") from None


def load_settings(path: Path, secrets_dir: str | None = None) -> Settings:
    """Load and validate the config file with its environment and secrets-file overrides."""
    data = read_toml(path)
    secrets = _secret_paths(data)
    if secrets:
        env_names = ", ".join("SEGSYNC_" + key.replace(".", "__").upper() for key in secrets)
        raise ConfigError(
            f"{path}: {', '.join(secrets)} is a secret and must not be in the config file; "
            f"remove it and set {env_names} in the environment (or a secrets file) instead"
        )
    if _has_password((data.get("sync") or {}).get("state_url")):
        raise ConfigError(
            f"{path}: sync.state_url holds a password, a secret that must not be in the config "
            "file; remove it and set the whole URL in SEGSYNC_SYNC__STATE_URL (or a secrets file)"
        )
    secrets_dir = secrets_dir or os.environ.get("SEGSYNC_SECRETS_DIR")
    if secrets_dir:
        _check_secrets_private(Path(secrets_dir))
    try:
        settings = Settings(_secrets_dir=secrets_dir, **data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None
    _check_extra_sections(path, settings)
    _check_segment_sections(path, settings)
    _check_segment_names(path, settings)
    settings._source = path
    return settings


def _check_segment_sections(path: Path, settings: Settings) -> None:
    """The features, clusters, audit and validation keys, checked before any CRM call; their
    fields are checked against the CRM's field list when a run has read it."""
    try:
        parse_features(settings.features)
        parse_cluster_sets(settings.clusters)
        parse_audit(settings.audit)
        parse_validation(settings.validation)
    except SegmentConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _check_segment_names(path: Path, settings: Settings) -> None:
    """Rule segments and the fallback must be distinct names to the CRM (``sync.names``);
    cluster names are checked when the clusters are fitted."""
    named = [(s.name, f'segment "{s.name}"') for s in settings.segments]
    named = with_fallback(named, settings.sync.fallback_segment)
    problem = name_collision(named, settings.sync.list_name_pattern)
    if problem:
        raise ConfigError(f"{path}: {problem}")


def _check_extra_sections(path: Path, settings: Settings) -> None:
    """Top-level keys beyond segsync's own must be sections of installed connectors."""
    installed = available_connectors()
    for key in settings.model_extra or {}:
        if key not in installed:
            known = ", ".join(sorted(Settings.model_fields))
            raise ConfigError(
                f"{path}: unknown key {key!r}: neither a segsync setting ({known}) nor the "
                f"section of an installed connector ({', '.join(sorted(installed))})"
            )
