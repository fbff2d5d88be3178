"""The whole configuration as one typed object, with each connector's section typed by the
settings model the connector declares.

pydantic-settings reads environment variables (``SEGSYNC_HUBSPOT__TOKEN``) and secrets files
only for declared fields, so a connector's section must be a real field, not an untyped extra:
``settings_class`` builds ``Settings`` with one field per connector section, each of the model
the registry gives for it, whichever package the connector comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, create_model
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from sync.config.models import AlertOptions, Guardrails, ReportOptions, SegmentConfig, SyncOptions

DEFAULT_CONNECTOR = "hubspot"


class _LayeredSettings(BaseSettings):
    """Sources, strongest first: environment, secrets dir, TOML file (given as keywords)."""

    model_config = SettingsConfigDict(
        env_prefix="SEGSYNC_",
        env_nested_delimiter="__",
        secrets_nested_delimiter="__",
        secrets_dir_missing="ok",
    )

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


class ConnectorChoice(_LayeredSettings):
    """Only the ``connector`` key, read from the same sources as ``Settings``: which
    connector's settings model the full ``Settings`` class needs is known before building it.
    Anything else is left for ``Settings`` to validate and report."""

    model_config = SettingsConfigDict(extra="ignore")

    connector: object = DEFAULT_CONNECTOR

    @property
    def name(self) -> str | None:
        """The configured connector's name; None when the value is no name (``Settings``
        reports it)."""
        return self.connector if isinstance(self.connector, str) else None


class Settings(_LayeredSettings):
    """segsync's own settings; ``settings_class`` adds the connectors' sections.

    Built directly (tests, benchmarks), a connector's section is an extra kept as given, and
    the registry validates it when the connector is built.
    """

    model_config = SettingsConfigDict(extra="allow")  # checked in load_settings

    connector: str = Field(
        default=DEFAULT_CONNECTOR, description="Entry-point name of the CRM connector."
    )
    sync: SyncOptions = Field(default_factory=SyncOptions)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    report: ReportOptions = Field(default_factory=ReportOptions)
    alerts: AlertOptions = Field(default_factory=AlertOptions)
    segments: list[SegmentConfig] = Field(default_factory=list)
    features: dict[str, Any] | None = Field(
        default=None,
        description="Derived fields: days_since, rfm, engagement (segment_core.features).",
    )
    clusters: list[dict[str, Any]] | None = Field(
        default=None, description="Cluster segment sets, each a [[clusters]] table."
    )
    audit: dict[str, Any] | None = Field(
        default=None, description="Data-quality audit options (segment_core.audit)."
    )
    validation: dict[str, Any] | None = Field(
        default=None, description="Segment validation thresholds (segment_core.validation)."
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

    def connector_settings(self) -> Any:
        """The configured connector's section: an instance of its settings model when loaded
        by ``load_settings``, else as given (``{}`` when absent, for the model's defaults)."""
        return getattr(self, self.connector, None) or {}


def settings_class(sections: Mapping[str, type[BaseModel]]) -> type[Settings]:
    """``Settings`` with a field per connector section, typed by the connector's model; a
    section left out of the file takes the model's defaults when it has them all."""
    fields: dict[str, Any] = {
        name: (model, _section_default(model)) for name, model in sections.items()
    }
    return create_model("Settings", __base__=Settings, **fields)


def _section_default(model: type[BaseModel]) -> Any:
    """The section's default: the model's defaults, or required when it has required keys."""
    if any(info.is_required() for info in model.model_fields.values()):
        return ...
    return Field(default_factory=model)
