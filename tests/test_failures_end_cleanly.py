"""Every failure is one line, its own exit code and an alert, never a traceback on the screen;
and the crashes found in unattended runs are gone (issue #11, item 4)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import requests
from typer.testing import CliRunner

import sync.pipeline
from connectors.sandbox import HubSpotSandbox
from segment_core.audit import audit
from segment_core.coerce import coerce_frame
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config, writes_among
from tests.support.webhook import Webhook

runner = CliRunner()


@pytest.fixture(autouse=True)
def token_and_crash_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    monkeypatch.setenv("SEGSYNC_CRASH_DIR", str(tmp_path / "crashes"))
    return tmp_path / "crashes"


def lines(output: str) -> list[str]:
    return [line for line in output.strip().splitlines() if line.strip()]


def explode(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("planner exploded on [/] token=pat-na1-leak")


def test_an_unexpected_error_is_one_line_a_private_traceback_exit_8_and_an_alert(
    crm: HubSpotSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: Webhook,
) -> None:
    crm.seed_contacts(20, seed=101)
    config = write_hubspot_config(tmp_path, crm.base_url)
    monkeypatch.setenv("SEGSYNC_ALERTS__WEBHOOK_URL", webhook.url)
    monkeypatch.setattr(sync.pipeline, "build_plan", explode)

    result = runner.invoke(app, ["sync", "--config", str(config)])

    assert result.exit_code == 8
    line = lines(result.output)[-1]  # after the progress bars
    [report] = sorted((tmp_path / "crashes").iterdir())
    assert line == (
        "Unexpected error: RuntimeError: planner exploded on [/] token=[secret] (a bug in "
        f"segsync; traceback in {report})"
    )
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    traceback = report.read_text()
    assert "Traceback (most recent call last)" in traceback and "in explode" in traceback
    assert "pat-na1-leak" not in traceback
    [alert] = webhook.bodies
    assert "failed" in alert["text"] and "planner exploded" in alert["text"]
    assert writes_among(crm.calls) == {}


def test_schedule_once_goes_on_after_a_crash_and_exits_with_its_code(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.seed_contacts(20, seed=102)
    crashing = write_hubspot_config(tmp_path, crm.base_url, name="crashing", schedule="0 6 * * *")
    working = write_hubspot_config(tmp_path, crm.base_url, name="nightly", schedule="0 6 * * *")
    real_build_plan = sync.pipeline.build_plan

    def explode_for_crashing(**kwargs: object) -> object:
        if kwargs["options"].name == "crashing":  # type: ignore[attr-defined]
            explode()
        return real_build_plan(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sync.pipeline, "build_plan", explode_for_crashing)
    result = runner.invoke(app, ["schedule", "-c", str(crashing), "-c", str(working), "--once"])
    assert result.exit_code == 8
    assert "Unexpected error: RuntimeError: planner exploded" in result.output
    [run] = json.loads(runner.invoke(app, ["runs", "--config", str(working), "--json"]).output)
    assert run["status"] == "done"


CLUSTER_CONFIG = """
[sync]
state_dir = "{state}"

[hubspot]
base_url = "{url}"

[[segments]]
name = "Big"
priority = 10
rule = "employees >= 50"

