"""segsync writes only its own fields (issue #10, item 1).

``segment_property``, ``segments_property`` and ``reason_property`` pointed at a field segsync
did not create, or at a name the CRM refuses, stop ``check`` and ``sync`` (dry or not) with
exit 2 and one line naming the field, before any write: the CRM's fields, options and values
are exactly as they were, and its call log holds no write at all. Who created a field is read
from the CRM, so a fresh state store changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hubspot import HubSpot
from hubspot.crm.properties.exceptions import ApiException
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from connectors.sandbox.salesforce.custom_fields import define_field
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config, write_salesforce_config, writes_among

runner = CliRunner()

# Fields are known as segsync's by the CRM, lists by the state store: the tests that start a
# second, fresh state store on a CRM segsync already synced adopt its lists.
# Fields are known as segsync's by the CRM, lists by the state store: the tests that start a
# second, fresh state store on a CRM segsync already synced adopt its lists.
ADOPTED = 'adopt_lists = ["segsync: Big", "segsync: Small"]'
SMALL = """
[[segments]]
name = "Small"
priority = 5
rule = 'employees < 50'
"""


def hubspot_config(tmp_path: Path, crm: HubSpotSandbox, key: str, field: str) -> Path:
    sync = f'{key} = "{field}"\n{ADOPTED}'
    return write_hubspot_config(tmp_path, crm.base_url, sync=sync, segments=SMALL)


@pytest.fixture
def portal(crm: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> HubSpotSandbox:
    crm.seed_contacts(40, seed=101)
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    return crm


def snapshot(crm: HubSpotSandbox) -> tuple[list[dict[str, object]], dict[int, dict[str, str]]]:
    """Every property definition and every contact's values: the portal's whole state."""
    with crm.store.transaction():
        contacts = {r.id: dict(r.values) for r in crm.store.contacts_from(0, archived=False)}
    return crm.store.properties(), contacts


def run(command: str, path: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, [command, "--config", str(path), *extra])
    return result.exit_code, result.output.strip()


@pytest.mark.parametrize("command", [["sync"], ["sync", "--dry-run"]])
def test_a_hubspot_defined_property_is_never_written(
    portal: HubSpotSandbox, tmp_path: Path, command: list[str]
) -> None:
    before = snapshot(portal)
    path = hubspot_config(tmp_path, portal, "segment_property", "city")
    code, output = run(command[0], path, *command[1:])
    assert code == 2
    assert output == (
        f"Configuration error: {path}: [sync] segment_property = 'city' is a field the CRM "
        "itself defines, and segsync writes only fields it created: set a name no field has "
        "yet, and the first sync creates it"
    )
    assert snapshot(portal) == before  # city untouched on every contact
    assert writes_among(portal.calls) == {}


def test_no_segment_name_becomes_an_option_of_lifecyclestage(
    portal: HubSpotSandbox, tmp_path: Path
) -> None:
    stages = portal.store.property("lifecyclestage")
    before = snapshot(portal)
    path = hubspot_config(tmp_path, portal, "segments_property", "lifecyclestage")
    code, output = run("sync", path)
    assert code == 2
    assert "segments_property = 'lifecyclestage' is a field the CRM itself defines" in output
    assert portal.store.property("lifecyclestage") == stages
    assert snapshot(portal) == before
    assert writes_among(portal.calls) == {}


def test_a_custom_property_of_another_group_is_not_segsyncs(
    portal: HubSpotSandbox, tmp_path: Path
) -> None:
    """``employees`` is the portal's own custom property: not HubSpot's, not in segsync's group."""
    before = snapshot(portal)
    code, output = run("sync", hubspot_config(tmp_path, portal, "reason_property", "employees"))
    assert code == 2
    assert output.endswith(
        "[sync] reason_property = 'employees' is a field segsync did not create (another app's "
        "or a person's), and segsync writes only fields it created: set a name no field has "
        "yet, and the first sync creates it"
    )
    assert snapshot(portal) == before
    assert writes_among(portal.calls) == {}


def test_check_says_not_ready_for_a_field_that_is_not_segsyncs(
    portal: HubSpotSandbox, tmp_path: Path
) -> None:
    path = hubspot_config(tmp_path, portal, "segment_property", "city")
    code, output = run("check", path, "--json")
    report = json.loads(output)
    assert (code, report["ok"], report["problem"]) == (2, False, "config")
    [row] = [row for row in report["checks"] if row["name"] == "segsync fields"]
    assert row["status"] == "failed"
    assert "segment_property = 'city' is a field the CRM itself defines" in row["detail"]
    assert writes_among(portal.calls) == {"POST /oauth/v2/private-apps/get/access-token-info": 1}


def test_a_property_name_hubspot_refuses_stops_before_any_write(
    portal: HubSpotSandbox, tmp_path: Path
) -> None:
    before = snapshot(portal)
    path = hubspot_config(tmp_path, portal, "segment_property", "Segsync_Segment")
    code, output = run("sync", path)
    assert code == 2
    assert output == (
        f"Configuration error: {path}: [sync] segment_property = 'Segsync_Segment' is not a "
        "field name the CRM accepts: HubSpot property names are lower-case letters, digits "
        "and underscores, starting with a letter (e.g. segsync_segment)"
    )
    assert snapshot(portal) == before
    assert writes_among(portal.calls) == {}


