"""Every HubSpot SDK call of one connector: a deadline for the whole call, the rate-limit and
``Date`` headers read from its answer, the answer checked to be HubSpot's, failures typed.

Retrying is not done here: urllib3's retries are off and the sync layer owns the single retry
policy.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from connectors.base import RateLimitStatus, Transient
from connectors.capabilities import answer_date
from connectors.deadline import within_deadline
from connectors.hubspot.errors import parse_json, translate

T = TypeVar("T")
LOG = logging.getLogger(__name__)
ROUND_TRIPS_KEPT = 8
"""Calls whose durations estimate the round trip: enough that one quick answer shows it."""


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def _rate_limit_from_headers(headers: Mapping[str, str]) -> RateLimitStatus | None:
    """The ``X-HubSpot-RateLimit-*`` headers, or None when the response had none (search)."""
    prefix = "X-HubSpot-RateLimit-"
    if headers.get(prefix + "Max") is None and headers.get(prefix + "Daily") is None:
        return None
    interval_ms = _int_header(headers, prefix + "Interval-Milliseconds")
    return RateLimitStatus(
        window_max=_int_header(headers, prefix + "Max"),
        window_remaining=_int_header(headers, prefix + "Remaining"),
        window_seconds=interval_ms / 1000 if interval_ms is not None else None,
        daily_max=_int_header(headers, prefix + "Daily"),
        daily_remaining=_int_header(headers, prefix + "Daily-Remaining"),
    )


def _is_hubspot_answer(data: Any, headers: Mapping[str, str]) -> bool:
    """Whether a 2xx is an answer HubSpot made: JSON that filled some field of its model.

    Something in between (a proxy, a captive portal, a cut connection) can answer 200 with an
    HTML page, ``{}`` or truncated JSON; the SDK turns each into an empty model or None, which
    would read as "no contacts" or "no such list". That is a failure to retry, never an answer.
    """
    if not (headers.get("Content-Type") or "").startswith("application/json"):
        return False
    fields = getattr(data, "openapi_types", None)
    return fields is None or any(getattr(data, name) is not None for name in fields)


@dataclass(frozen=True)
class HubSpotApis:
    """The SDK's API objects a connector uses, each made once: the SDK builds a new ApiClient
    (and connection pool) on every ``.xxx_api`` access."""

    contacts: Any
    batch: Any
    search: Any
    properties: Any
    groups: Any
    lists: Any
    memberships: Any
    exports: Any

    @classmethod
    def of(cls, client: Any) -> HubSpotApis:
        """The APIs of a ``hubspot.HubSpot`` client."""
        crm = client.crm
        return cls(
            contacts=crm.contacts.basic_api,
            batch=crm.contacts.batch_api,
            search=crm.contacts.search_api,
            properties=crm.properties.core_api,
            groups=crm.properties.groups_api,
            lists=crm.lists.lists_api,
            memberships=crm.lists.memberships_api,
            exports=crm.exports.public_exports_api,
        )

    def api_clients(self) -> list[Any]:
        """Each API's ApiClient, whose connection pool ``close`` releases."""
        apis = (
            self.contacts,
            self.batch,
            self.search,
            self.properties,
            self.groups,
            self.lists,
            self.memberships,
            self.exports,
        )
        return [api.api_client for api in apis]


class HubSpotCalls:
    """Runs the SDK's ``*_with_http_info`` calls and remembers what their answers said of the
    CRM's limits and clock."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self.rate_limit = RateLimitStatus()
        self.crm_time: datetime | None = None
        """The ``Date`` of the latest answer (``capabilities.CrmClock``)."""
        self._durations: deque[float] = deque(maxlen=ROUND_TRIPS_KEPT)

    @property
    def round_trip(self) -> float | None:
        """The shortest of the latest answered calls, request to parsed answer, in seconds: the
        network's share of every call (a slow answer is the CRM's work); None before any."""
        return min(self._durations, default=None)

    def call(self, action: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one SDK ``*_with_http_info`` call: a deadline for the whole call (the SDK's
        timeout bounds each read only), rate-limit headers, typed errors."""
        timeout = self.timeout_seconds
        data, status, headers = self._send(
            action, lambda: method(*args, _request_timeout=timeout, **kwargs)
        )
        self._observe(headers)
        if status != 204 and not _is_hubspot_answer(data, headers):
            kind = headers.get("Content-Type") or "no content type"
            what = "empty or truncated JSON" if kind.startswith("application/json") else kind
            raise Transient(f"HubSpot {action}: the answer was not HubSpot's JSON ({what})")
        return data

    def call_for_answer(
        self, action: str, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Like ``call``, but the answer's JSON as HubSpot sent it (None when it is not JSON).

        For the answers that confirm a write: the SDK's models drop keys they do not know
        (``recordIdsAdded``, as HubSpot's docs spell it) and turn a body of an unexpected shape
        (``{}``, an HTML page) into an empty model or None, which must never read as a
        confirmation. And for pages of contacts: a model per contact costs about half a
        millisecond, so a page of 100 took longer to build than a round trip to HubSpot.
        """
        timeout = self.timeout_seconds

        def fetch() -> tuple[Mapping[str, str], bytes]:
            response = method(
                *args, _request_timeout=timeout, _preload_content=False, **kwargs
            )
            try:
                return response.headers, response.data
            finally:
                response.release_conn()

        headers, body = self._send(action, fetch)
        self._observe(headers)
        if LOG.isEnabledFor(logging.DEBUG):  # as the SDK logs the answers it parses
            LOG.debug("HubSpot %s: response body: %r", action, body)
        return parse_json(body)

    def _send(self, action: str, request: Callable[[], T]) -> T:
        """``request()`` within the call's deadline, its failures typed."""
        started = time.monotonic()
        try:
            answer = within_deadline(request, self.timeout_seconds, action)
        except Exception as exc:  # noqa: BLE001 - translate() re-raises what it cannot type
            raise translate(exc, action) from exc
        self._durations.append(time.monotonic() - started)
        return answer

    def _observe(self, headers: Mapping[str, str]) -> None:
        status = _rate_limit_from_headers(headers)
        if status is not None:
            self.rate_limit = status
        sent = answer_date(headers)
        if sent is not None:
            self.crm_time = sent
