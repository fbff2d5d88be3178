"""The sandbox HubSpot's tokens, rate limits and injected faults, answered as HubSpot does."""

from __future__ import annotations

import json
from datetime import date

import pytest
import urllib3
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException

from connectors.sandbox import HubSpotSandbox, SandboxLimits
from connectors.sandbox.limits import RateLimiter
from tests.support.hubspot_sdk import TOKEN, Apis, batch_update, raw, sdk

BATCH_UPDATE = "POST /crm/v3/objects/contacts/batch/update"


def test_a_wrong_token_is_401_with_hubspots_body(crm: HubSpotSandbox):
    with pytest.raises(ContactsApiException) as raised:
        sdk(crm, token="pat-na1-wrong").basic.get_page(limit=1)

    assert raised.value.status == 401
    body = json.loads(raised.value.body)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith(
        "Authentication credentials not found. This API supports " "OAuth 2.0 authentication"
    )
    assert crm.call_log[-1].status == 401


def test_rate_limit_headers_on_every_non_search_response(crm: HubSpotSandbox):
    raw(crm, "GET", "/crm/v3/objects/contacts")
    status, headers, _ = raw(crm, "GET", "/crm/v3/properties/contacts/nope")
    search_status, search_headers, _ = raw(crm, "POST", "/crm/v3/objects/contacts/search", {})

    assert status == 404
    assert {k: v for k, v in headers.items() if k.startswith("X-HubSpot-RateLimit")} == {
        "X-HubSpot-RateLimit-Max": "190",
        "X-HubSpot-RateLimit-Remaining": "188",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Daily": "625000",
        "X-HubSpot-RateLimit-Daily-Remaining": "624998",
    }
    assert search_status == 200
    assert not [k for k in search_headers if k.startswith("X-HubSpot-RateLimit")]


def test_injected_429_has_hubspots_body_and_the_retry_goes_through(crm: HubSpotSandbox, api: Apis):
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])
    crm.inject_faults(status=429, count=2, route=BATCH_UPDATE)

    failures = []
    for _ in range(2):
        with pytest.raises(ContactsApiException) as raised:
            batch_update(api, [(cid, {"jobtitle": "CFO"})])
        failures.append(raised.value)
        assert crm.store.contact(cid)["jobtitle"] is None
    batch_update(api, [(cid, {"jobtitle": "CFO"})])

    body = json.loads(failures[0].body)
    assert {k: v for k, v in body.items() if k != "correlationId"} == {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": "publicapi:private_app-api-calls-ten-secondly:3141592:24681357",
    }
    assert failures[0].status == 429
    assert failures[0].headers["X-HubSpot-RateLimit-Remaining"] == "0"
    writes = [r for r in crm.call_log if r.route == BATCH_UPDATE]
    assert [r.status for r in writes] == [429, 429, 200]
    assert len({r.body_sha1 for r in writes}) == 1
    assert crm.store.contact(cid)["jobtitle"] == "CFO"


def test_injected_5xx_and_dropped_connections(crm: HubSpotSandbox, api: Apis):
    [cid] = crm.store.add_contacts([{"email": "a@example.com"}])
    crm.inject_faults(status=502, count=1, route=None)
    crm.inject_faults(status="disconnect", count=1, route=BATCH_UPDATE)
    crm.inject_faults(status=504, count=1, route=BATCH_UPDATE, after_commit=True)

    with pytest.raises(ContactsApiException) as gateway:
        api.basic.get_page(limit=1)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        batch_update(api, [(cid, {"jobtitle": "CEO"})])
    assert crm.store.contact(cid)["jobtitle"] is None  # dropped before anything happened
    with pytest.raises(ContactsApiException) as timeout:
        batch_update(api, [(cid, {"jobtitle": "CTO"})])

    assert gateway.value.status == 502
    assert gateway.value.body.startswith("<html>")
    assert timeout.value.status == 504
    assert crm.store.contact(cid)["jobtitle"] == "CTO"  # committed, only the answer was lost
    assert [r.status for r in crm.call_log] == [502, 0, 504]
    with pytest.raises(ValueError):
        crm.inject_faults(status=418)
    with pytest.raises(ValueError):
        crm.inject_faults(status=429, route="POST /crm/v3/objects/contacts/batch/updat")


def test_ten_secondly_and_daily_limits_are_enforced():
    with HubSpotSandbox(token=TOKEN, limits=SandboxLimits(ten_secondly=3)) as crm:
        statuses = [raw(crm, "GET", "/crm/v3/objects/contacts")[0] for _ in range(4)]
        _, headers, body = raw(crm, "GET", "/crm/v3/objects/contacts")
    assert statuses == [200, 200, 200, 429]
    assert json.loads(body)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert (headers["X-HubSpot-RateLimit-Max"], headers["X-HubSpot-RateLimit-Remaining"]) == (
        "3",
        "0",
    )

    with HubSpotSandbox(token=TOKEN, limits=SandboxLimits(daily=2)) as crm:
        statuses = [raw(crm, "GET", "/crm/v3/objects/contacts")[0] for _ in range(3)]
        _, headers, body = raw(crm, "GET", "/crm/v3/objects/contacts")
    assert statuses == [200, 200, 429]
    assert json.loads(body)["policyName"] == "DAILY"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_search_has_its_own_five_per_second_bucket(crm: HubSpotSandbox):
    results = [raw(crm, "POST", "/crm/v3/objects/contacts/search", {}) for _ in range(6)]

    assert [status for status, _, _ in results] == [200] * 5 + [429]
    status, headers, body = results[5]
    assert json.loads(body)["policyName"] == "SECONDLY"
    assert json.loads(body)["message"] == "You have reached your secondly limit."
    assert not [k for k in headers if k.startswith("X-HubSpot-RateLimit")]
    assert raw(crm, "GET", "/crm/v3/objects/contacts")[0] == 200  # other bucket unaffected


def test_rate_limiter_windows_roll():
    now = [0.0]
    limiter = RateLimiter(
        SandboxLimits(ten_secondly=2), clock=lambda: now[0], today=lambda: date(2025, 1, 1)
    )

    decisions = [limiter.admit(search=False).refused_by for _ in range(3)]
    now[0] = 10.001
    after_window = limiter.admit(search=False)

    assert decisions == [None, None, "TEN_SECONDLY_ROLLING"]
    assert (after_window.refused_by, after_window.remaining) == (None, 1)
    assert after_window.daily_remaining == 625_000 - 3


def test_unknown_routes_are_404_json(crm: HubSpotSandbox):
    status, headers, body = raw(crm, "GET", "/crm/v3/objects/deals")
    assert status == 404
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert json.loads(body)["status"] == "error"
    assert crm.calls["GET /crm/v3/objects/deals"] == 1
