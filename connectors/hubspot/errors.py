"""Map what ``hubspot-api-client`` raises onto segsync's typed connector errors.

The SDK gives every API package its own ``ApiException`` class with no common base, so the
mapping goes by ``.status`` and the JSON body, and transport failures arrive as urllib3 errors.
This module decides what a failure means; the sync layer's tenacity policy does the waiting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import urllib3

from connectors.base import (
    AuthFailed,
    ConnectorError,
    NotFound,
    RateLimited,
    RequestRejected,
    Transient,
)

WAIT_BY_POLICY = {"TEN_SECONDLY_ROLLING": 10.0, "SECONDLY": 1.0, "DAILY": float("inf")}
"""How long a 429 without Retry-After needs, by the ``policyName`` of its body. The daily
limit resets at midnight in the account's time zone: no point waiting within a run."""
LOCKED_WAIT_SECONDS = 2.0
"""HubSpot documents that a 423 Locked needs a pause of at least two seconds."""

TRANSIENT_STATUSES = frozenset({423, 477, 500, 502, 503, 504, 521, 523, 524})


def parse_body(body: Any) -> dict[str, Any]:
    """The JSON error body as a dict; HubSpot sends JSON, a proxy in between may not."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"message": str(body)[:200]}
    return parsed if isinstance(parsed, dict) else {"message": str(parsed)[:200]}


def parse_json(body: Any) -> Any:
    """A response body as JSON, or None when it is not JSON (an empty body, an HTML page)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def translate(exc: BaseException, action: str) -> ConnectorError:
    """The typed error for an SDK or transport failure during ``action`` (e.g. "batch update")."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
        return Transient(f"HubSpot {action}: connection failed ({type(exc).__name__})")
    status = getattr(exc, "status", None)
    if status is None:
        raise exc
    body = parse_body(getattr(exc, "body", None))
    headers = getattr(exc, "headers", None)
    message = body.get("message") or getattr(exc, "reason", "") or "no message"
    where = f"HubSpot {action}: HTTP {status}: {message}"
    if status == 0:
        return Transient(where)
    if status == 401:
        return AuthFailed(
            "HubSpot rejected the access token (401). Set SEGSYNC_HUBSPOT__TOKEN to a valid "
            "Service Key (HubSpot Settings → Integrations → Service Keys) or private-app token."
        )
    if status == 403:
        return AuthFailed(
            f"HubSpot refused {action} (403): {message}. Give the Service Key (Settings → "
            "Integrations → Service Keys → the key → Scopes) or private app the scopes "
            "crm.objects.contacts.read/write, crm.schemas.contacts.read/write and "
            "crm.lists.read/write."
        )
    if status == 404:
        return NotFound(where)
    if status == 429:
        policy = str(body.get("policyName", "TEN_SECONDLY_ROLLING")).upper()
        wait = _retry_after(headers)
        if wait is None:
            wait = WAIT_BY_POLICY.get(policy, WAIT_BY_POLICY["TEN_SECONDLY_ROLLING"])
        scope = {"DAILY": "daily", "SECONDLY": "secondly"}.get(policy, "ten_secondly")
        return RateLimited(where, retry_after=wait, scope=scope)
    if status in TRANSIENT_STATUSES:
        wait = _retry_after(headers)
        if status == 423:
            wait = max(wait or 0.0, LOCKED_WAIT_SECONDS)
        return Transient(where, retry_after=wait)
    return RequestRejected(where, status=status, code=_error_code(body))


def _error_code(body: Mapping[str, Any]) -> str:
    """The most precise code a HubSpot error body gives: the first detail's ``code`` (e.g.
    ``INVALID_OPTION``), else its ``category`` (e.g. ``VALIDATION_ERROR``)."""
    for detail in body.get("errors") or ():
        if isinstance(detail, Mapping) and isinstance(detail.get("code"), str):
            return detail["code"]
    category = body.get("category")
    return category if isinstance(category, str) else ""
