"""The permissions segsync needs to create its fields and grant them (issue #15, item 3).

Creating a field needs "Customize Application"; granting it with a ``FieldPermissions`` record
needs "View Setup and Configuration" and "Manage Profiles and Permission Sets" too. ``check``
reads them from the integration user's permission sets and profile and names what is missing;
the sandbox enforces them; ``permission_set`` is required, so segsync never guesses which set
to edit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceRefusedRequest
from typer.testing import CliRunner

from connectors.sandbox import SalesforceSandbox
from sync.cli import app
from tests.support.check import check, details, statuses
from tests.support.salesforce_sync import write_config

runner = CliRunner()
PERMISSIONS = "create and grant fields"
ASSIGNED = "permission set Segsync_Integration"
ALL_THREE = (
    "Customize Application, View Setup and Configuration, Manage Profiles and Permission Sets"
)


def take_from_profile(sf_box: SalesforceSandbox, *permissions: str) -> None:
    """An admin clears user permissions on the integration user's profile."""
    store = sf_box.store
    store.set_fields(
        "PermissionSet", store.profile_permission_set_id, dict.fromkeys(permissions, False)
    )


def config(sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEGSYNC_SALESFORCE__SESSION_ID", sf_box.session_id)
    return write_config(tmp_path / "segsync.toml", sf_box, tmp_path / "state")


def field_permissions(sf_box: SalesforceSandbox) -> int:
    return len(sf_box.store.rows("FieldPermissions"))


def test_check_says_the_user_may_create_and_grant_fields_and_where_from(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, report = check(config(sf_box, tmp_path, monkeypatch))
    assert (code, report["problem"]) == (0, None)
    assert (statuses(report)[ASSIGNED], details(report)[ASSIGNED]) == (
        "ok",
        "assigned to the integration user",
    )
    assert (statuses(report)[PERMISSIONS], details(report)[PERMISSIONS]) == (
        "ok",
        f"{ALL_THREE} (from the profile)",
    )


def test_check_names_the_missing_permissions_and_writes_nothing(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    take_from_profile(sf_box, "PermissionsViewSetup", "PermissionsManageProfilesPermissionsets")
    before = len(sf_box.call_log)
    code, report = check(config(sf_box, tmp_path, monkeypatch))
    assert (code, report["problem"]) == (3, "auth")
    assert [name for name, status in statuses(report).items() if status == "failed"] == [
        PERMISSIONS
    ]
    assert details(report)[PERMISSIONS] == (
        "the integration user lacks View Setup and Configuration, Manage Profiles and "
        "Permission Sets, needed to create segsync's fields and grant them: enable them on "
        "permission set Segsync_Integration (Setup → Permission Sets → Segsync_Integration → "
        "System Permissions → Edit)."
    )
    assert [r.route for r in sf_box.call_log[before:] if not r.route.startswith("GET ")] == []


def test_permissions_from_a_permission_set_count_as_much_as_the_profiles(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    take_from_profile(sf_box, "PermissionsCustomizeApplication", "PermissionsViewSetup")
    sf_box.store.set_fields(
        "PermissionSet",
        sf_box.store.permission_set_id,
        {"PermissionsCustomizeApplication": True, "PermissionsViewSetup": True},
    )
    code, report = check(config(sf_box, tmp_path, monkeypatch))
    assert code == 0
    assert details(report)[PERMISSIONS] == (
        f"{ALL_THREE} (from permission set Segsync_Integration, the profile)"
    )


def test_check_fails_when_the_permission_set_is_not_the_users(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(sf_box, tmp_path, monkeypatch)
    path.write_text(path.read_text().replace("Segsync_Integration", "Marketing_Ops"))
    code, report = check(path)
    assert (code, report["problem"]) == (3, "auth")
    assert details(report)["permission set Marketing_Ops"] == (
        "permission set Marketing_Ops is not assigned to the integration user: assign it "
        "(Setup → Users → the integration user → Permission Set Assignments → Edit "
        "Assignments) or set permission_set in [salesforce] to one that is."
    )


def test_a_config_without_permission_set_is_refused_before_any_call(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(sf_box, tmp_path, monkeypatch)
    path.write_text(path.read_text().replace('permission_set = "Segsync_Integration"\n', ""))
    result = runner.invoke(app, ["sync", "--config", str(path)])
    assert result.exit_code == 3
    assert result.output.strip().splitlines() == [
        "Authentication failed: set permission_set in [salesforce] to the API name of a "
        "permission set assigned to the integration user (e.g. Segsync_Integration): segsync "
        "grants its fields there."
    ]
    assert sf_box.call_log == []


def test_a_sync_without_manage_profiles_stops_before_writing_any_contact(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = sf_box.seed_contacts(20, seed=155)
    take_from_profile(sf_box, "PermissionsManageProfilesPermissionsets")
    grants = field_permissions(sf_box)
    result = runner.invoke(app, ["sync", "--config", str(config(sf_box, tmp_path, monkeypatch))])
    assert result.exit_code == 3
    assert result.output.strip().splitlines()[-1] == (
        "Authentication failed: Salesforce field Contact.Segment__c is not visible to the "
        "integration user: grant Read and Edit on Contact.Segment__c to permission set "
        "Segsync_Integration (Setup → Permission Sets → Segsync_Integration → Object Settings → "
        "Contacts → Edit → Field Permissions). (segsync could not grant it: Salesforce grant "
        "Contact.Segment__c to permission set Segsync_Integration: HTTP 400 "
        "INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights: editing field permissions "
        "needs Manage Profiles and Permission Sets)"
    )
    assert field_permissions(sf_box) == grants
    assert sf_box.calls["PATCH /services/data/{version}/composite/sobjects"] == 0
    assert all(sf_box.store.record("Contact", i).get("Segment__c") is None for i in ids)


def test_the_sandbox_enforces_the_setup_permissions(sf_box: SalesforceSandbox) -> None:
    sf = Salesforce(
        session_id=sf_box.session_id, instance=sf_box.instance, session=sf_box.requests_session()
    )
    take_from_profile(sf_box, "PermissionsCustomizeApplication", "PermissionsViewSetup")
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.restful(
            "tooling/sobjects/CustomField/",
            method="POST",
            json={"FullName": "Contact.Tier__c", "Metadata": {"label": "Tier", "type": "Text"}},
        )
    assert refused.value.content == [
        {
            "message": "insufficient access rights: changing custom fields needs Customize "
            "Application",
            "errorCode": "INSUFFICIENT_ACCESS_OR_READONLY",
        }
    ]
    granted = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "FieldPermissions"},
                    "ParentId": sf_box.store.permission_set_id,
                    "SobjectType": "Contact",
                    "Field": "Contact.Title",
                    "PermissionsRead": True,
                }
            ],
        },
    )
    assert granted == [
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "INSUFFICIENT_ACCESS_OR_READONLY",
                    "message": "insufficient access rights: editing field permissions needs "
                    "View Setup and Configuration",
                    "fields": [],
                }
            ],
        }
    ]
