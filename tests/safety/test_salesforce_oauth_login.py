"""Logging in to Salesforce without SOAP (issue #15, item 1).

Salesforce retires SOAP API ``login()`` for every API version in Summer '27; it is already
unavailable from API 65.0 (``INVALID_OPERATION``) and off by default in new orgs. segsync logs
in with OAuth 2.0: the client credentials of an External Client App (the default) or the JWT
bearer flow, both at ``/services/oauth2/token``. The password login stays as a legacy option
that ``check`` warns about and that is refused, before any call, from ``api_version`` 65.0.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from simple_salesforce import SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from typer.testing import CliRunner

from connectors.base import AuthFailed
from connectors.salesforce import SalesforceConnector
from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce.schema import ORG_ID
from sync.cli import app
from tests.conftest import salesforce_settings
from tests.expectations import assert_org_holds_desired_state, salesforce_org, sync_salesforce
from tests.support.check import check, details, statuses
from tests.support.salesforce_sync import CONTACTS, SOAP_LOGIN, write_config

TOKEN = "POST /services/oauth2/token"
RESPONSE_KEYS = ["access_token", "instance_url", "id", "token_type", "issued_at", "signature"]
runner = CliRunner()


def client_credentials(sf_box: SalesforceSandbox) -> dict[str, Any]:
    """Settings that log in with the sandbox External Client App's client credentials."""
    return {
        "session_id": None,
        "instance_url": None,
        "consumer_key": sf_box.app.consumer_key,
        "consumer_secret": SecretStr(sf_box.app.consumer_secret),
        "domain": sf_box.my_domain,
    }


def password_login(sf_box: SalesforceSandbox, **overrides: Any) -> dict[str, Any]:
    return {
        "session_id": None,
        "instance_url": None,
        "username": sf_box.username,
        "password": SecretStr(sf_box.password),
        "security_token": SecretStr(sf_box.security_token),
        **overrides,
    }


def token(sf_box: SalesforceSandbox, host: str, data: dict[str, str], **kwargs: Any) -> Any:
    response = sf_box.requests_session().post(
        f"https://{host}/services/oauth2/token", data=data, timeout=10, **kwargs
    )
    return response.status_code, response.json()


