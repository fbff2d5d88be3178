"""The two optional CRM fields of a move: the previous primary segment and the date it
changed, written only when the primary segment changes, in the same write as the segment, and
owned by segsync like its other fields (HubSpot and Salesforce)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config, writes_among
from tests.expectations import salesforce_org, sync, sync_salesforce
from tests.support.migration import ENGAGED, plant_a_week, seed_segments

MOVE_FIELDS = {
    "previous_segment_property": "segsync_previous_segment",
    "segment_changed_property": "segsync_segment_changed_at",
}
MONDAY = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 3, 9, 23, 59, tzinfo=UTC)


def moved_fields(values: dict[str, str | None]) -> tuple[str | None, str | None, str | None]:
    return (
        values["segsync_segment"],
        values["segsync_previous_segment"],
        values["segsync_segment_changed_at"],
    )


def test_hubspot_holds_the_previous_segment_and_the_date_of_each_move(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = seed_segments(crm)
    sync(connector, crm, tmp_path, now=MONDAY, sync_options=MOVE_FIELDS)
    who = plant_a_week(crm, ids)
    sync(connector, crm, tmp_path, now=NEXT_MONDAY, force=True, sync_options=MOVE_FIELDS)

    contact = crm.store.contact
    assert moved_fields(contact(who["moved_to_engaged"][0])) == ("Engaged", "Big", "2026-03-09")
    assert moved_fields(contact(who["moved_out"][0])) == (None, "Big", "2026-03-09")
    assert moved_fields(contact(ids[None][0])) == ("Engaged", None, "2026-03-09")
    assert moved_fields(contact(who["repaired"][0])) == ("Big", None, "2026-03-02")
    for unmoved in who["unmoved"][:-1]:  # the last one never had a segment
        assert moved_fields(contact(unmoved))[1:] == (None, "2026-03-02")
    assert moved_fields(contact(who["unmoved"][-1])) == (None, None, None)
    definitions = {p["name"]: p for p in crm.store.properties()}
    changed = definitions["segsync_segment_changed_at"]
    previous = definitions["segsync_previous_segment"]
    assert (changed["type"], changed["fieldType"], changed["groupName"]) == ("date", "date", "segsync")
    assert (previous["type"], previous["groupName"]) == ("string", "segsync")


def test_salesforce_holds_the_previous_segment_and_the_date_of_each_move(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    fields = {
        "previous_segment_property": "Previous_Segment__c",
        "segment_changed_property": "Segment_Changed_On__c",
    }
    big = sf_box.store.insert("Contact", {"LastName": "Big", "Employees__c": 500}).id
    engaged = sf_box.store.insert("Contact", {"LastName": "Eng", "Email_Opens__c": 9}).id
    with salesforce_org(sf_box) as connector:
        sync_salesforce(connector, tmp_path, now=MONDAY, sync_options=fields)
        sf_box.store.set_fields("Contact", big, {"Employees__c": 10, "Email_Opens__c": 7})
        sync_salesforce(connector, tmp_path, now=NEXT_MONDAY, force=True, sync_options=fields)

    def moved(contact_id: str) -> tuple[str | None, ...]:
        record = sf_box.store.record("Contact", contact_id)
        return tuple(record[name] for name in ("Segment__c", *fields.values()))

    assert moved(big) == ("Engaged", "Big", "2026-03-09")
    assert moved(engaged) == ("Engaged", None, "2026-03-02")
    changed_on = sf_box.store.known_schema("Contact").field("Segment_Changed_On__c")
    assert changed_on is not None and changed_on.type == "date"


def test_a_move_field_that_is_someone_elses_stops_the_run_before_any_write(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.store.add_contacts([ENGAGED])
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    path = write_hubspot_config(
        tmp_path, crm.base_url, sync='segment_changed_property = "createdate"'
    )

    result = CliRunner().invoke(app, ["sync", "--config", str(path)])

    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Configuration error: {path}: [sync] segment_changed_property = 'createdate' is a "
        "field the CRM itself defines, and segsync writes only fields it created: set a name "
        "no field has yet, and the first sync creates it"
    )
    assert writes_among(crm.calls) == {}


def test_a_move_field_named_like_another_segsync_field_stops_the_run(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.store.add_contacts([ENGAGED])
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    path = write_hubspot_config(
        tmp_path, crm.base_url, sync='previous_segment_property = "segsync_segment"'
    )

    result = CliRunner().invoke(app, ["sync", "--config", str(path)])

    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Configuration error: {path}: [sync] previous_segment_property = 'segsync_segment' "
        "is the field segment_property names already: give each of segsync's fields a name of "
        "its own"
    )
    assert writes_among(crm.calls) == {}


def test_check_fails_on_a_move_field_that_is_someone_elses(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    path = write_hubspot_config(tmp_path, crm.base_url, sync='previous_segment_property = "city"')

    result = CliRunner().invoke(app, ["check", "--config", str(path), "--json"])

    report = json.loads(result.output)
    assert (result.exit_code, report["problem"]) == (2, "config")
    [row] = [row for row in report["checks"] if row["name"] == "segsync fields"]
    assert row["status"] == "failed"
    assert "previous_segment_property = 'city' is a field the CRM itself defines" in row["detail"]
