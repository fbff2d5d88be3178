"""``SalesforceSandbox``: a running sandbox Salesforce org that tests and the demo talk to.

It serves the REST, Tooling, Bulk API 2.0, OAuth 2.0 token (client credentials and JWT bearer
of its External Client App) and SOAP (login, Metadata) endpoints over TLS on
loopback, with a throwaway CA, because simple-salesforce only builds ``https://`` URLs. In
front of every REST request, in Salesforce's order: faults a test injected (``base``), the
session (401 ``INVALID_SESSION_ID``), the org's daily request allowance (403
``REQUEST_LIMIT_EXCEEDED``), then the endpoint, whose answer carries ``Sforce-Limit-Info``.
A CONNECT proxy lets logins, which simple-salesforce always sends to
``https://{domain}.salesforce.com`` (``login``, ``test`` or the org's My Domain), reach the
sandbox unchanged.
"""

from __future__ import annotations

import re
from datetime import date

import requests

from connectors.sandbox.base import SandboxServer
from connectors.sandbox.limits import Fault, FaultStatus, ListingCut
from connectors.sandbox.proxy import ConnectProxy
from connectors.sandbox.salesforce.auth import Credentials, Sessions, bearer
from connectors.sandbox.salesforce.bulk import BulkApi
from connectors.sandbox.salesforce.errors import (
    concurrent_limit_exceeded,
    invalid_session,
    not_found,
    request_limit_exceeded,
    server_error,
)
from connectors.sandbox.salesforce.oauth import MY_DOMAIN, ExternalClientApp, OAuthApi
from connectors.sandbox.salesforce.query import QueryCursors
from connectors.sandbox.salesforce.rest import SalesforceRestApi
from connectors.sandbox.salesforce.seed import PersonObject, seed_people
from connectors.sandbox.salesforce.soap import SoapApi
from connectors.sandbox.salesforce.store import USERNAME, SalesforceStore
from connectors.sandbox.salesforce.tooling import ToolingApi
from connectors.sandbox.salesforce.usage import ApiUsage
from connectors.sandbox.salesforce.writes import RecordErrorInjector, RecordWriter
from connectors.sandbox.seed import DEFAULT_REFERENCE_DATE
from connectors.sandbox.server import Handler, Request, Response, Router
from connectors.sandbox.tls import SALESFORCE_HOSTNAMES, ThrowawayCA

SALESFORCE_FAULTS: frozenset[FaultStatus] = frozenset({403, 500, 502, 503, 504})
"""What Salesforce's stack answers when it fails or is busy: it does not use 429 on these APIs
but 403 ``REQUEST_LIMIT_EXCEEDED``, here the concurrent-request limit."""
LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com",
               f"https://{MY_DOMAIN}.salesforce.com")
_VERSION = re.compile(r"^v\d{2}\.\d$")


