"""Reading a config file: the TOML, its environment and secrets-file overrides, each
connector's section validated by the model it declares, and errors that name file and key."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings

from connectors.base import ConnectorError
from connectors.registry import available_connectors, settings_model
from segment_core.audit import parse_audit
from segment_core.cluster_config import parse_cluster_sets
from segment_core.errors import ConfigError as SegmentConfigError
from segment_core.features import parse_features
from segment_core.validation import parse_validation
from sync.config.errors import ConfigError
from sync.config.models import SegmentConfig, SyncOptions
from sync.config.secrets import check_secrets_private, refuse_committed_secrets
from sync.config.settings import ConnectorChoice, Settings, settings_class
from sync.names import name_collision, with_fallback

Layered = TypeVar("Layered", bound=BaseSettings)


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
    refuse_committed_secrets(path, data)
    secrets_dir = secrets_dir or os.environ.get("SEGSYNC_SECRETS_DIR")
    if secrets_dir:
        check_secrets_private(Path(secrets_dir))
    configured = _layered(ConnectorChoice, data, secrets_dir).name
    try:
        sections = _connector_models(configured, data)
    except ConnectorError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        settings = _layered(settings_class(sections), data, secrets_dir)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None
    _check_extra_sections(path, settings)
    _check_segment_sections(path, settings)
    _check_segment_names(path, settings.segments, settings.sync)
    settings._source = path
    return settings


def _layered(cls: type[Layered], data: dict[str, Any], secrets_dir: str | None) -> Layered:
    """``cls`` from the file's ``data``, overridden by the secrets dir and the environment."""
    return cls(_secrets_dir=secrets_dir, **data)


def _connector_models(configured: str | None, data: dict[str, Any]) -> dict[str, type[BaseModel]]:
    """The settings model of each installed connector that is configured or has a section in
    the file, by its section's name: those sections are validated, whichever connector runs."""
    installed = available_connectors()
    named = {key for key in data if key not in Settings.model_fields}
    if configured is not None:
        named.add(configured)
    return {name: settings_model(name) for name in sorted(named) if name in installed}


def _format_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {key}: {problem['msg']}")
    return "\n".join(lines)


def _check_extra_sections(path: Path, settings: Settings) -> None:
    """Top-level keys beyond segsync's own must be sections of installed connectors."""
    installed = available_connectors()
    for key in settings.model_extra or {}:
        if key not in installed:
            known = ", ".join(sorted(set(Settings.model_fields) | set(installed)))
            raise ConfigError(
                f"{path}: unknown key {key!r}: neither a segsync setting ({known}) nor the "
                f"section of an installed connector ({', '.join(sorted(installed))})"
            )


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


def _check_segment_names(path: Path, segments: list[SegmentConfig], sync: SyncOptions) -> None:
    """Rule segments and the fallback must be distinct names to the CRM (``sync.names``);
    cluster names are checked when the clusters are fitted."""
    named = [(s.name, f'segment "{s.name}"') for s in segments]
    named = with_fallback(named, sync.fallback_segment)
    problem = name_collision(named, sync.list_name_pattern)
    if problem:
        raise ConfigError(f"{path}: {problem}")
