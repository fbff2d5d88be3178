"""``SandboxCRM``: a running sandbox HubSpot portal that tests and the demo talk to.

It wires the store, the HubSpot handlers and the loopback server together and puts the
cross-cutting behaviour of the real API in front of every request, in HubSpot's order:
faults a test injected (the edge fails before the application sees anything), bearer-token
authentication, rate limits, then the endpoint. Every request is recorded, so a test can prove
what a client sent, e.g. that no batch was sent twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import Counter
from datetime import date
from types import TracebackType

from connectors.sandbox import hubspot
from connectors.sandbox.limits import (
    Fault,
    FaultInjector,
    FaultStatus,
    Policy,
    RateLimiter,
    SandboxLimits,
)
from connectors.sandbox.seed import DEFAULT_REFERENCE_DATE, generate_contacts
from connectors.sandbox.server import Handler, LoopbackServer, Request, Response, Router
from connectors.sandbox.store import SandboxStore


@dataclasses.dataclass(frozen=True)
class CallRecord:
    """One request as the sandbox received it. ``status`` is 0 when the connection was dropped.

    ``body_sha1`` (hex SHA-1 of the raw request body) identifies a payload, so two identical
    batch writes show up as two records with the same digest.
    """

    method: str
    route: str
    status: int
    body_sha1: str


class SandboxCRM:
    """A sandbox HubSpot portal served on ``base_url`` until ``stop()`` (or the ``with`` ends).

    ``calls`` counts requests per route template ("POST /crm/v3/lists", whatever trailing
    slash the client used; the concrete path for unknown routes) and ``call_log`` lists them
    in arrival order. Both include refused requests (401, 429, injected faults).
    """

    def __init__(self, token: str = "sandbox-token", limits: SandboxLimits | None = None) -> None:
        self.store = SandboxStore()
        self.calls: Counter[str] = Counter()
        self.call_log: list[CallRecord] = []
        self._token = token
        self._limiter = RateLimiter(limits or SandboxLimits())
        self._faults = FaultInjector()
        self._record_lock = threading.Lock()
        self._router = Router()
        hubspot.HubSpotApi(self.store).register(self._router)
        self._server = LoopbackServer(self._router, self._dispatch)
        self._server.start()
        self._stopped = False

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: pass as ``host`` to ``hubspot.HubSpot``."""
        return self._server.base_url

    def seed_contacts(
        self, n: int, seed: int, reference_date: date = DEFAULT_REFERENCE_DATE
    ) -> list[str]:
        """Generate ``n`` realistic contacts (see ``seed``) and insert them; their new ids."""
        return self.store.add_contacts(generate_contacts(n, seed, reference_date))

    def inject_faults(
        self,
        status: FaultStatus,
        count: int = 1,
        route: str | None = None,
        *,
        policy: Policy | None = None,
        after_commit: bool = False,
    ) -> None:
        """Make the next ``count`` requests to ``route`` (any route when None) fail.

        ``status`` is 429 (HubSpot's rate-limit body for ``policy``, by default the one the
        route would hit: SECONDLY for search, TEN_SECONDLY_ROLLING otherwise), a 5xx (500 as
        JSON, 502-504 and 520-524 as the HTML pages of HubSpot's edge) or "disconnect" (the
        connection closes with no response). With ``after_commit`` the request is carried out
        first and only its answer is lost: what a timed-out write looks like to a client.
        """
        if route is not None and route not in self._router.route_keys():
            raise ValueError(f"unknown route {route!r}; known: {self._router.route_keys()}")
        self._faults.add(Fault(status, count, route, policy, after_commit))

    def stop(self) -> None:
        """Shut the server down and free its port. Safe to call twice."""
        if not self._stopped:
            self._stopped = True
            self._server.stop()

    def __enter__(self) -> SandboxCRM:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _dispatch(self, request: Request, handler: Handler | None) -> Response:
        route = request.route or f"{request.method} {request.path}"
        fault = self._faults.take(route)
        if fault is None:
            response = self._serve(request, handler, route)
        else:
            if fault.after_commit:
                self._serve(request, handler, route)
            response = self._fault_response(fault, route)
        self._record(request, route, response)
        return response

    def _serve(self, request: Request, handler: Handler | None, route: str) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            return hubspot.unauthorized()
        search = route == hubspot.SEARCH_ROUTE
        usage = self._limiter.admit(search)
        if usage.refused_by is not None:
            return hubspot.rate_limited(usage.refused_by, usage)
        response = handler(request) if handler is not None else hubspot.unknown_route(request)
        if not search:
            response.headers.update(usage.headers())
        return response

    def _fault_response(self, fault: Fault, route: str) -> Response:
        if fault.status == "disconnect":
            return Response(status=0, drop_connection=True)
        if fault.status != 429:
            return hubspot.server_error(fault.status)
        policy = fault.policy or ("SECONDLY" if route == hubspot.SEARCH_ROUTE
                                  else "TEN_SECONDLY_ROLLING")
        usage = self._limiter.peek()
        exhausted = (dataclasses.replace(usage, daily_remaining=0) if policy == "DAILY"
                     else dataclasses.replace(usage, remaining=0))
        return hubspot.rate_limited(policy, exhausted)

    def _record(self, request: Request, route: str, response: Response) -> None:
        digest = hashlib.sha1(request.body).hexdigest()
        with self._record_lock:
            self.calls[route] += 1
            self.call_log.append(CallRecord(request.method, route, response.status, digest))
