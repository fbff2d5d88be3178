"""``segsync check``: the config, the credentials and every permission, without writing."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from connectors.sandbox.hubspot.api import HubSpotApi
from connectors.sandbox.hubspot.scopes import ALL_SCOPES, ROUTE_SCOPES, TOKEN_INFO_PATH
from connectors.sandbox.hubspot.store import HubSpotStore
from connectors.sandbox.server import Router
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config, write_salesforce_config, writes_among
from tests.support.check import check, details, statuses
from tests.support.plugin import segsync

runner = CliRunner()


TOKEN_INFO = f"POST {TOKEN_INFO_PATH}"


def test_every_sandbox_route_needs_a_scope() -> None:
    router = Router()
    HubSpotApi(HubSpotStore()).register(router)
    assert set(router.route_keys()) == set(ROUTE_SCOPES)


def test_a_ready_config_passes_every_check_and_writes_nothing(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.seed_contacts(20, seed=31)
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    code, report = check(write_hubspot_config(tmp_path, crm.base_url))
    assert (code, report["ok"], report["problem"]) == (0, True, None)
    assert set(statuses(report).values()) == {"ok"}
    assert list(statuses(report)) == [
        "configuration",
        "reach the CRM",
        "read contacts",
        "read property segsync_segment",
        "read property segsync_segments",
        "read property segsync_reason",
        "read lists",
        "write contacts",
        "create properties",
        "manage lists",
        "segsync fields",
        "segment rules",
        "segment lists",
    ]
    assert details(report)["read property segsync_segment"] == (
        "not created yet: the first sync creates it"
    )
    assert writes_among(crm.calls) == {TOKEN_INFO: 1}  # a read that HubSpot makes a POST


def test_missing_scopes_are_named_with_where_to_grant_them_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    granted = ALL_SCOPES - {"crm.lists.read", "crm.lists.write"}
    with HubSpotSandbox(token=TOKEN, scopes=granted) as crm:
        monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
        path = write_hubspot_config(tmp_path, crm.base_url)
        code, report = check(path)
        table = runner.invoke(app, ["check", "--config", str(path)])
    assert (code, report["problem"]) == (3, "auth")
    failed = {name for name, status in statuses(report).items() if status == "failed"}
    assert failed == {"read lists", "manage lists"}
    assert details(report)["read lists"] == (
        "give the token the scope crm.lists.read (a Service Key: HubSpot Settings → "
        "Integrations → Service Keys → the key → Scopes; a private app made before October "
        "2026: Settings → Integrations → Private Apps → the app → Scopes, then commit the "
        "change)"
    )
    assert "the scope crm.lists.write" in details(report)["manage lists"]
    assert statuses(report)["segment rules"] == "ok"
    assert table.exit_code == 3
    text = " ".join(table.output.split())
    assert "read lists failed give the token the scope crm.lists.read (a Service Key:" in text
    assert table.output.rstrip().endswith("The config is NOT ready to sync.")


def test_a_service_key_is_not_bad_credentials_and_its_write_scopes_are_probed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    granted = ALL_SCOPES - {"crm.lists.write"}
    with HubSpotSandbox(token=TOKEN, scopes=granted, service_key=True) as crm:
        ids = crm.seed_contacts(5, seed=31)
        monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
        code, report = check(write_hubspot_config(tmp_path, crm.base_url))
        contacts_after = [crm.store.contact(i) for i in ids]
        groups = crm.store.groups()
    assert (code, report["problem"]) == (3, "auth")
    assert "credentials" not in statuses(report)  # only a failed login gets that row
    assert statuses(report)["read contacts"] == "ok"
    assert {name: statuses(report)[name] for name in ("write contacts", "create properties")} == {
        "write contacts": "ok",
        "create properties": "ok",
    }
    assert details(report)["write contacts"] == (
        "scope crm.objects.contacts.write (a deliberately empty request was refused as invalid, "
        "not for its scope; no token info)"
    )
    assert statuses(report)["manage lists"] == "failed"
    assert "the scope crm.lists.write (a Service Key" in details(report)["manage lists"]
    assert all(values.get("segsync_segment") is None for values in contacts_after)
    assert [g["name"] for g in groups if g["name"] == "segsync"] == []  # nothing was created


def test_a_wrong_token_fails_the_credentials_with_exit_3(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", "pat-na1-wrong")
    result = runner.invoke(
        app, ["check", "--config", str(write_hubspot_config(tmp_path, crm.base_url))]
    )
    assert result.exit_code == 3
    code, report = check(write_hubspot_config(tmp_path, crm.base_url))
    assert statuses(report) == {"configuration": "ok", "credentials": "failed"}
    assert details(report)["credentials"].startswith("HubSpot rejected the access token (401)")
    assert "pat-na1-wrong" not in result.output


def test_a_missing_token_fails_the_credentials_with_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEGSYNC_HUBSPOT__TOKEN", raising=False)
    code, report = check(write_hubspot_config(tmp_path, "http://127.0.0.1:9"))
    assert (code, report["problem"]) == (3, "auth")
    assert details(report)["credentials"].startswith("No HubSpot token: set SEGSYNC_HUBSPOT__TOKEN")


def test_a_config_error_is_exit_2(tmp_path: Path) -> None:
    code, report = check(tmp_path / "missing.toml")
    assert (code, report["problem"]) == (2, "config")
    assert statuses(report) == {"configuration": "failed"}
    assert "no such config file" in details(report)["configuration"]


def test_a_rule_on_an_unknown_field_is_exit_2(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    code, report = check(write_hubspot_config(tmp_path, crm.base_url, rule="employes >= 50"))
    assert (code, report["problem"]) == (2, "config")
    assert statuses(report)["segment rules"] == "failed"
    assert (
        'unknown field "employes" (did you mean "employees"?)' in details(report)["segment rules"]
    )


def test_an_unreachable_crm_is_exit_6(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    code, report = check(write_hubspot_config(tmp_path, f"http://127.0.0.1:{port}"))
    assert (code, report["problem"]) == (6, "crm")
    assert statuses(report)["reach the CRM"] == "failed"
    assert "connection failed" in details(report)["reach the CRM"]


# -- Salesforce ----------------------------------------------------------------------------


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as box:
        monkeypatch.setenv("SEGSYNC_SALESFORCE__SESSION_ID", box.session_id)
        yield box


def salesforce_config(tmp_path: Path, org: SalesforceSandbox, reason: str) -> Path:
    return write_salesforce_config(tmp_path, org, reason_property=reason)


def test_salesforce_fields_not_created_yet_are_unchecked_and_pass(
    org: SalesforceSandbox, tmp_path: Path
) -> None:
    code, report = check(salesforce_config(tmp_path, org, "Segsync_Reason__c"))
    assert (code, report["problem"]) == (0, None)
    assert statuses(report) == {
        "configuration": "ok",
        "reach the CRM": "ok",
        "login method": "ok",
        "read Contacts": "ok",
        "update Contacts": "ok",
        "write field Segsync_Segment__c": "unchecked",
        "write field Segsync_Segments__c": "unchecked",
        "write field Segsync_Reason__c": "unchecked",
        "permission set Segsync_Integration": "ok",
        "create and grant fields": "ok",
        "create campaigns": "ok",
        "add campaign members": "ok",
        "remove campaign members": "ok",
        "segsync fields": "ok",
        "segment rules": "ok",
        "segment lists": "ok",
    }


def test_salesforce_missing_permissions_say_what_to_grant(
    org: SalesforceSandbox, tmp_path: Path
) -> None:
    [grant] = [
        row
        for row in org.store.rows("FieldPermissions")
        if row.values["Field"] == "Contact.Email_Opens__c"
    ]
    org.store.set_fields("FieldPermissions", grant.id, {"PermissionsEdit": False})
    org.store.revoke_object_permission("Campaign", "create")
    code, report = check(salesforce_config(tmp_path, org, "Email_Opens__c"))
    assert (code, report["problem"]) == (3, "auth")
    failed = {name for name, status in statuses(report).items() if status == "failed"}
    # Email_Opens__c is not segsync's field either: the check says so too.
    assert failed == {"write field Email_Opens__c", "create campaigns", "segsync fields"}
    assert details(report)["write field Email_Opens__c"].startswith(
        "Salesforce field Contact.Email_Opens__c is not visible to the integration user: grant "
        "Read and Edit on Contact.Email_Opens__c to permission set Segsync_Integration"
    )
    assert details(report)["create campaigns"] == (
        "grant Read, Create and Edit on Campaigns to the integration user (Setup → Permission "
        "Sets → Segsync_Integration → Object Settings → Campaigns → Edit) and tick Marketing "
        "User on its user record (Setup → Users)"
    )


def test_a_plugin_connector_is_reachable_with_permissions_unchecked(
    plugin_path: Path, tmp_path: Path
) -> None:
    (tmp_path / "contacts.csv").write_text("id,employees\n1,100\n2,5\n")
    config = tmp_path / "segsync.toml"
    config.write_text(
        f'connector = "csvcrm"\n[sync]\nstate_dir = "{tmp_path}"\n[csvcrm]\ndirectory = '
        f'"{tmp_path}"\n[[segments]]\nname = "Big"\npriority = 1\nrule = "employees >= 50"\n'
    )
    result = segsync(plugin_path, "check", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert statuses(report) == {
        "configuration": "ok",
        "reach the CRM": "ok",
        "permissions": "unchecked",
        "segsync fields": "ok",
        "segment rules": "ok",
        "segment lists": "ok",
    }
    assert details(report)["permissions"] == (
        "reachable, permissions not checked ('csvcrm' cannot check them)"
    )