def test_the_sandbox_refuses_a_property_name_hubspot_refuses(portal: HubSpotSandbox) -> None:
    client = HubSpot(access_token=TOKEN, host=portal.base_url, retry=False)
    body = {
        "name": "Segsync_Segment",
        "label": "Segment",
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
    }
    with pytest.raises(ApiException) as refused:
        client.crm.properties.core_api.create("contacts", body)
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["category"] == "VALIDATION_ERROR"
    assert portal.store.property("Segsync_Segment") is None


def test_segsyncs_own_properties_are_recognised_with_a_fresh_state_store(
    portal: HubSpotSandbox, tmp_path: Path
) -> None:
    """Ownership comes from the CRM (group ``segsync``), not from what the state remembers."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    assert run("sync", hubspot_config(first, portal, "segment_property", "segsync_segment"))[0] == 0
    path = hubspot_config(second, portal, "segment_property", "segsync_segment")
    code, output = run("sync", path)
    assert code == 0, output


# -- Salesforce ------------------------------------------------------------------------------



@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as box:
        box.seed_contacts(30, seed=102)
        monkeypatch.setenv("SEGSYNC_SALESFORCE__SESSION_ID", box.session_id)
        yield box


def salesforce_config(tmp_path: Path, org: SalesforceSandbox, segment: str) -> Path:
    """The org's config with ``segment`` as the segment property; it adopts the Big campaign,
    as a fresh state store must when a run with another store already created it."""
    path = write_salesforce_config(tmp_path, org, segment_property=segment)
    adopting = 'adopt_lists = ["segsync: Big"]\n\n[[segments]]'
    path.write_text(path.read_text().replace("[[segments]]", adopting))
    return path


def org_writes(org: SalesforceSandbox) -> list[str]:
    return [call.route for call in org.call_log if not call.route.startswith("GET ")]


def contacts(org: SalesforceSandbox) -> dict[str, dict[str, object]]:
    return {row.id: dict(row.values) for row in org.store.rows("Contact")}


def test_a_custom_picklist_segsync_did_not_create_is_never_written(
    org: SalesforceSandbox, tmp_path: Path
) -> None:
    industry = org.store.schema("Contact").field("Industry__c")
    before = contacts(org)
    path = salesforce_config(tmp_path, org, "Industry__c")
    code, output = run("sync", path)
    assert code == 2
    assert output == (
        f"Configuration error: {path}: [sync] segment_property = 'Industry__c' is a field "
        "segsync did not create (another app's or a person's), and segsync writes only fields "
        "it created: set a name no field has yet, and the first sync creates it"
    )
    assert org.store.schema("Contact").field("Industry__c") == industry  # no value added
    assert contacts(org) == before
    assert org_writes(org) == []


def test_a_standard_field_is_the_crms(org: SalesforceSandbox, tmp_path: Path) -> None:
    before = contacts(org)
    code, output = run("sync", salesforce_config(tmp_path, org, "LeadSource"))
    assert code == 2
    assert "segment_property = 'LeadSource' is a field the CRM itself defines" in output
    assert contacts(org) == before
    assert org_writes(org) == []


def test_a_field_name_salesforce_refuses_stops_before_any_write(
    org: SalesforceSandbox, tmp_path: Path
) -> None:
    path = salesforce_config(tmp_path, org, "Segsync__Segment__c")
    code, output = run("sync", path)
    assert code == 2
    assert output == (
        f"Configuration error: {path}: [sync] segment_property = 'Segsync__Segment__c' is not "
        "a field name the CRM accepts: Salesforce custom field names are letters, digits and "
        "single underscores, start with a letter and do not end with an underscore before __c"
    )
    assert org_writes(org) == []


def test_salesforce_fields_segsync_created_pass_with_a_fresh_state_store(
    org: SalesforceSandbox, tmp_path: Path
) -> None:
    """The help text segsync gives its fields marks them as its own in every describe."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    assert run("sync", salesforce_config(first, org, "Segsync_Segment__c"))[0] == 0
    code, output = run("sync", salesforce_config(second, org, "Segsync_Segment__c"))
    assert code == 0, output


def test_a_field_an_older_segsync_created_keeps_working(
    org: SalesforceSandbox, tmp_path: Path
) -> None:
    """Before fields carried segsync's help text, its labels ended in "(segsync)"."""
    older = {
        "label": "Segment (segsync)",
        "description": "The contact's primary segment, chosen by segment priority.",
        "type": "Picklist",
        "valueSet": {"restricted": True, "valueSetDefinition": {"value": [{"fullName": "Big"}]}},
    }
    define_field(org.store, "Contact.Segsync_Segment__c", older, "create")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for state in (first, second):  # the first run grants the field; the second then sees it
        code, output = run("sync", salesforce_config(state, org, "Segsync_Segment__c"))
        assert code == 0, output
    field = org.store.schema("Contact").field("Segsync_Segment__c")
    assert (field.label, field.help_text) == ("Segment (segsync)", None)
