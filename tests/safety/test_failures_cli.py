"""``segsync failures`` lists the records the CRM refused; ``segsync failures retry`` clears
them (all, or the contacts named) so the next run writes them again (issue #10, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config
from tests.expectations import sync
from tests.safety.refusals import SEGMENTS, assert_written_big, failures, refused_mid_run

runner = CliRunner()


@pytest.fixture
def refused(
    crm: HubSpotSandbox,
    connector: HubSpotConnector,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, str]:
    """A sync whose Big contact was refused, the field restored since: (contact id, config)."""
    big, before = refused_mid_run(crm, connector, tmp_path, monkeypatch)
    crm.store.put_property(before)
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    return big, str(write_hubspot_config(tmp_path, crm.base_url))


def test_failures_lists_each_refused_record_as_json_and_as_a_table(
    refused: tuple[str, str],
) -> None:
    big, config = refused

    listed = runner.invoke(app, ["failures", "--config", config, "--json"])

    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    message = row.pop("message")
    assert row == {
        "contact_id": big,
        "code": "INVALID_OPTION",
        "retryable": False,
        "attempts": 1,
        "last_run": 1,
    }
    assert message.startswith("HubSpot batch update contacts: HTTP 400: Property values were")
    assert "Big was not one of the allowed options" in message
    table = runner.invoke(app, ["failures", "--config", config], terminal_width=200)
    assert table.exit_code == 0
    [line] = [line for line in table.output.splitlines() if line.strip().startswith(big)]
    assert line.split()[:2] == [big, "INVALID_OPTION"]
    assert line.split()[-3:] == ["no", "1", "1"]


def test_failures_retry_of_a_contact_clears_it_and_the_next_run_writes_it(
    refused: tuple[str, str], crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    big, config = refused
    calls = crm.calls["POST /crm/v3/objects/contacts/batch/update"]

    cleared = runner.invoke(app, ["failures", "--config", config, "retry", big])

    assert cleared.exit_code == 0, cleared.output
    assert cleared.output == (
        "Cleared 1 refused record of sync 'default': the next run writes it again.\n"
    )
    assert failures(tmp_path) == []
    assert crm.calls["POST /crm/v3/objects/contacts/batch/update"] == calls  # nothing written yet
    outcome = sync(connector, crm, tmp_path, segments=SEGMENTS)
    assert outcome.result is not None and outcome.result.written == {big}
    assert_written_big(crm, tmp_path, big)
    empty = runner.invoke(app, ["failures", "--config", config])
    assert empty.output == "No refused records in sync 'default'.\n"


def test_failures_retry_without_ids_clears_all(refused: tuple[str, str], tmp_path: Path) -> None:
    _big, config = refused

    cleared = runner.invoke(app, ["failures", "--config", config, "retry"])

    assert cleared.exit_code == 0, cleared.output
    assert cleared.output.startswith("Cleared 1 refused record of sync 'default'")
    assert failures(tmp_path) == []


def test_failures_retry_of_an_unknown_contact_is_exit_2_and_clears_nothing(
    refused: tuple[str, str], tmp_path: Path
) -> None:
    big, config = refused

    result = runner.invoke(app, ["failures", "--config", config, "retry", big, "424242"])

    assert result.exit_code == 2
    assert result.output.strip() == (
        "Not found: no refused record for contact 424242 in sync 'default'; "
        "`segsync failures` lists them"
    )
    assert [f.contact_id for f in failures(tmp_path)] == [big]
