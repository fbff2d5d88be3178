"""Configuration: TOML + environment layering, secrets policy, and actionable errors."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest

from connectors.registry import ENTRY_POINT_GROUP, load_connector
from sync.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "segsync.toml"
    path.write_text(text)
    return path


def test_example_config_loads_with_its_documented_defaults() -> None:
    settings = load_settings(REPO / "config.example.toml")
    assert settings.connector == "hubspot"
    assert settings.hubspot.base_url == "https://api.hubapi.com"
    assert settings.sync.list_name_pattern == "segsync: {segment}"
    assert [s.name for s in settings.segments] == ["Enterprise Healthcare", "Engaged prospects"]


def test_environment_overrides_file_and_supplies_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[hubspot]\nbase_url = "https://api.hubapi.com"\ntimeout_seconds = 5\n')
    monkeypatch.setenv("SEGSYNC_HUBSPOT__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", "pat-na1-secret")
    settings = load_settings(path)
    assert settings.hubspot.base_url == "http://127.0.0.1:9"
    assert settings.hubspot.timeout_seconds == 5
    assert settings.hubspot.token is not None
    assert settings.hubspot.token.get_secret_value() == "pat-na1-secret"
    assert "pat-na1-secret" not in repr(settings)


def test_token_from_a_secrets_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGSYNC_HUBSPOT__TOKEN", raising=False)
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / "hubspot__token").write_text("pat-from-file")
    (secrets / "hubspot__token").chmod(0o600)
    settings = load_settings(write(tmp_path, ""), secrets_dir=str(secrets))
    assert settings.hubspot.token is not None
    assert settings.hubspot.token.get_secret_value() == "pat-from-file"


def test_a_secret_in_the_file_is_refused_with_the_variable_to_use(tmp_path: Path) -> None:
    path = write(tmp_path, '[hubspot]\ntoken = "pat-na1-leaked"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message == (
        f"{path}: hubspot.token is a secret and must not be in the config file; remove it and "
        "set SEGSYNC_HUBSPOT__TOKEN in the environment (or a secrets file) instead"
    )
    assert "pat-na1-leaked" not in message


def test_invalid_values_name_the_file_and_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[sync]\nlist_name_pattern = "no placeholder"\n'
        '[[segments]]\nname = "A;B"\nrule = "x = 1"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: invalid configuration\n"
        "  sync.list_name_pattern: Value error, must contain {segment}, e.g. 'segsync: {segment}'\n"
        "  segments.0.name: Value error, a segment name cannot contain ';' "
        "(CRMs use it to join values)"
    )


def test_unknown_keys_and_missing_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hubspot\.base_ulr: Extra inputs are not permitted"):
        load_settings(write(tmp_path, '[hubspot]\nbase_ulr = "x"\n'))
    with pytest.raises(ConfigError, match=r"nope\.toml: no such config file"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"segsync\.toml: not valid TOML"):
        load_settings(write(tmp_path, "[sync\n"))


@pytest.fixture
def csvcrm_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example plugin (tests/plugin_example) importable and listed in the entry points, as
    installing it would make it, without installing anything."""
    built_in = list(entry_points(group=ENTRY_POINT_GROUP))
    plugin = EntryPoint("csvcrm", "segsync_csvcrm:CsvCrmConnector", ENTRY_POINT_GROUP)
    monkeypatch.setattr("connectors.registry.entry_points", lambda group: [*built_in, plugin])
    monkeypatch.syspath_prepend(str(REPO / "tests" / "plugin_example"))


@pytest.mark.usefixtures("csvcrm_installed")
def test_a_plugin_section_is_typed_by_its_model_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, 'connector = "csvcrm"\n[csvcrm]\ndirectory = "from-file"\n')
    monkeypatch.setenv("SEGSYNC_CSVCRM__DIRECTORY", str(tmp_path))
    settings = load_settings(path)
    assert settings.connector_settings().directory == tmp_path
    (tmp_path / "contacts.csv").write_text("id,email\n1,a@example.com\n")
    connector = load_connector(settings.connector, settings.connector_settings())
    assert [c.id for c in connector.read_contacts_page(["email"], None).contacts] == ["1"]


@pytest.mark.usefixtures("csvcrm_installed")
def test_a_plugin_section_is_validated_with_the_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'connector = "csvcrm"\n[csvcrm]\ndirectroy = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: invalid configuration\n"
        "  csvcrm.directory: Field required\n"
        "  csvcrm.directroy: Extra inputs are not permitted"
    )
