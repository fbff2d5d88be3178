"""Salesforce's error shapes: REST bodies, per-record errors, and the exception that carries one.

REST errors are a JSON array ``[{"message", "errorCode"[, "fields"]}]``; per-record errors of
sObject Collections and Bulk API 2.0 are ``{"statusCode", "message", "fields"}`` objects inside
a successful response. Every text here is Salesforce's own where a capture of it was found (the
sources are cited where each is raised); "sandbox text" marks the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.server import Response, json_response

NOT_FOUND_MESSAGE = "The requested resource does not exist"


class RestError(Exception):
    """Ends a handler early with Salesforce's error array and status."""

    def __init__(self, status: int, error_code: str, message: str,
                 fields: Sequence[str] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields) if fields is not None else None

    def response(self, headers: dict[str, str] | None = None) -> Response:
        """The error as Salesforce sends it: one-element array, ``fields`` only when known."""
        body: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            body["fields"] = self.fields
        return json_response(self.status, [body], headers)


@dataclass(frozen=True)
class RecordError:
    """A per-record failure (``statusCode`` rather than ``errorCode``, ``fields`` always)."""

    status_code: str
    message: str
    fields: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        """The error inside a SaveResult/DeleteResult."""
        return {"statusCode": self.status_code, "message": self.message,
                "fields": list(self.fields)}

    def as_bulk_text(self) -> str:
        """The ``sf__Error`` cell of Bulk API 2.0 failed results: ``CODE:message:fields --``
        (captured: ``INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--`` and
        ``REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --``)."""
        if self.fields:
            return f"{self.status_code}:{self.message}:{','.join(self.fields)} --"
        return f"{self.status_code}:{self.message}:--"


class RecordFailure(Exception):
    """Raised while applying one record; the batch reports it and carries on."""

    def __init__(self, error: RecordError) -> None:
        super().__init__(error.message)
        self.error = error


def not_found() -> RestError:
    """404 for unknown resources, as Salesforce words it."""
    return RestError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def invalid_session() -> RestError:
    """401 for a missing, wrong or expired session (captured text)."""
    return RestError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit_exceeded() -> RestError:
    """403 once the org's daily API requests are used up (captured text, several sources)."""
    return RestError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def concurrent_limit_exceeded() -> RestError:
    """403 while the org already runs as many long requests (20 s or more) as it may: 25, or
    5 on developer orgs (Salesforce's limits cheat sheet). The text is the one captured in a
    SOAP fault of the same error; REST's error array carries it the same way."""
    return RestError(403, "REQUEST_LIMIT_EXCEEDED",
                     "ConcurrentRequests (Concurrent API Requests) Limit exceeded.")


def json_parser_error(message: str) -> RestError:
    """400 for a body that is not the JSON the endpoint expects (wording: sandbox text)."""
    return RestError(400, "JSON_PARSER_ERROR", message)


SERVER_ERRORS = {
    500: ("UNKNOWN_EXCEPTION", ("An unexpected error occurred. Please include this ErrorId if "
                                "you contact support: 1283749328-42 (-1234567890)")),
    502: ("SERVER_UNAVAILABLE", "Bad Gateway"),
    503: ("SERVER_UNAVAILABLE", "Server is unavailable. Please try again later."),
    504: ("REQUEST_RUNNING_TOO_LONG", ("Your request was running for too long, and has been "
                                       "stopped.")),
}
"""Bodies of injected 5xx faults. UNKNOWN_EXCEPTION's shape (with an ErrorId) is Salesforce's;
the 502-504 texts are sandbox text."""


def server_error(status: int) -> Response:
    """An injected 5xx as a Salesforce error array."""
    code, message = SERVER_ERRORS[status]
    return RestError(status, code, message).response()
