"""``segsync init`` and the config template: every key documented, with its default, in one file."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from segment_core.audit import AuditConfig, parse_audit
from segment_core.cluster_config import SET_KEYS, parse_cluster_sets
from segment_core.clusters import ClusterSegmenter
from segment_core.features import EngagementConfig, FeatureConfig, RFMConfig, parse_features
from segment_core.validation import ValidationConfig, parse_validation
from sync.cli import app
from sync.config import Settings, load_settings
from sync.init_config import SANDBOX_SCHEDULE, config_text, template

REPO = Path(__file__).parent.parent
runner = CliRunner()

BUILT_IN_CONNECTORS = (HubSpotConnector, SalesforceConnector)
"""Their sections are documented in the template, each by the settings model it declares."""
HEADER = re.compile(r"^(?:# )?\[\[?([a-z_.]+)\]\]?$")
KEY = re.compile(r"^(?:# )?([a-z_0-9]+) = ")


def documented_keys(text: str) -> dict[str, set[str]]:
    """Keys per section ("" for the top level), whether set or commented out, and the secrets
    named by their environment variable (``SEGSYNC_HUBSPOT__TOKEN``)."""
    sections: dict[str, set[str]] = {"": set()}
    current = ""
    for line in text.splitlines():
        if header := HEADER.match(line):
            current = header.group(1)
            sections.setdefault(current, set())
        elif key := KEY.match(line):
            sections[current].add(key.group(1))
        for section, name in re.findall(r"SEGSYNC_([A-Z]+)__([A-Z_]+)", line):
            sections.setdefault(section.lower(), set()).add(name.lower())
    return sections


def model_sections() -> dict[str, type[BaseModel]]:
    """Settings' sections that are pydantic models (a list of models counts: [[segments]]),
    and each built-in connector's section by its settings model; raw dict or list sections
    (features, clusters, ...) are checked by their parsers below."""
    found: dict[str, type[BaseModel]] = {}
    for name, info in Settings.model_fields.items():
        annotation = info.annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            found[name] = inner
    for connector in BUILT_IN_CONNECTORS:
        found[connector.name] = connector.settings_model
    return found


def test_the_repository_example_is_the_packaged_template() -> None:
    assert (REPO / "config.example.toml").read_bytes() == (
        REPO / "sync" / "config.example.toml"
    ).read_bytes()


def test_every_settings_key_is_documented() -> None:
    documented = documented_keys(template())
    assert {"hubspot", "salesforce", "sync", "segments"} <= set(model_sections())
    for name in Settings.model_fields:
        assert name in documented or name in documented[""], f"{name} is not in the template"
    for section, model in model_sections().items():
        missing = set(model.model_fields) - documented.get(section, set())
        assert not missing, f"[{section}] does not document {sorted(missing)}"


def test_every_active_value_is_the_default() -> None:
    data = tomllib.loads(template())
    for section, model in model_sections().items():
        if section == "segments":
            continue
        for key, value in data.get(section, {}).items():
            default = model.model_fields[key].get_default(call_default_factory=True)
            assert model.model_validate({key: value}).model_dump()[key] == default, (section, key)
    assert data["connector"] == Settings.model_fields["connector"].default


def commented_examples(text: str) -> dict[str, Any]:
    """The commented-out tables between the alerts and the segments, uncommented and parsed."""
    block = text[text.index("# [features]") : text.index("[[segments]]")]
    lines = [line[2:] for line in block.splitlines() if re.match(r"# (\[|[a-z_0-9]+ = )", line)]
    return tomllib.loads("\n".join(lines))


def test_the_commented_examples_are_valid_and_show_every_key() -> None:
    examples = commented_examples(template())
    features = parse_features(examples["features"])
    assert features.rfm is not None and features.engagement is not None
    assert parse_validation(examples["validation"]) != ValidationConfig()
    parse_audit(examples["audit"])
    assert parse_cluster_sets(examples["clusters"])[0].name == "Account profile"
    shown = {
        FeatureConfig: examples["features"],
        RFMConfig: examples["features"]["rfm"],
        EngagementConfig: examples["features"]["engagement"],
        ValidationConfig: examples["validation"],
        AuditConfig: examples["audit"],
    }
    for config, table in shown.items():
        assert {f.name for f in fields(config)} == set(table), config.__name__
    cluster_keys = set(ClusterSegmenter._get_param_names()) | set(SET_KEYS)
    assert cluster_keys == set(examples["clusters"][0])


def test_init_writes_the_template_and_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "segsync.toml").read_text() == template()
    assert "segsync check --config segsync.toml" in result.output
    assert load_settings(tmp_path / "segsync.toml").hubspot.base_url == "https://api.hubapi.com"


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("# my own config\n")
    refused = runner.invoke(app, ["init", str(path)])
    assert refused.exit_code == 2
    assert refused.output.strip() == f"Not written: {path} exists; pass --force to overwrite it"
    assert path.read_text() == "# my own config\n"
    forced = runner.invoke(app, ["init", str(path), "--force", "--schedule", "0 6 * * 1-5"])
    assert forced.exit_code == 0, forced.output
    assert load_settings(path).sync.schedule == "0 6 * * 1-5"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "0 6 * *"], "bad cron expression '0 6 * *'"),
        (["--sandbox", "127.0.0.1:8787"], "--sandbox must be the sandbox's http:// URL"),
    ],
)
def test_init_bad_options_are_configuration_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "segsync.toml"), *args])
    assert result.exit_code == 2
    assert result.output.startswith("Configuration error: ")
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "segsync.toml").exists()


def test_the_sandbox_config_is_the_demo_pointed_at_the_sandbox(tmp_path: Path) -> None:
    path = tmp_path / "segsync.toml"
    path.write_text(config_text("http://127.0.0.1:8787/"))
    settings = load_settings(path)
    demo = load_settings(REPO / "sync" / "demo.toml")
    assert settings.hubspot.base_url == "http://127.0.0.1:8787"
    assert settings.sync.schedule == SANDBOX_SCHEDULE
    assert settings.segments == demo.segments
    assert (settings.features, settings.clusters) == (demo.features, demo.clusters)
    assert (settings.audit, settings.validation) == (demo.audit, demo.validation)
    assert settings.report == demo.report
    assert settings.sync.model_copy(update={"schedule": None}) == demo.sync
    assert "token" not in tomllib.loads(path.read_text())["hubspot"]
