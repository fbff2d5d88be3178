"""Shared fixtures: a running sandbox CRM and settings that point segsync at it."""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.salesforce import SalesforceSettings
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.cli import app
from sync.config import SegmentConfig, Settings, SyncOptions
from tests.postgres_server import PostgresServer
from tests.support.plugin import install_plugin
from tests.support.webhook import Webhook, serve_webhook

TOKEN = "sandbox-test-token"
PERMISSION_SET = "Segsync_Integration"
"""The permission set the sandbox assigns to its integration user."""
collect_ignore = ["plugin_example"]
"""The example plugin's tests import it installed: test_plugin.py installs it and runs them."""


@pytest.fixture
def crm() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox(token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def sf_box() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


def hubspot_settings(crm: HubSpotSandbox, token: str | None = TOKEN) -> HubSpotSettings:
    return HubSpotSettings(
        base_url=crm.base_url,
        token=SecretStr(token) if token is not None else None,
        timeout_seconds=5,
    )


def salesforce_settings(sf_box: SalesforceSandbox, **overrides: Any) -> SalesforceSettings:
    """Settings that reach the sandbox with its initial session and trust its CA."""
    values: dict[str, Any] = {
        "instance_url": sf_box.instance_url,
        "session_id": SecretStr(sf_box.session_id),
        "ca_bundle": sf_box.ca_path,
        "permission_set": PERMISSION_SET,
        "timeout_seconds": 10,
    }
    return SalesforceSettings(**(values | overrides))


def make_settings(
    crm: HubSpotSandbox, segments: list[dict[str, Any]], state_dir: Path, **sync: Any
) -> Settings:
    return Settings(
        hubspot=hubspot_settings(crm),
        sync=SyncOptions(state_dir=state_dir, **sync),
        segments=[SegmentConfig(**segment) for segment in segments],
    )


HUBSPOT_CONFIG = """
[sync]
name = "{name}"
state_dir = "{state_dir}"
{schedule}
{sync}

[hubspot]
base_url = "{base_url}"
timeout_seconds = 10

[[segments]]
name = "Big"
priority = 10
rule = '{rule}'
{segments}
"""


def write_hubspot_config(
    directory: Path,
    base_url: str,
    *,
    name: str = "default",
    schedule: str | None = None,
    rule: str = "employees >= 50",
    sync: str = "",
    segments: str = "",
) -> Path:
    """A config file syncing one segment ("Big") into the HubSpot at ``base_url``; ``sync`` is
    extra ``[sync]`` lines and ``segments`` extra TOML after the segment."""
    path = directory / ("segsync.toml" if name == "default" else f"{name}.toml")
    path.write_text(
        HUBSPOT_CONFIG.format(
            name=name,
            state_dir=directory,
            schedule=f'schedule = "{schedule}"' if schedule else "",
            sync=sync,
            base_url=base_url,
            rule=rule,
            segments=segments,
        )
    )
    return path


SALESFORCE_CONFIG = """
connector = "salesforce"

[salesforce]
instance_url = "{instance_url}"
ca_bundle = "{ca_bundle}"
permission_set = "Segsync_Integration"
timeout_seconds = 10

[sync]
state_dir = "{state_dir}"
segment_property = "{segment_property}"
segments_property = "{segments_property}"
reason_property = "{reason_property}"

[[segments]]
name = "{segment}"
priority = 10
rule = 'Employees__c >= 50'
"""


def write_salesforce_config(
    directory: Path,
    org: SalesforceSandbox,
    *,
    segment: str = "Big",
    segment_property: str = "Segsync_Segment__c",
    segments_property: str = "Segsync_Segments__c",
    reason_property: str = "Segsync_Reason__c",
) -> Path:
    """A config syncing one segment (``Employees__c >= 50``) into the sandbox org, by session."""
    path = directory / "segsync.toml"
    path.write_text(
        SALESFORCE_CONFIG.format(
            instance_url=org.instance_url,
            ca_bundle=org.ca_path,
            state_dir=directory,
            segment=segment,
            segment_property=segment_property,
            segments_property=segments_property,
            reason_property=reason_property,
        )
    )
    return path


READ_ROUTES = frozenset({"POST /crm/v3/objects/contacts/search"})
"""The one HubSpot read that is a POST."""


def writes_among(calls: Counter[str]) -> dict[str, int]:
    """The calls that change something in the CRM (every route but GETs and search)."""
    return {
        route: count
        for route, count in calls.items()
        if not route.startswith("GET ") and route not in READ_ROUTES
    }


@pytest.fixture
def connector(crm: HubSpotSandbox) -> Iterator[HubSpotConnector]:
    hubspot = HubSpotConnector(hubspot_settings(crm))
    yield hubspot
    hubspot.close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A local webhook for alerts to POST to; it records every body."""
    with serve_webhook() as hook:
        yield hook


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the example plugin, installed once per test module that asks."""
    target = tmp_path_factory.mktemp("site")
    install_plugin(target)
    return target


@dataclass(frozen=True)
class DemoRun:
    """What ``segsync demo --contacts 300`` printed (whitespace runs folded to one space, as a
    terminal's wrapping is no content) and the report it wrote."""

    exit_code: int
    output: str
    text: str
    report: str


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The demo, run once for every test that reads what it shows: each run takes ~10 s."""
    report = tmp_path_factory.mktemp("demo") / "demo.html"
    result = CliRunner().invoke(app, ["demo", "--contacts", "300", "--report", str(report)])
    html = report.read_text() if report.exists() else ""
    return DemoRun(result.exit_code, result.output, " ".join(result.output.split()), html)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; the tests that need it skip where none can run."""
    server = PostgresServer()
    if not server.available:
        pytest.skip("PostgreSQL is not installed (`make test` installs Debian's postgresql)")
    try:
        server.start()
    except (OSError, KeyError, subprocess.CalledProcessError) as exc:
        server.stop()
        pytest.skip(f"PostgreSQL could not start here: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    database = f"segsync_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return postgres.url(database)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty state store database on each backend segsync supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))
