"""Telling people when a sync went wrong: one Slack-compatible message to a webhook.

A run that fails, stops on a guardrail, or has more of its writes refused by the CRM than the
configured share posts ``{"text": ..., "blocks": [...]}`` to the webhook. Two rules shape this
module:

- Alerting must never hurt the run it reports on. ``send_alert`` has a short timeout and a
  bounded number of retries, and it never raises: a failure to alert is logged and the caller
  goes on. Its log lines never show the webhook URL (Slack's URL *is* the credential).
- An alert lands in a chat channel that more people read than the CRM's. It carries counts and
  error codes only, never per-record messages, and the one free-text part (the run's error) is
  stripped of email addresses and anything that looks like a token first.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)

FAILED = "failed"
ABORTED = "aborted"
"""The run statuses that always alert: the run raised, or a guardrail stopped it before writing."""

TOP_FAILURE_CODES = 3
MAX_WAIT = 4.0
"""The longest pause between two tries, in seconds: an alert is worth a few seconds, no more."""

_LOCAL_PART = r"[^\s@<>()\[\]\\,;:\"/=?&]+"
_DOMAIN_LABEL = r"[^\s@<>()\[\]\\,;:\"/=?&.']+"
_EMAIL = re.compile(rf"{_LOCAL_PART}@(?:{_DOMAIN_LABEL}\.)+{_DOMAIN_LABEL}")
"""An address in any script: internationalised ones (``josé@exámple.com`` decomposed,
``डाटामेल@डाटामेल.भारत``) hold combining marks that no word class matches, so everything but
spaces and the delimiters found around an address in logs, URLs and JSON counts as part of one."""
_BEARER = re.compile(r"(?i)\bbearer\s+\S+")
_KEY_VALUE = re.compile(
    r"(?i)(token|password|passwd|secret|api[_-]?key|session[_-]?id|signature)(\s*[=:]\s*)[^\s&,;]+"
)
_HUBSPOT_TOKEN = re.compile(r"(?i)\bpat-[\w-]+")
# Opaque strings of 24+ characters mixing letters and digits: API keys, Salesforce session ids
# ("00D...!AQ..."), JWTs.
_OPAQUE = re.compile(r"(?<![\w.!-])(?=[\w.!-]*\d)(?=[\w.!-]*[A-Za-z])[\w.!-]{24,}")


@dataclass(frozen=True)
class AlertPolicy:
    """When to alert and where: no ``webhook_url`` means alerts are off.

    ``max_rejected_share`` is the share of attempted property writes the CRM may refuse before a
    run that otherwise succeeded alerts (0.05: more than 5 in 100).
    """

    webhook_url: str | None = None
    max_rejected_share: float = 0.05
    timeout: float = 5.0
    attempts: int = 3

    def __post_init__(self) -> None:
        if self.webhook_url is not None and not _is_http_url(self.webhook_url):
            raise ValueError("the alert webhook must be an http:// or https:// URL")
        if not 0.0 <= self.max_rejected_share <= 1.0:
            raise ValueError(
                f"max_rejected_share must be between 0 and 1, got {self.max_rejected_share}"
            )
        if self.timeout <= 0 or self.attempts < 1:
            raise ValueError("the alert timeout must be positive and attempts at least 1")

    def alert_for(self, run_summary: Mapping[str, Any]) -> str | None:
        """What to tell people about this run, or None when it went well enough to stay quiet.

        ``run_summary`` is ``summary_json``'s shape plus the runner's verdict: ``status``
        (``"failed"``, ``"aborted"`` or anything else for a finished run), ``error`` (why it
        failed or aborted) and ``sync`` (the sync's name). Pure: it decides, it sends nothing.
        """
        name = _slack_escape(str(run_summary.get("sync") or "segsync"))
        status = run_summary.get("status")
        error = _slack_escape(redact(str(run_summary.get("error") or "no reason was recorded")))
        if status == FAILED:
            return f":x: Sync *{name}* failed: {error}"
        if status == ABORTED:
            return f":warning: Sync *{name}* stopped before writing anything: {error}"
        failures = run_summary.get("failures") or []
        attempted = int(run_summary.get("property_writes") or 0)
        share = len(failures) / attempted if attempted else 0.0
        if share <= self.max_rejected_share:
            return None
        return (
            f":warning: Sync *{name}*: the CRM refused {len(failures):,} of {attempted:,} "
            f"contact updates ({share:.1%}, alert above {self.max_rejected_share:.1%}). "
            f"Most common reasons: {_top_codes(failures)}."
        )

    def notify(
        self, run_summary: Mapping[str, Any], *, sleep: Callable[[float], None] = time.sleep
    ) -> bool:
        """Alert about this run if the policy says so; True only when an alert was delivered."""
        message = self.alert_for(run_summary)
        if message is None or self.webhook_url is None:
            return False
        return send_alert(
            self.webhook_url, message, self.timeout, attempts=self.attempts, sleep=sleep
        )


def alert_payload(message: str) -> dict[str, Any]:
    """The webhook body: ``text`` for notifications and clients without blocks, and one block."""
    return {
        "text": message,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": message}}],
    }


def send_alert(
    url: str,
    message: str,
    timeout: float = 5.0,
    *,
    attempts: int = 3,
    initial_wait: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``message`` to ``url``; True once the webhook accepted it, False if it never did.

    Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff
    (``initial_wait``, doubling up to ``MAX_WAIT``, at most ``attempts`` tries); other answers
    are final. The worst case is therefore bounded: ``attempts * timeout`` plus the waits.
    Never raises.
    """
    if not _is_http_url(url):
        log.warning("Alert not sent: the webhook is not an http:// or https:// URL")
        return False
    body = json.dumps(alert_payload(message)).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )

    def post() -> None:
        try:
            with urllib.request.urlopen(request, timeout=timeout):  # the scheme was checked above
                pass
        except urllib.error.HTTPError as answer:
            answer.close()  # it holds the response's socket
            raise

    retrying = Retrying(
        retry=retry_if_exception(_is_retryable),
        wait=wait_exponential(multiplier=initial_wait, max=MAX_WAIT),
        stop=stop_after_attempt(attempts),
        sleep=sleep,
        reraise=True,
    )
    try:
        retrying(post)
    except Exception as exc:  # noqa: BLE001 - an alert must never break the run it reports on
        tries = retrying.statistics.get("attempt_number", 1)
        log.warning("Alert not sent after %d attempt(s): %s", tries, _describe_error(exc))
        return False
    return True


