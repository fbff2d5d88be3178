"""One place for the API version (issue #15, item 7): every HubSpot request segsync makes goes
through the client library's CRM v3 paths, except the one token-info path the connector names,
and README says which API versions segsync speaks for both CRMs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.hubspot.access import TOKEN_INFO_PATH
from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_hubspot_request_of_a_sync_and_a_check_is_a_crm_v3_path_or_the_token_info(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    crm.seed_contacts(30, seed=121)
    config = write_hubspot_config(tmp_path, crm.base_url)
    for command in (["check"], ["sync"], ["sync", "--full"]):
        assert CliRunner().invoke(app, [*command, "--config", str(config)]).exit_code == 0
    paths = {record.route.split(" ", 1)[1] for record in crm.call_log}
    assert paths and all(p.startswith("/crm/v3/") or p == TOKEN_INFO_PATH for p in paths)


def test_readme_records_the_api_versions_segsync_speaks() -> None:
    text = README.read_text()
    section = text[text.index("**API versions.**") :].split("\n\n", 1)[0]
    for version in ("CRM v3", "hubspot-api-client", "api_version", "Bulk API 2.0"):
        assert version in section