[[clusters]]
name = "Size"
priority = 1
numeric = ["employees"]
n_clusters = 2
"""


def test_infinite_and_huge_numbers_in_a_cluster_field_read_as_missing_and_are_audited(
    crm: HubSpotSandbox, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(60, seed=103)
    for contact_id, value in zip(ids, ("inf", "1e309", "1e200"), strict=False):
        crm.store.set_properties(contact_id, {"employees": value})
    config = tmp_path / "segsync.toml"
    config.write_text(CLUSTER_CONFIG.format(state=tmp_path, url=crm.base_url))

    result = runner.invoke(app, ["sync", "--config", str(config), "--json"])

    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["audit"]["unparsable_cells"] == {"employees": 3}
    assert all(crm.store.contact(i).get("segsync_segments") for i in ids[3:])


def test_audit_flags_dates_far_in_the_future() -> None:
    raw = pd.DataFrame(
        {"closedate": ["2026-11-30", "2031-01-01", "2299-05-05T00:00:00Z", None]},
        index=["1", "2", "3", "4"],
    )
    frame = coerce_frame(raw, {"closedate": "datetime"})
    report = audit(frame, now=datetime(2026, 12, 2, tzinfo=UTC))
    [found] = report.future_dates
    assert (found.field, found.count, found.latest) == ("closedate", 2, "2299-05-05T00:00:00+00:00")
    assert "closedate: 2 dates are far in the future (latest 2299-05-05T00:00:00+00:00)" in (
        report.summary()
    )


def test_a_corrupt_state_database_is_one_line_and_exit_9(crm: HubSpotSandbox, tmp_path: Path) -> None:
    crm.seed_contacts(20, seed=104)
    config = write_hubspot_config(tmp_path, crm.base_url)
    assert runner.invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    database = tmp_path / "state.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    calls_before = crm.calls.copy()

    result = runner.invoke(app, ["sync", "--config", str(config)])

    assert result.exit_code == 9, result.output
    assert lines(result.output) == [
        "State store: cannot be used: file is not a database"
    ]
    assert writes_among(crm.calls - calls_before) == {}


def test_an_unknown_opt_out_field_is_a_config_error_for_sync_and_check(
    crm: HubSpotSandbox, tmp_path: Path
) -> None:
    crm.seed_contacts(10, seed=105)
    config = write_hubspot_config(tmp_path, crm.base_url)
    config.write_text(
        config.read_text().replace("[sync]\n", '[sync]\nopt_out_field = "hs_email_optot"\n')
    )
    expected = (
        'sync.opt_out_field: unknown field "hs_email_optot", so opted-out contacts could not be '
        'kept out of lists (did you mean "hs_email_optout"?)'
    )
    result = runner.invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 2
    assert expected in " ".join(result.output.split())
    assert writes_among(crm.calls) == {}
    checked = runner.invoke(app, ["check", "--config", str(config), "--json"])
    assert checked.exit_code == 2
    printed = json.dumps(json.loads(checked.output), ensure_ascii=False)
    assert expected in printed.replace('\\"', '"')


@pytest.mark.parametrize(
    ("depth", "message"), [(60, "nests more than 50 levels deep"), (3000, "nests too deeply")]
)
def test_a_deeply_nested_toml_rule_is_a_config_error(
    crm: HubSpotSandbox, tmp_path: Path, depth: int, message: str
) -> None:
    rule = '{field = "employees", op = ">=", value = 50}'
    for _ in range(depth):
        rule = f"{{not = {rule}}}"
    config = write_hubspot_config(tmp_path, crm.base_url)
    text = config.read_text()
    start = text.index("rule = ")
    config.write_text(text[:start] + f"rule = {rule}\n")
    result = runner.invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert writes_among(crm.calls) == {}


@pytest.mark.parametrize(
    ("garbled", "route"),
    [
        ("html_answer", "GET /crm/v3/objects/contacts"),
        ("empty_answer", "GET /crm/v3/objects/contacts"),
        ("empty_answer", "POST /crm/v3/objects/contacts/search"),
        ("html_answer", "POST /crm/v3/objects/contacts/search"),
        ("empty_answer", "GET /crm/v3/properties/contacts"),
        ("html_answer", "GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}"),
    ],
)
def test_a_read_answered_200_with_html_or_empty_json_is_retried_not_believed(
    crm: HubSpotSandbox, tmp_path: Path, garbled: str, route: str
) -> None:
    ids = crm.seed_contacts(30, seed=106)
    config = write_hubspot_config(tmp_path, crm.base_url)
    crm.inject_faults(garbled, route=route)  # type: ignore[arg-type]

    result = runner.invoke(app, ["sync", "--config", str(config)])

    assert result.exit_code == 0, result.output
    big = {i for i in ids if float(crm.store.contact(i).get("employees") or 0) >= 50}
    assert {i for i in ids if crm.store.contact(i).get("segsync_segment") == "Big"} == big
    [big_list] = [crm.store.list_by_name("segsync: Big")]
    assert big_list is not None and crm.store.list_members(big_list["listId"]) == big
    statuses = [r.status for r in crm.call_log if r.route == route]
    assert statuses[0] == 200 and len(statuses) >= 2  # the garbled 200, then the real answer


def test_a_salesforce_answer_that_is_not_json_is_transient() -> None:
    from connectors.base import Transient
    from connectors.salesforce.errors import translate

    page = requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0)
    error = translate(page, "read Contacts", (), None)
    assert isinstance(error, Transient)
    assert str(error) == "Salesforce read Contacts: the answer was not Salesforce's JSON"
