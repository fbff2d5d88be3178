"""Salesforce connector logins: password and session logins, one new login when a session
expires, and what every request carries (pinned with ``responses``)."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from connectors.base import AuthFailed
from connectors.salesforce import SalesforceConnector
from tests.support.salesforce_api import API, LOGIN, error, login_xml, settings


def test_an_expired_session_logs_in_again_once_and_resumes(
    mock: responses.RequestsMock, password_connector: SalesforceConnector
) -> None:
    mock.add("POST", LOGIN, body=login_xml("session-1"))
    mock.add("POST", LOGIN, body=login_xml("session-2"))
    describe = f"{API}sobjects/Contact/describe"
    mock.add("GET", describe, **error("INVALID_SESSION_ID", "Session expired or invalid", 401))
    mock.add("GET", describe, json={"fields": []})
    assert password_connector.describe_fields() == []
    calls = [(c.request.method, c.request.url) for c in mock.calls]
    assert calls == [("POST", LOGIN), ("GET", describe), ("POST", LOGIN), ("GET", describe)]
    assert [c.request.headers["Authorization"] for c in mock.calls[1::2]] == [
        "Bearer session-1",
        "Bearer session-2",
    ]


def test_a_session_rejected_after_the_new_login_is_auth_failed(
    mock: responses.RequestsMock, password_connector: SalesforceConnector
) -> None:
    mock.add("POST", LOGIN, body=login_xml("session-1"))
    describe = f"{API}sobjects/Contact/describe"
    mock.add("GET", describe, **error("INVALID_SESSION_ID", "Session expired or invalid", 401))
    with pytest.raises(
        AuthFailed, match="^Salesforce describe Contact: HTTP 401 INVALID_SESSION_ID"
    ):
        password_connector.describe_fields()
    assert [c.request.method for c in mock.calls] == ["POST", "GET", "POST", "GET"]


def test_a_given_session_is_never_renewed(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}sobjects/Contact/describe",
        **error("INVALID_SESSION_ID", "Session expired or invalid", 401),
    )
    with pytest.raises(AuthFailed, match="a session_id cannot be renewed"):
        connector.describe_fields()
    assert len(mock.calls) == 1


def test_a_refused_login_is_auth_failed(
    mock: responses.RequestsMock, password_connector: SalesforceConnector
) -> None:
    fault = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        "<faultcode>INVALID_LOGIN</faultcode><detail><sf:LoginFault>"
        "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid "
        "username, password, security token; or user locked out.</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    mock.add("POST", LOGIN, body=fault, status=500)
    with pytest.raises(AuthFailed) as caught:
        password_connector.describe_fields()
    assert str(caught.value).startswith(
        "Salesforce login failed (INVALID_LOGIN): Invalid username, password, security token; "
        "or user locked out."
    )


def test_missing_credentials_fail_before_any_call() -> None:
    with pytest.raises(AuthFailed, match="^No Salesforce credentials"):
        SalesforceConnector(settings(session_id=None))


def test_every_request_carries_the_timeout_and_the_ca_bundle(
    mock: responses.RequestsMock, tmp_path: Any
) -> None:
    bundle = tmp_path / "ca.pem"
    salesforce = SalesforceConnector(settings(ca_bundle=bundle))
    mock.add("GET", f"{API}sobjects/Contact/describe", json={"fields": []})
    salesforce.describe_fields()
    kwargs = mock.calls[0].request.req_kwargs  # type: ignore[attr-defined]
    assert (kwargs["timeout"], kwargs["verify"]) == (7, str(bundle))