@pytest.fixture(autouse=True)
def login_hosts_reach_the_sandbox(
    sf_box: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", sf_box.proxy_url)  # logins go to *.salesforce.com


# -- the sandbox's token endpoint ----------------------------------------------------------


def test_the_token_endpoint_takes_client_credentials_in_the_form_or_basic_auth(
    sf_box: SalesforceSandbox,
) -> None:
    host = f"{sf_box.my_domain}.salesforce.com"
    app = sf_box.app
    form = {"grant_type": "client_credentials"}
    status, body = token(
        sf_box, host, form | {"client_id": app.consumer_key, "client_secret": app.consumer_secret}
    )
    assert (status, list(body)) == (200, RESPONSE_KEYS)
    assert (body["instance_url"], body["token_type"]) == (sf_box.instance_url, "Bearer")
    assert body["id"] == f"https://login.salesforce.com/id/{ORG_ID}/{sf_box.store.user_id}"
    basic = base64.b64encode(f"{app.consumer_key}:{app.consumer_secret}".encode()).decode()
    status, _ = token(sf_box, host, form, headers={"Authorization": f"Basic {basic}"})
    assert status == 200

    wrong = form | {"client_id": app.consumer_key, "client_secret": "not-the-secret"}
    assert token(sf_box, host, wrong) == (
        400,
        {"error": "invalid_client", "error_description": "invalid client credentials"},
    )
    right = form | {"client_id": app.consumer_key, "client_secret": app.consumer_secret}
    assert token(sf_box, "login.salesforce.com", right) == (
        400,
        {"error": "invalid_grant", "error_description": "request not supported on this domain"},
    )
    assert token(sf_box, host, {"grant_type": "password"}) == (
        400,
        {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
    )


def test_the_token_endpoint_checks_the_jwt_assertion(sf_box: SalesforceSandbox) -> None:
    claims = {
        "iss": sf_box.app.consumer_key,
        "sub": sf_box.username,
        "aud": "https://login.salesforce.com",
        "exp": 4_102_444_800,  # 2100-01-01
    }
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    signed = jwt.encode(claims, sf_box.app.private_key_pem, algorithm="RS256")
    status, body = token(sf_box, "login.salesforce.com", {"grant_type": grant, "assertion": signed})
    assert (status, list(body)) == (200, RESPONSE_KEYS)

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    forged = jwt.encode(claims, other_key, algorithm="RS256")
    expired = jwt.encode(claims | {"exp": 1}, sf_box.app.private_key_pem, algorithm="RS256")
    stranger = jwt.encode(claims | {"iss": "3MVG9other"}, sf_box.app.private_key_pem, "RS256")
    answers = [
        token(sf_box, "login.salesforce.com", {"grant_type": grant, "assertion": assertion})
        for assertion in (forged, expired, stranger)
    ]
    assert answers == [
        (400, {"error": "invalid_grant", "error_description": "invalid assertion"}),
        (400, {"error": "invalid_grant", "error_description": "expired authorization code"}),
        (400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}),
    ]


def test_soap_login_is_refused_from_api_65(sf_box: SalesforceSandbox) -> None:
    login = {
        "username": sf_box.username,
        "password": sf_box.password,
        "security_token": sf_box.security_token,
        "session": sf_box.requests_session(),
    }
    assert SalesforceLogin(**login, sf_version="64.0")[1] == sf_box.instance
    with pytest.raises(SalesforceAuthenticationFailed) as refused:
        SalesforceLogin(**login, sf_version="65.0")
    assert (refused.value.code, refused.value.auth_message) == (
        "INVALID_OPERATION",
        "The SOAP Login operation is not available in the API version specified (65.0). "
        "Refer to the documentation for supported versions.",
    )


# -- the connector -------------------------------------------------------------------------


def test_a_sync_logs_in_with_client_credentials_and_again_after_expiry(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(CONTACTS, seed=152)
    with salesforce_org(sf_box, **client_credentials(sf_box)) as salesforce:
        first = sync_salesforce(salesforce, tmp_path / "state")
        sf_box.expire_session()
        again = sync_salesforce(salesforce, tmp_path / "state")
    assert [(o.status, o.result.failures) for o in (first, again)] == [("done", [])] * 2
    assert_org_holds_desired_state(sf_box, ids)
    assert (sf_box.calls[TOKEN], sf_box.calls[SOAP_LOGIN]) == (2, 0)


def test_a_sync_logs_in_with_the_jwt_bearer_flow(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(CONTACTS, seed=153)
    jwt_bearer = {
        "session_id": None,
        "instance_url": None,
        "username": sf_box.username,
        "consumer_key": sf_box.app.consumer_key,
        "private_key": SecretStr(sf_box.app.private_key_pem),
        "domain": sf_box.my_domain,
    }
    with salesforce_org(sf_box, **jwt_bearer) as salesforce:
        outcome = sync_salesforce(salesforce, tmp_path / "state")
    assert (outcome.status, outcome.result.failures) == ("done", [])
    assert_org_holds_desired_state(sf_box, ids)
    assert (sf_box.calls[TOKEN], sf_box.calls[SOAP_LOGIN]) == (1, 0)


def test_wrong_client_credentials_are_auth_failed_with_salesforces_words(
    sf_box: SalesforceSandbox,
) -> None:
    settings = client_credentials(sf_box) | {"consumer_secret": SecretStr("not-the-secret")}
    with salesforce_org(sf_box, **settings) as salesforce, pytest.raises(AuthFailed) as failed:
        salesforce.describe_fields()
    assert str(failed.value).startswith(
        "Salesforce login failed (invalid_client): invalid client credentials. Check "
        "consumer_key, SEGSYNC_SALESFORCE__CONSUMER_SECRET"
    )


def test_client_credentials_need_the_my_domain(sf_box: SalesforceSandbox) -> None:
    with pytest.raises(AuthFailed) as failed:
        SalesforceConnector(
            salesforce_settings(sf_box, **client_credentials(sf_box) | {"domain": "login"})
        )
    assert str(failed.value) == (
        "Salesforce client credentials log in at the org's My Domain, not login.salesforce.com: "
        'set domain in [salesforce] to it, e.g. "acme.my" for acme.my.salesforce.com (Setup → '
        "My Domain)."
    )
    assert sf_box.call_log == []


def test_password_login_is_refused_from_api_65_before_any_call(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    sf_box.seed_contacts(10, seed=154)
    config = write_config(tmp_path / "segsync.toml", sf_box, tmp_path / "state")
    legacy = f'api_version = "65.0"\nusername = "{sf_box.username}"\ntimeout_seconds'
    config.write_text(config.read_text().replace("timeout_seconds", legacy))
    env = {
        "SEGSYNC_SALESFORCE__PASSWORD": sf_box.password,
        "SEGSYNC_SALESFORCE__SECURITY_TOKEN": sf_box.security_token,
    }
    result = runner.invoke(app, ["sync", "--config", str(config)], env=env)
    assert result.exit_code == 3
    assert result.output.strip().splitlines() == [
        "Authentication failed: Salesforce password login (SOAP login()) is unavailable at "
        "api_version 65.0: log in with client credentials (consumer_key in [salesforce], "
        "SEGSYNC_SALESFORCE__CONSUMER_SECRET, domain = your My Domain)."
    ]
    assert sf_box.call_log == []


def test_check_warns_about_the_password_login_and_is_ready(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path / "segsync.toml", sf_box, tmp_path / "state")
    config.write_text(config.read_text().replace(
        f'instance_url = "{sf_box.instance_url}"', f'username = "{sf_box.username}"'))
    monkeypatch.setenv("SEGSYNC_SALESFORCE__PASSWORD", sf_box.password)
    monkeypatch.setenv("SEGSYNC_SALESFORCE__SECURITY_TOKEN", sf_box.security_token)
    code, report = check(config)
    assert (code, report["problem"]) == (0, None)
    assert statuses(report)["login method"] == "warning"
    assert details(report)["login method"] == (
        "password login uses SOAP login(), which Salesforce retires in Summer '27 (June 2027) "
        "and new orgs have off: switch to client credentials (consumer_key, "
        "SEGSYNC_SALESFORCE__CONSUMER_SECRET, domain = your My Domain)."
    )


def test_check_with_client_credentials_names_the_login_method(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path / "segsync.toml", sf_box, tmp_path / "state")
    config.write_text(config.read_text().replace(
        f'instance_url = "{sf_box.instance_url}"',
        f'consumer_key = "{sf_box.app.consumer_key}"\ndomain = "{sf_box.my_domain}"'))
    monkeypatch.setenv("SEGSYNC_SALESFORCE__CONSUMER_SECRET", sf_box.app.consumer_secret)
    code, report = check(config)
    assert (code, report["problem"]) == (0, None)
    assert (statuses(report)["login method"], details(report)["login method"]) == (
        "ok",
        "OAuth 2.0 client credentials",
    )
    assert (sf_box.calls[TOKEN], sf_box.calls[SOAP_LOGIN]) == (1, 0)


def test_a_consumer_secret_in_the_toml_file_is_refused(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "segsync.toml", sf_box, tmp_path / "state")
    config.write_text(config.read_text().replace(
        "timeout_seconds", 'consumer_secret = "in-the-file"\ntimeout_seconds'))
    result = runner.invoke(app, ["sync", "--config", str(config)])
    assert result.exit_code == 2
    assert "salesforce.consumer_secret is a secret and must not be in the config file" in (
        result.output
    )
    assert sf_box.call_log == []
