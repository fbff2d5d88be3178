"""Alerts: when a run speaks up, exactly what it says, and how hard it tries to be heard."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import pytest

from sync.alerts import AlertPolicy, alert_payload, redact, send_alert
from tests.support.webhook import Webhook

TOKEN = "pat-na1-4f1c2b9e-1234-4abc-9def-0123456789ab"


def failed_write(contact_id: str, code: str) -> dict[str, str]:
    return {
        "contact_id": contact_id,
        "code": code,
        "message": f"Property values were not valid for jane.doe+{contact_id}@example.com",
    }


def summary(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sync": "Nightly HubSpot",
        "status": "succeeded",
        "dry_run": False,
        "contacts": 5000,
        "property_writes": 200,
        "failures": [],
        "api_calls": 42,
        "retries": 0,
    }
    return base | overrides


# -- deciding -------------------------------------------------------------------------------


def test_a_clean_run_stays_quiet() -> None:
    assert AlertPolicy().alert_for(summary()) is None


def test_rejections_up_to_the_share_stay_quiet_and_above_it_alert() -> None:
    policy = AlertPolicy(max_rejected_share=0.05)
    ten = [failed_write(str(i), "INVALID_OPTION") for i in range(10)]
    assert policy.alert_for(summary(failures=ten)) is None  # 10 of 200 is 5.0%
    eleven = [*ten, failed_write("10", "READ_ONLY_VALUE")]
    assert policy.alert_for(summary(failures=eleven)) == (
        ":warning: Sync *Nightly HubSpot*: the CRM refused 11 of 200 contact updates "
        "(5.5%, alert above 5.0%). Most common reasons: INVALID_OPTION ×10, READ_ONLY_VALUE ×1."
    )


def test_a_failed_run_alerts_without_tokens_or_email_addresses() -> None:
    error = (
        f"HubSpot rejected the access token {TOKEN} (401) for owner ops@acme.example; "
        "retry with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    )
    message = AlertPolicy().alert_for(summary(status="failed", error=error))
    assert message == (
        ":x: Sync *Nightly HubSpot* failed: HubSpot rejected the access token [secret] (401) "
        "for owner [email]; retry with Authorization: Bearer [secret]"
    )


def test_an_aborted_run_says_nothing_was_written() -> None:
    message = AlertPolicy().alert_for(
        summary(status="aborted", error="would remove 4,100 of 5,000 list members (limit 20%)")
    )
    assert message == (
        ":warning: Sync *Nightly HubSpot* stopped before writing anything: "
        "would remove 4,100 of 5,000 list members (limit 20%)"
    )


def test_crm_text_cannot_mention_the_channel() -> None:
    message = AlertPolicy().alert_for(summary(status="failed", error="<!channel> & <@U123>"))
    assert message == ":x: Sync *Nightly HubSpot* failed: &lt;!channel&gt; &amp; &lt;@U123&gt;"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token=abc123 and password: hunter2", "token=[secret] and password: [secret]"),
        ("GET /v3?hapikey=0a1b2c3d&limit=10", "GET /v3?hapikey=[secret]&limit=10"),
        ("session 00D5g000004Hc2K!AQ0AQGx1y2z3w4v5u6", "session [secret]"),
        ("list 12345 has 980 members", "list 12345 has 980 members"),
        ("Jane.Doe@Example.co.uk wrote", "[email] wrote"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_policy_refuses_a_non_web_url_and_a_share_out_of_range() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        AlertPolicy(webhook_url="file:///etc/passwd")
    with pytest.raises(ValueError, match="between 0 and 1"):
        AlertPolicy(max_rejected_share=5)


# -- sending --------------------------------------------------------------------------------


def test_send_posts_the_slack_json_body(webhook: Webhook) -> None:
    assert send_alert(webhook.url, "*sync* failed", timeout=2) is True
    assert webhook.bodies == [
        {
            "text": "*sync* failed",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*sync* failed"}}],
        }
    ]
    assert webhook.content_types == ["application/json"]


def test_send_retries_server_errors_with_exponential_backoff(webhook: Webhook) -> None:
    webhook.fail_first = 2
    waits: list[float] = []
    assert send_alert(webhook.url, "hello", timeout=2, attempts=3, sleep=waits.append) is True
    assert len(webhook.bodies) == 3
    assert webhook.bodies[0] == webhook.bodies[2] == alert_payload("hello")
    assert waits == [0.5, 1.0]


def test_send_gives_up_after_the_bound_and_logs_without_the_url(
    webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.fail_first = None
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="sync.alerts"):
        sent = send_alert(webhook.url, "hello", timeout=2, attempts=4, sleep=waits.append)
    assert sent is False
    assert len(webhook.bodies) == 4
    assert waits == [0.5, 1.0, 2.0]  # then the bound: 4 tries
    assert caplog.messages == ["Alert not sent after 4 attempt(s): the webhook answered HTTP 500"]
    assert "127.0.0.1" not in caplog.text


def test_send_does_not_retry_a_refusal(webhook: Webhook) -> None:
    webhook.fail_first, webhook.fail_status = None, 404
    assert send_alert(webhook.url, "hello", timeout=2, attempts=3, sleep=lambda _: None) is False
    assert len(webhook.bodies) == 1


def test_send_retries_rate_limits(webhook: Webhook) -> None:
    webhook.fail_first, webhook.fail_status = 1, 429
    assert send_alert(webhook.url, "hello", timeout=2, attempts=3, sleep=lambda _: None) is True
    assert len(webhook.bodies) == 2


def test_send_never_raises_when_nothing_listens(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="sync.alerts"):
        assert send_alert(url, "hello", timeout=1, sleep=waits.append) is False
    assert waits == [0.5, 1.0]
    assert caplog.messages[0].startswith("Alert not sent after 3 attempt(s): URLError")


def test_notify_sends_what_alert_for_says(webhook: Webhook) -> None:
    policy = AlertPolicy(webhook_url=webhook.url)
    assert policy.notify(summary()) is False
    assert webhook.bodies == []
    assert policy.notify(summary(status="failed", error=f"bad token {TOKEN}")) is True
    text = webhook.bodies[0]["text"]
    assert text == ":x: Sync *Nightly HubSpot* failed: bad token [secret]"
    assert "@" not in json.dumps(webhook.bodies) and TOKEN not in json.dumps(webhook.bodies)


def test_notify_with_rejections_never_quotes_record_messages(webhook: Webhook) -> None:
    failures = [failed_write(str(i), "INVALID_EMAIL") for i in range(50)]
    assert AlertPolicy(webhook_url=webhook.url).notify(summary(failures=failures)) is True
    body = json.dumps(webhook.bodies)
    assert "example.com" not in body and "@" not in body
    assert "INVALID_EMAIL ×50" in webhook.bodies[0]["text"]


def test_send_caps_the_wait_between_tries(webhook: Webhook) -> None:
    webhook.fail_first = None
    waits: list[float] = []
    assert send_alert(webhook.url, "hello", timeout=2, attempts=6, sleep=waits.append) is False
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0]