def redact(text: str) -> str:
    """``text`` without email addresses or token-like strings, for channels many people read."""
    text = _EMAIL.sub("[email]", text)
    text = _BEARER.sub("Bearer [secret]", text)
    text = _KEY_VALUE.sub(r"\1\2[secret]", text)
    text = _HUBSPOT_TOKEN.sub("[secret]", text)
    return _OPAQUE.sub("[secret]", text)


def _top_codes(failures: list[Mapping[str, Any]]) -> str:
    """The most frequent error codes as ``CODE ×n``; codes only, since messages quote data."""
    counts = Counter(str(failure.get("code") or "unknown") for failure in failures)
    return ", ".join(
        f"{_slack_escape(redact(code))} ×{count:,}"
        for code, count in counts.most_common(TOP_FAILURE_CODES)
    )


def _slack_escape(text: str) -> str:
    """Slack reads ``<...>`` as links and mentions (``<!channel>``): data must not trigger them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _is_http_url(url: str) -> bool:
    """Only web URLs: urllib would otherwise happily "post" to ``file://`` or ``ftp://``."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_retryable(exc: BaseException) -> bool:
    """Worth another try: the webhook is overloaded or down, not refusing the message."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 429 or exc.code >= 500
    return isinstance(exc, OSError)  # refused, reset, timed out (URLError is an OSError)


def _describe_error(exc: BaseException) -> str:
    """The failure without the URL (``HTTPError`` and ``URLError`` texts do not include it)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the webhook answered HTTP {exc.code}"
    return redact(f"{type(exc).__name__}: {exc}")