class SalesforceSandbox(SandboxServer):
    """A sandbox org served on ``base_url`` until ``stop()`` (or the ``with`` ends).

    ``daily_limit`` (None: report 100,000 and never refuse) caps API requests per rolling
    24 hours. ``calls`` counts requests per route template ("GET
    /services/data/{version}/query") and ``call_log`` lists them, refused ones included.
    ``port`` 0 takes a free port.
    """

    def __init__(self, daily_limit: int | None = None, *, username: str = USERNAME,
                 password: str = "sandbox-password", security_token: str = "SBXTOKEN42",
                 consumer_key: str = "3MVG9sandbox.segsync.app",
                 consumer_secret: str = "SANDBOXSECRET0123456789", port: int = 0) -> None:
        self.store = SalesforceStore()
        self.username, self.password, self.security_token = username, password, security_token
        self.app = ExternalClientApp(consumer_key, consumer_secret, username, self.store.user_id)
        self._sessions = Sessions()
        self._usage = ApiUsage(daily_limit)
        self._record_errors = RecordErrorInjector()
        self._ca = ThrowawayCA(SALESFORCE_HOSTNAMES)
        writer = RecordWriter(self.store, self._record_errors)
        listing_cut = ListingCut()
        router = Router()
        SalesforceRestApi(self.store, writer, QueryCursors(), self._usage,
                          listing_cut).register(router)
        ToolingApi(self.store).register(router)
        BulkApi(self.store, writer, listing_cut).register(router)
        SoapApi(self.store, self._sessions, Credentials(username, password, security_token),
                lambda: self.instance, self._gate).register(router)
        OAuthApi(self._sessions, self.app, lambda: self.instance_url).register(router)
        try:
            super().__init__(router, self._ca.server_context(), SALESFORCE_FAULTS, port,
                             listing_cut)
        except OSError:  # the port is taken: leave no CA file behind
            self._ca.cleanup()
            raise
        self._proxy = ConnectProxy(("127.0.0.1", self._server.port))

    def _clock_ms(self) -> int:
        return self.store._clock_ms()

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return self._server.base_url

    @property
    def instance_url(self) -> str:
        """``https://127.0.0.1:PORT``, as Salesforce's OAuth returns an instance URL: pass as
        ``Salesforce(instance_url=...)`` (without the scheme simple-salesforce would build
        ``https://None/...``)."""
        return self._server.base_url

    @property
    def instance(self) -> str:
        """``127.0.0.1:PORT``: what ``Salesforce(instance=...)`` takes and SOAP login yields."""
        return f"127.0.0.1:{self._server.port}"

    @property
    def session_id(self) -> str:
        """The session the sandbox opened for direct-session clients (``Salesforce(
        session_id=...)``); logins open others. Invalid after ``expire_session()``."""
        return self._sessions.initial

    @property
    def my_domain(self) -> str:
        """The org's My Domain as simple-salesforce's ``domain`` (client credentials need it)."""
        return MY_DOMAIN

    @property
    def ca_path(self) -> str:
        """PEM file of the sandbox CA (``requests.Session.verify``, ``REQUESTS_CA_BUNDLE``)."""
        return str(self._ca.ca_path)

    @property
    def proxy_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the CONNECT proxy to ``*.salesforce.com`` logins."""
        return self._proxy.url

    def requests_session(self) -> requests.Session:
        """A ``requests.Session`` that trusts the sandbox CA and sends logins to the standard
        login hosts and the My Domain through the proxy, so ``Salesforce(username=...,
        session=...)`` and ``Salesforce(consumer_key=..., domain=sf_box.my_domain, ...)`` work.

        It ignores the environment (``trust_env``): requests lets ``REQUESTS_CA_BUNDLE``
        override ``session.verify`` on every request, which would silently distrust the
        sandbox on machines that set it."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_path
        session.proxies.update(dict.fromkeys(LOGIN_HOSTS, self.proxy_url))
        return session

    def seed_contacts(self, n: int, seed: int, sobject: PersonObject = "Contact",
                      reference_date: date = DEFAULT_REFERENCE_DATE) -> list[str]:
        """Generate ``n`` realistic people (see ``seed``) as Contacts (with Accounts) or
        Leads; their new ids in order."""
        return seed_people(self.store, n, seed, sobject, reference_date)

    def inject_faults(self, status: FaultStatus, count: int = 1, route: str | None = None, *,
                      after_commit: bool = False) -> None:
        """Make the next ``count`` requests to ``route`` (any route when None) fail with a
        5xx (500, 502, 503, 504, as Salesforce's error array), 403 (the concurrent-request
        limit, with ``Sforce-Limit-Info``) or "disconnect" (the connection closes unanswered).
        With ``after_commit`` the request is carried out first and only its answer is lost."""
        self._add_fault(status, count, route, None, after_commit)

    def inject_record_errors(self, status_code: str = "UNABLE_TO_LOCK_ROW",
                             count: int = 1) -> None:
        """Make the next ``count`` record saves (Collections, REST, Bulk rows) fail with
        ``status_code`` inside an otherwise successful response."""
        self._record_errors.add(status_code, count)

    def expire_session(self) -> None:
        """End every session: the next call gets INVALID_SESSION_ID until a new login."""
        self._sessions.expire_all()

    def stop(self) -> None:
        """Shut the server and proxy down and delete the CA file. Safe to call twice."""
        if not self._stopped:
            super().stop()
            self._proxy.stop()
            self._ca.cleanup()

    def _serve(self, request: Request, handler: Handler | None, route: str) -> Response:
        if not request.path.startswith("/services/data/"):
            return handler(request) if handler is not None else not_found().response()
        if not self._sessions.valid(bearer(request.headers.get("Authorization"))):
            return invalid_session().response()
        usage = self._usage.admit()
        if usage.refused:
            return request_limit_exceeded().response(usage.header())
        version = request.params.get("version", "")
        if handler is None or not _VERSION.match(version):
            response = not_found().response()
        else:
            response = handler(request)
        response.headers.update(usage.header())
        return response

    def _gate(self, session_id: str) -> str | None:
        """The Metadata API's session and allowance check (its session is in the body)."""
        if not self._sessions.valid(session_id):
            return "INVALID_SESSION_ID"
        return "REQUEST_LIMIT_EXCEEDED" if self._usage.admit().refused else None

    def _fault_response(self, fault: Fault, route: str) -> Response:
        if fault.status == 403:
            return concurrent_limit_exceeded().response(self._usage.peek().header())
        return server_error(int(fault.status))

