"""The Salesforce sandbox's limits, sessions, SOAP login and injected faults."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from connectors.sandbox import SalesforceSandbox
from tests.support.salesforce_rest import client, contact, update


def test_limit_info_and_the_daily_limit() -> None:
    with SalesforceSandbox(daily_limit=5) as box:
        sf = client(box)
        sf.query("SELECT COUNT() FROM Contact")
        assert sf.api_usage["api-usage"] == (1, 5)
        assert sf.limits()["DailyApiRequests"] == {"Max": 5, "Remaining": 3}
        sf.query("SELECT COUNT() FROM Contact")
        sf.query("SELECT COUNT() FROM Contact")
        assert sf.api_usage["api-usage"] == (4, 5)
        sf.query("SELECT COUNT() FROM Contact")
        with pytest.raises(SalesforceRefusedRequest) as raised:
            sf.query("SELECT COUNT() FROM Contact")
        assert raised.value.status == 403
        assert raised.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]


def test_expired_sessions_and_soap_login(box: SalesforceSandbox) -> None:
    box.seed_contacts(2100, seed=5)
    direct = client(box)
    password = Salesforce(
        username=box.username,
        password=box.password,
        security_token=box.security_token,
        session=box.requests_session(),
    )
    assert password.sf_instance == box.instance and password.session_id != box.session_id
    first = password.query("SELECT Id FROM Contact")

    box.expire_session()
    with pytest.raises(SalesforceExpiredSession) as raised:
        direct.query("SELECT Id FROM Contact LIMIT 1")
    assert raised.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert password.query("SELECT COUNT() FROM Contact")["totalSize"] == 2100  # re-logged in
    assert box.calls["POST /services/Soap/u/{soapVersion}"] == 2
    with pytest.raises(SalesforceMalformedRequest) as raised:
        password.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert raised.value.content == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        Salesforce(
            username=box.username,
            password="wrong",
            security_token="",
            session=box.requests_session(),
        )
    assert failed.value.code == "INVALID_LOGIN"


def test_injected_faults_answer_like_salesforces_edge(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    person = contact(sf, LastName="Fault")
    box.inject_faults(503, route="PATCH /services/data/{version}/composite/sobjects")
    with pytest.raises(SalesforceGeneralError) as raised:
        update(sf, {"id": person, "Title": "A"})
    assert raised.value.status == 503
    assert raised.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert box.store.record("Contact", person)["Title"] is None

    box.inject_faults("disconnect", after_commit=True)
    with pytest.raises(requests.ConnectionError):
        update(sf, {"id": person, "Title": "B"})
    assert box.store.record("Contact", person)["Title"] == "B"  # applied, answer lost
    assert [c.status for c in box.call_log[-2:]] == [503, 0]
    with pytest.raises(ValueError, match="unsupported fault status 429"):
        box.inject_faults(429)
