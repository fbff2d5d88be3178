"""What every sandbox CRM shares: a served route table, injected faults and a call log.

A sandbox CRM (HubSpot's, Salesforce's) is a loopback server whose requests first pass the
faults a test asked for (the edge fails before the application sees anything), then the CRM's
own checks and endpoint. Every request is recorded, so a test can prove what a client sent,
e.g. that no batch was sent twice, and a test's request hook sees every request as it arrives,
so it can inject faults or end sessions at exact points of a run rather than by watching the
log from another thread. Subclasses say how a request is served and how a fault looks on their
CRM; the flow around them lives here once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Collection
from email.utils import formatdate
from types import TracebackType
from typing import Self
from urllib.parse import urlencode

from connectors.sandbox.limits import (
    GARBLED_ANSWERS,
    SUPPORTED_FAULTS,
    Fault,
    FaultInjector,
    FaultStatus,
    GarbledAnswer,
    ListingCut,
    Policy,
)
from connectors.sandbox.server import Handler, LoopbackServer, Request, Response, Router


@dataclasses.dataclass(frozen=True)
class CallRecord:
    """One request as the sandbox received it. ``status`` is 0 when the connection was dropped.

    ``body_sha1`` (hex SHA-1 of the raw request body) identifies a payload, so two identical
    batch writes show up as two records with the same digest. ``query`` is the query string
    (sorted): the payload of a request that has no body, such as the ids of a Salesforce
    Collections DELETE.
    """

    method: str
    route: str
    status: int
    body_sha1: str
    query: str = ""


@dataclasses.dataclass(frozen=True)
class Arrival:
    """A request as it reaches the sandbox, before anything serves it.

    ``ordinal`` is its place in the order of arrival (1 for the sandbox's first request);
    ``route`` is its route template, as in ``CallRecord`` and ``inject_faults``.
    """

    ordinal: int
    method: str
    path: str
    route: str


RequestHook = Callable[[Arrival], None]
"""Called for each arriving request; what it does (inject a fault, end a session) applies to
that very request."""


class SandboxServer:
    """A running sandbox: ``router`` served on loopback until ``stop()`` (or the ``with`` ends).

    ``calls`` counts requests per route template ("POST /crm/v3/lists", whatever trailing
    slash the client used; the concrete path for unknown routes) and ``call_log`` lists them
    in arrival order. Both include refused requests (401, rate limits, injected faults).
    ``listing_cut`` is the one the subclass's contact listing obeys (see ``cut_listing``).
    """

    def __init__(
        self,
        router: Router,
        ssl_context: ssl.SSLContext | None = None,
        supported_faults: Collection[FaultStatus] = SUPPORTED_FAULTS,
        port: int = 0,
        listing_cut: ListingCut | None = None,
    ) -> None:
        self.calls: Counter[str] = Counter()
        self.call_log: list[CallRecord] = []
        self._router = router
        self._faults = FaultInjector(supported_faults)
        self._listing_cut = listing_cut or ListingCut()
        self._record_lock = threading.Lock()
        self._arrival_lock = threading.Lock()
        self._arrivals = 0
        self._request_hook: RequestHook | None = None
        self._server = LoopbackServer(router, self._dispatch, ssl_context, port)
        self._server.start()
        self._stopped = False

    def _add_fault(
        self, status: FaultStatus, count: int, route: str | None, policy: Policy | None,
        after_commit: bool,
    ) -> None:
        """Queue a fault after checking its route exists (a typo must fail in the test)."""
        if route is not None and route not in self._router.route_keys():
            raise ValueError(f"unknown route {route!r}; known: {self._router.route_keys()}")
        self._faults.add(Fault(status, count, route, policy, after_commit))

    def on_request(self, hook: RequestHook | None) -> None:
        """Call ``hook`` for every request from now on, before it is served (None: no more).

        The calls are made one at a time, in the order the requests arrive, and a fault the
        hook injects for the next request applies to the request it is looking at. A seeded
        hook therefore fails the same requests of a run on every run, however the server's
        threads are timed, where a thread watching ``call_log`` would race them.
        """
        self._request_hook = hook

    def cut_listing(self, after: int | None) -> None:
        """End every contact listing after ``after`` records (None: list them all again).

        Until cleared, a full listing of live contacts stops early with no sign of it: the
        page that reaches record ``after`` ends there without a next link. Counts, searches,
        deleted-record reads and reads by id are untouched, so the CRM's own total still
        tells the truth.
        """
        self._listing_cut.set(after)

    def stop(self) -> None:
        """Shut the server down and free its port. Safe to call twice."""
        if not self._stopped:
            self._stopped = True
            self._server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, request: Request, handler: Handler | None, route: str) -> Response:
        """The CRM's answer to a request no fault intercepted (auth, limits, the endpoint)."""
        raise NotImplementedError

    def _fault_response(self, fault: Fault, route: str) -> Response:
        """What an injected non-disconnect fault looks like on this CRM."""
        raise NotImplementedError

    def _garbled_answer(self, kind: GarbledAnswer, served: Response | None) -> Response:
        """A 200 of kind ``kind`` in place of the CRM's answer ``served`` (None when the request
        never reached the CRM, as when something in between answers for it)."""
        raise NotImplementedError

    def _dispatch(self, request: Request, handler: Handler | None) -> Response:
        route = request.route or f"{request.method} {request.path}"
        fault = self._arrive(request, route)
        if fault is None:
            response = self._serve(request, handler, route)
        elif fault.status in GARBLED_ANSWERS:
            carried_out = fault.after_commit or fault.status == "partial_answer"
            served = self._serve(request, handler, route) if carried_out else None
            response = self._garbled_answer(fault.status, served)
        else:
            if fault.after_commit:
                self._serve(request, handler, route)
            response = (Response(status=0, drop_connection=True) if fault.status == "disconnect"
                        else self._fault_response(fault, route))
        self._record(request, route, response)
        return self._dated(response)

    def _arrive(self, request: Request, route: str) -> Fault | None:
        """Number the request, show it to the hook, and take the fault it meets, as one step:
        a concurrent request cannot take a fault the hook injected for this one."""
        with self._arrival_lock:
            self._arrivals += 1
            if self._request_hook is not None:
                self._request_hook(Arrival(self._arrivals, request.method, request.path, route))
            return self._faults.take(route)

    def _dated(self, response: Response) -> Response:
        """Every answer carries the CRM's clock in ``Date`` (RFC 9110 §6.6.1: an origin server
        with a clock must send it; HubSpot's and Salesforce's answers do), which segsync reads
        as the CRM's time."""
        date = formatdate(self._clock_ms() / 1000, usegmt=True)
        return dataclasses.replace(response, headers={**response.headers, "Date": date})

    def _clock_ms(self) -> int:
        """The CRM's clock, in epoch milliseconds: its store's, which a test may move on."""
        raise NotImplementedError

    def _record(self, request: Request, route: str, response: Response) -> None:
        digest = hashlib.sha1(request.body).hexdigest()
        query = urlencode(sorted(request.query.items()), doseq=True)
        record = CallRecord(request.method, route, response.status, digest, query)
        with self._record_lock:
            self.calls[route] += 1
            self.call_log.append(record)
