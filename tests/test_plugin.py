"""A third-party connector, installed as its own package, is found and run by segsync."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.plugin import PLUGIN, installed, segsync


def test_the_installed_plugin_is_listed(plugin_path: Path) -> None:
    listed = segsync(plugin_path, "connectors")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [
        "csvcrm",
        "segsync_csvcrm:CsvCrmConnector",
        "hubspot",
        "connectors.hubspot:HubSpotConnector",
        "salesforce",
        "connectors.salesforce:SalesforceConnector",
    ]


def test_segsync_syncs_through_the_plugin(plugin_path: Path, tmp_path: Path) -> None:
    with (tmp_path / "contacts.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "email", "employees"])
        writer.writerows([[str(n), f"p{n}@example.com", str(n * 100)] for n in range(1, 121)])
    config = tmp_path / "segsync.toml"
    config.write_text(
        f'connector = "csvcrm"\n[sync]\nstate_dir = "{tmp_path}"\n[csvcrm]\ndirectory = "{tmp_path}"\n'
        '[[segments]]\nname = "Big"\npriority = 1\nrule = "employees >= 10000"\n'
    )
    first = segsync(plugin_path, "sync", "--config", str(config))
    assert first.returncode == 0, first.stderr
    state = json.loads((tmp_path / "crm.json").read_text())
    assert state["lists"]["segsync: Big"] == [str(n) for n in range(100, 121)]
    assert state["values"]["100"]["segsync_segment"] == "Big"
    assert "99" not in state["values"]
    second = segsync(plugin_path, "sync", "--config", str(config), "--json")
    assert json.loads(second.stdout)["property_writes"] == 0


def test_the_plugin_passes_segsyncs_connector_contract(
    plugin_path: Path, tmp_path: Path
) -> None:
    """The plugin's own tests run segsync's test kit, as a third party's would: from outside
    this repository (its pytest root is the plugin's), against the installed plugin."""
    tests = PLUGIN / "tests"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", str(tests)]
    run = subprocess.run(
        command, cwd=tmp_path, env=installed(plugin_path), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"rootdir: {PLUGIN}" in run.stdout.splitlines()
    summary = run.stdout.splitlines()[-1]
    assert re.fullmatch(r"=+ 6 passed, 2 skipped in .+ =+", summary), run.stdout
    skipped = [line.split(": ", 1)[1] for line in run.stdout.splitlines() if "SKIPPED" in line]
    assert skipped == [
        "the connector cannot count contacts (optional)",
        "the connector cannot read deletions (optional)",
    ]


def test_an_unknown_section_is_a_configuration_error(tmp_path: Path) -> None:
    from sync.config import ConfigError, load_settings

    config = tmp_path / "segsync.toml"
    config.write_text('[hubspott]\nbase_url = "x"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'hubspott': neither a segsync setting"):
        load_settings(config)
