"""``HubSpotSandbox``: a running sandbox HubSpot portal that tests and the demo talk to.

It wires the store and the HubSpot handlers into a ``SandboxServer`` and puts the cross-cutting
behaviour of the real API in front of every request, in HubSpot's order: faults a test injected
(``base``), bearer-token authentication, the token's scopes, rate limits, then the endpoint.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection
from datetime import date

from connectors.sandbox.base import SandboxServer
from connectors.sandbox.hubspot import api, exports
from connectors.sandbox.hubspot.scopes import (
    ALL_SCOPES,
    TOKEN_INFO_PATH,
    missing_scopes,
    token_info,
)
from connectors.sandbox.hubspot.store import HubSpotStore
from connectors.sandbox.limits import (
    Fault,
    FaultStatus,
    GarbledAnswer,
    ListingCut,
    Policy,
    RateLimiter,
    SandboxLimits,
)
from connectors.sandbox.seed import DEFAULT_REFERENCE_DATE, generate_contacts
from connectors.sandbox.server import Handler, Request, Response, Router


class HubSpotSandbox(SandboxServer):
    """A sandbox HubSpot portal served on ``base_url`` until ``stop()`` (or the ``with`` ends).

    ``calls`` counts requests per route template ("POST /crm/v3/lists", whatever trailing
    slash the client used; the concrete path for unknown routes) and ``call_log`` lists them
    in arrival order. Both include refused requests (401, 403, 429, injected faults).

    ``scopes`` are the private-app scopes the token holds (None: all of them); a route none of
    whose scopes it holds is refused with HubSpot's 403 ``MISSING_SCOPES``. With
    ``service_key`` the token is a Service Key: it works on every route its scopes admit, but
    the private-app token-info endpoint does not know it (it answers as for any unknown key).
    ``port`` 0 takes a free port.

    ``latency`` seconds are spent on every request before it is served, as on a round trip to
    the real API (~0.1-0.3 s): loopback answers in milliseconds, which would hide whether a
    client can reach its rate limit one call at a time.
    """

    def __init__(self, token: str = "sandbox-token", limits: SandboxLimits | None = None,
                 scopes: Collection[str] | None = None, port: int = 0,
                 latency: float = 0.0, service_key: bool = False) -> None:
        self.store = HubSpotStore()
        self._token = token
        self._latency = latency
        self._scopes = frozenset(ALL_SCOPES if scopes is None else scopes)
        self._limiter = RateLimiter(limits or SandboxLimits())
        listing_cut = ListingCut()
        router = Router()
        api.HubSpotApi(self.store, listing_cut).register(router)
        self.exports = exports.ExportsApi(self.store, listing_cut)
        self.exports.register(router)
        router.add("POST", TOKEN_INFO_PATH, token_info(
            None if service_key else token, self._scopes, api.PORTAL_ID, api.APP_ID))
        super().__init__(router, port=port, listing_cut=listing_cut)

    def _clock_ms(self) -> int:
        return self.store._clock_ms()

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

        Garbled answers are 200s that confirm less than they seem to: ``{}`` ("empty_answer")
        or an HTML page ("html_answer"), from something between client and CRM that answered
        instead of it (the request is not carried out unless ``after_commit``), or a batch
        answer carried out whose ``results`` lack half the records written ("partial_answer").
        A 200 is no proof that a record was written; only its id in ``results`` is.
        """
        self._add_fault(status, count, route, policy, after_commit)

    def _serve(self, request: Request, handler: Handler | None, route: str) -> Response:
        if self._latency:
            time.sleep(self._latency)
        if route == exports.DOWNLOAD_ROUTE and handler is not None:
            return handler(request)  # an export's pre-signed file link: no token, no limit
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            return api.unauthorized()
        refused = missing_scopes(route, self._scopes)
        if refused is not None:
            return refused
        search = route == api.SEARCH_ROUTE
        usage = self._limiter.admit(search)
        if usage.refused_by is not None:
            return api.rate_limited(usage.refused_by, usage)
        response = handler(request) if handler is not None else api.unknown_route(request)
        if not search:
            response.headers.update(usage.headers())
        return response

    def _garbled_answer(self, kind: GarbledAnswer, served: Response | None) -> Response:
        return api.garbled_answer(kind, served)

    def _fault_response(self, fault: Fault, route: str) -> Response:
        if fault.status != 429:
            return api.server_error(int(fault.status))
        policy = fault.policy or ("SECONDLY" if route == api.SEARCH_ROUTE
                                  else "TEN_SECONDLY_ROLLING")
        usage = self._limiter.peek()
        exhausted = (dataclasses.replace(usage, daily_remaining=0) if policy == "DAILY"
                     else dataclasses.replace(usage, remaining=0))
        return api.rate_limited(policy, exhausted)
