"""README's Kubernetes CronJob: its command line and environment, run as written against the
sandbox CRM and a shared PostgreSQL state store, twice (two pods, one after the other)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config, writes_among

README = Path(__file__).resolve().parent.parent / "README.md"


def cronjob() -> str:
    text = README.read_text()
    start = text.index("kind: CronJob")
    return text[start : text.index("```", start)]


def test_the_readme_cronjob_command_line_syncs_through_a_shared_postgresql_store(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    job = cronjob()
    args = json.loads(re.search(r"args: (\[.*\])", job).group(1))  # type: ignore[union-attr]
    env_names = re.findall(r"- name: (SEGSYNC_\w+)", job)
    assert args[0] == "segsync" and env_names == [
        "SEGSYNC_SYNC__STATE_URL",
        "SEGSYNC_HUBSPOT__TOKEN",
    ]
    values = {"SEGSYNC_SYNC__STATE_URL": postgres_url, "SEGSYNC_HUBSPOT__TOKEN": TOKEN}
    for name in env_names:
        monkeypatch.setenv(name, values[name])
    config = write_hubspot_config(tmp_path, crm.base_url)
    command = [str(config) if part == "/etc/segsync/segsync.toml" else part for part in args[1:]]
    ids = crm.seed_contacts(80, seed=111)

    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    big = {i for i in ids if float(crm.store.contact(i).get("employees") or 0) >= 50}
    assert 0 < len(big) < len(ids)
    assert {i for i in ids if crm.store.contact(i).get("segsync_segment") == "Big"} == big
    assert crm.store.list_members(crm.store.list_by_name("segsync: Big")["listId"]) == big
    calls_before = crm.calls.copy()
    second = CliRunner().invoke(app, command)  # the next night's pod, same shared store
    assert second.exit_code == 0, second.output
    assert writes_among(crm.calls - calls_before) == {}
    assert not (tmp_path / "state.db").exists()  # the state lives in PostgreSQL
