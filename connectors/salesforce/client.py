"""One authenticated ``simple_salesforce.Salesforce``: lazy login, one renewal, typed errors.

simple-salesforce renews a session only inside ``Salesforce`` REST calls and only when it
logged in itself (up to three times); its Bulk 2.0 paths never do. So the client logs in
itself and hands simple-salesforce a plain session, which switches that renewal off, and
renews exactly once here for every kind of call. It also gives simple-salesforce a
``requests.Session`` whose adapter puts a timeout on every request (the library sets none,
login and Bulk 2.0 included) and trusts ``ca_bundle``; urllib3's retries stay off because the
sync layer owns the one retry policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.util import Usage

from connectors.access import AccessCheck
from connectors.base import AuthFailed, RateLimitStatus, Transient
from connectors.capabilities import answer_date
from connectors.deadline import DeadlineExceeded, within_deadline
from connectors.salesforce.errors import FieldGrant, is_expired_session, translate
from connectors.salesforce.settings import SalesforceSettings

T = TypeVar("T")
LoginMethod = Literal["client_credentials", "jwt", "password", "session"]
FIRST_VERSION_WITHOUT_SOAP_LOGIN = 65.0
"""SOAP ``login()`` is unavailable from API 65.0, off by default in new orgs, and retired for
every version in Summer '27 (Salesforce Help article 005132110); at 65.0 Salesforce answers
``INVALID_OPERATION`` (forcedotcom/wsc issue #363)."""
GENERIC_LOGIN_HOSTS = ("login", "test")


class CallAdapter(HTTPAdapter):
    """An HTTP adapter that applies the timeout (as a deadline for the whole call) and CA bundle
    to every request, never retrying.

    The CA bundle is applied here rather than as ``Session.verify``, because requests lets a
    ``REQUESTS_CA_BUNDLE`` in the environment override the session's setting.
    """

    def __init__(self, timeout: float, ca_bundle: str | None) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout
        self.ca_bundle = ca_bundle
        self.crm_time: datetime | None = None
        """The ``Date`` of the latest answer: the org's clock (``capabilities.CrmClock``)."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        def send() -> requests.Response:
            response = super(CallAdapter, self).send(
                request,
                stream=stream,
                timeout=self.timeout if timeout is None else timeout,
                verify=self.ca_bundle if self.ca_bundle is not None else verify,
                cert=cert,
                proxies=proxies,
            )
            if not stream:
                response.content  # noqa: B018 - read the body here, within the deadline
            self.crm_time = answer_date(response.headers) or self.crm_time
            return response

        try:  # requests' timeout bounds each read; the deadline bounds the whole call
            call = f"{request.method} {urlsplit(request.url or '').path}"
            return within_deadline(send, self.timeout, call)
        except DeadlineExceeded as exc:
            raise requests.Timeout(str(exc), request=request) from None


def http_session(settings: SalesforceSettings) -> requests.Session:
    """The session every call of the connector goes through, login included."""
    session = requests.Session()
    ca_bundle = str(settings.ca_bundle) if settings.ca_bundle is not None else None
    adapter = CallAdapter(settings.timeout_seconds, ca_bundle)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def login_method(settings: SalesforceSettings) -> LoginMethod:
    """The first complete way to log in: client credentials, JWT bearer, password (legacy),
    then a given session. A method Salesforce would refuse is refused here, before any call."""
    if settings.consumer_key and settings.consumer_secret:
        if settings.domain in GENERIC_LOGIN_HOSTS:
            raise AuthFailed(
                "Salesforce client credentials log in at the org's My Domain, not "
                f"{settings.domain}.salesforce.com: set domain in [salesforce] to it, e.g. "
                '"acme.my" for acme.my.salesforce.com (Setup → My Domain).'
            )
        return "client_credentials"
    if settings.username and settings.consumer_key and settings.private_key:
        return "jwt"
    if settings.username and settings.password:
        if float(settings.api_version) >= FIRST_VERSION_WITHOUT_SOAP_LOGIN:
            raise AuthFailed(
                f"Salesforce password login (SOAP login()) is unavailable at api_version "
                f"{settings.api_version}: log in with client credentials (consumer_key in "
                "[salesforce], SEGSYNC_SALESFORCE__CONSUMER_SECRET, domain = your My Domain)."
            )
        return "password"
    if settings.session_id and settings.instance_url:
        return "session"
    raise AuthFailed(
        "No Salesforce credentials: set consumer_key and domain (your My Domain) in "
        "[salesforce] and SEGSYNC_SALESFORCE__CONSUMER_SECRET for client credentials, or "
        "username, consumer_key and SEGSYNC_SALESFORCE__PRIVATE_KEY for JWT, or instance_url "
        "and SEGSYNC_SALESFORCE__SESSION_ID."
    )


LOGIN_NAMES: dict[LoginMethod, str] = {
    "client_credentials": "OAuth 2.0 client credentials",
    "jwt": "OAuth 2.0 JWT bearer",
    "password": "password (SOAP login())",
    "session": "a given session",
}


def login_check(method: LoginMethod) -> AccessCheck:
    """``segsync check``'s row for the login method: the legacy password login still works
    below API 65.0, but Salesforce retires it for every version in Summer '27 (June 2027)."""
    name = "login method"
    if method == "password":
        return AccessCheck(
            name,
            "warning",
            "password login uses SOAP login(), which Salesforce retires in Summer '27 (June "
            "2027) and new orgs have off: switch to client credentials (consumer_key, "
            "SEGSYNC_SALESFORCE__CONSUMER_SECRET, domain = your My Domain).",
        )
    return AccessCheck(name, "ok", LOGIN_NAMES[method])


def required_permission_set(settings: SalesforceSettings) -> str:
    """The permission set that grants segsync's fields. Required, because guessing one from
    the user's assignments could pick a set that cannot be edited (one owned by a profile or
    a managed package), or grant a set other integrations rely on."""
    if not settings.permission_set:
        raise AuthFailed(
            "set permission_set in [salesforce] to the API name of a permission set assigned "
            "to the integration user (e.g. Segsync_Integration): segsync grants its fields there."
        )
    return settings.permission_set


class SalesforceClient:
    """Runs calls against one org with a session it renews once when Salesforce ends it."""

    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        self.method = login_method(settings)
        self.permission_set = required_permission_set(settings)
        self.session = http_session(settings)
        self.grant = FieldGrant(settings.object, self.permission_set)
        self._sf: Salesforce | None = None
        self._usage: Usage | None = None

    def call(
        self,
        action: str,
        fn: Callable[[Salesforce], T],
        *,
        fields: Sequence[str] = (),
        after_login: Callable[[Salesforce], T] | None = None,
    ) -> T:
        """``fn(sf)`` as one typed-error unit of work.

        On ``INVALID_SESSION_ID`` the client logs in again once and runs ``after_login`` (by
        default ``fn`` again): a query locator belongs to the session that opened it, so a
        paging call restarts its query there instead. ``fields`` are the fields the call
        names, so an ``INVALID_FIELD`` about one of them says which permission to grant.
        """
        try:
            try:
                return self._run(fn)
            except Exception as exc:
                if not (is_expired_session(exc) and self.method != "session"):
                    raise
                self._sf = None
                return self._run(after_login or fn)
        except Exception as exc:  # translate() re-raises what it cannot type
            raise translate(exc, action, fields, self.grant) from exc

    def rest(
        self,
        action: str,
        path: str,
        *,
        method: str = "GET",
        body: Any = None,
        params: dict[str, str] | None = None,
        fields: Sequence[str] = (),
    ) -> Any:
        """One REST call relative to ``/services/data/vXX.X/``: parsed JSON, None for a 204."""
        return self.call(
            action,
            lambda sf: sf.restful(path, params=params, method=method, json=body),
            fields=fields,
        )

    def query(self, action: str, soql: str, *, tooling: bool = False) -> list[Mapping[str, Any]]:
        """The records of a query known to fit in one page (at most 2,000 rows)."""
        result = self.rest(action, "tooling/query/" if tooling else "query/", params={"q": soql})
        if not isinstance(result, Mapping) or not isinstance(result.get("records"), list):
            raise Transient(f"Salesforce {action}: the answer held no records list")
        return list(result["records"])

    def rate_limit_status(self) -> RateLimitStatus:
        """The org's daily request usage from the last ``Sforce-Limit-Info`` header seen."""
        if self._usage is None:
            return RateLimitStatus()
        return RateLimitStatus(
            daily_max=self._usage.total,
            daily_remaining=max(self._usage.total - self._usage.used, 0),
        )

    def crm_time(self) -> datetime | None:
        """The org's clock at the latest answer (login included)."""
        adapter = self.session.get_adapter("https://")  # the one adapter of every call
        return adapter.crm_time if isinstance(adapter, CallAdapter) else None

    def close(self) -> None:
        self.session.close()

    def _run(self, fn: Callable[[Salesforce], T]) -> T:
        if self._sf is None:
            self._sf = self._connect()
        result = fn(self._sf)
        usage = self._sf.api_usage.get("api-usage")
        if isinstance(usage, Usage):
            self._usage = usage
        return result

    def _connect(self) -> Salesforce:
        settings = self.settings
        if self.method == "session":
            assert settings.session_id is not None  # guaranteed by login_method()
            return Salesforce(
                session_id=settings.session_id.get_secret_value(),
                instance_url=settings.instance_url,
                version=settings.api_version,
                session=self.session,
            )
        if self.method == "client_credentials":
            assert settings.consumer_secret is not None  # guaranteed by login_method()
            session_id, instance = SalesforceLogin(
                consumer_key=settings.consumer_key,
                consumer_secret=settings.consumer_secret.get_secret_value(),
                domain=settings.domain,
                session=self.session,
            )
        elif self.method == "jwt":
            assert settings.private_key is not None
            session_id, instance = SalesforceLogin(
                username=settings.username,
                consumer_key=settings.consumer_key,
                privatekey=settings.private_key.get_secret_value(),
                domain=settings.domain,
                session=self.session,
            )
        else:
            assert settings.password is not None
            token = settings.security_token
            session_id, instance = SalesforceLogin(
                username=settings.username,
                password=settings.password.get_secret_value(),
                security_token=token.get_secret_value() if token is not None else "",
                domain=settings.domain,
                sf_version=settings.api_version,
                session=self.session,
            )
        return Salesforce(
            session_id=session_id,
            instance=instance,
            version=settings.api_version,
            session=self.session,
        )
