"""Map what ``simple-salesforce`` raises onto segsync's typed connector errors.

simple-salesforce raises one ``SalesforceError`` subclass per HTTP status, carrying
Salesforce's JSON error body (``[{message, errorCode, fields}]``) as ``.content``; Bulk API 2.0
job failures raise ``SalesforceOperationError``, which is *not* a ``SalesforceError``; login
failures raise ``SalesforceAuthenticationFailed``; the network raises ``requests`` exceptions.
Per-record failures of sObject Collections arrive inside a 200 and are mapped here too. This
module only decides what a failure means: the client does the one re-login, the sync layer's
retry policy does the waiting.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceOperationError,
)

from connectors.base import (
    AuthFailed,
    ConnectorError,
    NotFound,
    RateLimited,
    RequestRejected,
    Transient,
    WriteResult,
)

RETRYABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})
"""Record-level codes that pass on a retry. Flows and triggers wrap them in their own codes
(``CANNOT_EXECUTE_FLOW_TRIGGER``), so the message is searched as well."""
MISSING_CODES = frozenset(
    {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "CANNOT_UPDATE_CONVERTED_LEAD"}
)
"""Record-level codes for a record that is gone: in the recycle bin, or merged or purged (an
unknown id), or a lead converted into a contact (read-only from then on). A lookup to a missing
record gives the second too, but segsync writes no lookups."""
CONCURRENT_LIMIT_WAIT_SECONDS = 20.0
"""Salesforce caps requests running 20 s or longer; a slot frees up within about that."""
INVALID_QUERY_LOCATOR = "INVALID_QUERY_LOCATOR"
_QUOTED_NAME = re.compile(r"'([A-Za-z0-9_.]+)'")


@dataclass(frozen=True)
class FieldGrant:
    """Where segsync's fields live and which permission set should grant them, so an
    invisible field produces a message that names exactly what to click."""

    sobject: str
    permission_set: str | None

    def message(self, field: str) -> str:
        target = (
            f"permission set {self.permission_set}"
            if self.permission_set
            else ("a permission set assigned to the integration user")
        )
        setup_name = self.permission_set or "<permission set>"
        return (
            f"Salesforce field {self.sobject}.{field} is not visible to the integration user: "
            f"grant Read and Edit on {self.sobject}.{field} to {target} (Setup → Permission "
            f"Sets → {setup_name} → Object Settings → {self.sobject}s → Edit → Field "
            "Permissions)."
        )


def api_errors(exc: BaseException) -> list[Mapping[str, Any]]:
    """The ``[{message, errorCode, fields}]`` body of a Salesforce error, or []."""
    content = getattr(exc, "content", None)
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, list):
        return []
    return [error for error in content if isinstance(error, Mapping)]


def error_code(exc: BaseException) -> str | None:
    """The first ``errorCode`` of a Salesforce error response."""
    codes = [error.get("errorCode") for error in api_errors(exc)]
    return next((str(code) for code in codes if code), None)


def is_expired_session(exc: BaseException) -> bool:
    """A 401 from the REST or Bulk API: the session ended and a new login may fix it."""
    return isinstance(exc, SalesforceExpiredSession)


def is_retryable(code: str, message: str) -> bool:
    """Whether a record-level failure is a lock (or a lock wrapped by a flow or trigger)."""
    return code in RETRYABLE_CODES or any(retryable in message for retryable in RETRYABLE_CODES)


def named_field(errors: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> str | None:
    """The field of ``fields`` an ``INVALID_FIELD`` error is about, spelled as requested.

    Salesforce names the field in ``fields`` (DML) or quoted in the message ("No such column
    'Segment__c' on entity 'Contact'"); SOQL names are case-insensitive.
    """
    by_lower = {field.lower(): field for field in fields}
    for error in errors:
        if (error.get("errorCode") or error.get("statusCode")) != "INVALID_FIELD":
            continue
        mentioned = list(error.get("fields") or ()) + _QUOTED_NAME.findall(
            str(error.get("message", ""))
        )
        for name in mentioned:
            if str(name).lower() in by_lower:
                return by_lower[str(name).lower()]
    return None


def record_result(record_id: str, result: Mapping[str, Any]) -> WriteResult:
    """One entry of an sObject Collections response as a ``WriteResult``."""
    if result.get("success"):
        return WriteResult(record_id, ok=True)
    errors = result.get("errors") or [{"statusCode": "UNKNOWN_ERROR", "message": "no detail"}]
    code = str(errors[0].get("statusCode", "UNKNOWN_ERROR"))
    return record_failure(record_id, code, "; ".join(str(e.get("message", "")) for e in errors))


def bulk_record_result(record_id: str, error: str) -> WriteResult:
    """A failed row of a Bulk API 2.0 ingest job, whose ``sf__Error`` is "CODE:message"."""
    code, _, message = error.partition(":")
    return record_failure(record_id, code, message)


def record_failure(record_id: str, code: str, message: str) -> WriteResult:
    """A record-level failure: locks are retryable, a deleted or unknown record is missing."""
    return WriteResult(
        record_id,
        ok=False,
        code=code,
        message=message,
        retryable=is_retryable(code, message),
        missing=code in MISSING_CODES,
    )


def translate(
    exc: BaseException,
    action: str,
    fields: Sequence[str] = (),
    grant: FieldGrant | None = None,
) -> ConnectorError:
    """The typed error for a failure during ``action`` (e.g. "read contacts").

    ``fields`` are the fields the request named: an ``INVALID_FIELD`` about one of them means
    field-level security hides it, which ``grant`` turns into the permission to give.
    Anything that is not a Salesforce or transport failure is a bug and is re-raised.
    """
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return _login_failure(exc, action)
    if isinstance(exc, SalesforceError):
        return _http_failure(exc, action, fields, grant)
    if isinstance(exc, SalesforceOperationError):
        if "timeout" in str(exc).lower():
            return Transient(f"Salesforce {action}: bulk job did not finish: {exc}")
        return RequestRejected(f"Salesforce {action}: bulk job failed: {exc}", status=400)
    if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return AuthFailed(
            f"Salesforce {action}: the server's TLS certificate is not trusted; set ca_bundle "
            "in [salesforce] to the CA that signed it."
        )
    if isinstance(
        exc,
        (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError),
    ):
        return Transient(f"Salesforce {action}: connection failed ({type(exc).__name__})")
    if isinstance(exc, json.JSONDecodeError):  # an HTML page or a cut answer, from in between
        return Transient(f"Salesforce {action}: the answer was not Salesforce's JSON")
    raise exc


def _login_failure(exc: SalesforceAuthenticationFailed, action: str) -> ConnectorError:
    if isinstance(exc.code, int) and exc.code >= 500:
        return Transient(f"Salesforce {action}: login server answered HTTP {exc.code}")
    return AuthFailed(
        f"Salesforce login failed ({exc.code}): {exc.auth_message}. Check consumer_key, "
        "SEGSYNC_SALESFORCE__CONSUMER_SECRET (or __PRIVATE_KEY and username for JWT, or "
        "username, __PASSWORD and __SECURITY_TOKEN for the legacy login) and the domain."
    )


def _http_failure(
    exc: SalesforceError, action: str, fields: Sequence[str], grant: FieldGrant | None
) -> ConnectorError:
    errors = api_errors(exc)
    code = error_code(exc) or ""
    message = "; ".join(str(error.get("message", "")) for error in errors) or str(exc.content)
    status = f"HTTP {exc.status} {code}" if code else f"HTTP {exc.status}"
    where = f"Salesforce {action}: {status}: {message}"
    if exc.status == 401:
        return AuthFailed(
            f"{where}. The session is invalid or expired and logging in again did not help: "
            "a session_id cannot be renewed (configure client credentials or JWT), and "
            "the integration user needs the API Enabled permission."
        )
    if exc.status == 403:
        if code == "REQUEST_LIMIT_EXCEEDED":
            if "concurrent" in message.lower():
                return Transient(where, retry_after=CONCURRENT_LIMIT_WAIT_SECONDS)
            return RateLimited(where, retry_after=math.inf, scope="daily")
        return AuthFailed(f"{where}. Give the integration user access to it.")
    if exc.status == 404:
        return NotFound(where)
    if exc.status >= 500 or code in RETRYABLE_CODES:
        return Transient(where)
    field = named_field(errors, fields)
    if field is not None and grant is not None:
        return AuthFailed(grant.message(field))
    return RequestRejected(where, status=exc.status)
