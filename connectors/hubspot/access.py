"""``segsync check`` for HubSpot: every scope a sync needs, proved by reads, by the private
app's token info, or (for a Service Key) by write requests HubSpot must refuse as invalid."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from connectors.access import AccessCheck
from connectors.hubspot.calls import HubSpotApis
from connectors.hubspot.errors import parse_body, translate
from connectors.hubspot.lists import CONTACT_OBJECT_TYPE_ID
from connectors.hubspot.settings import HubSpotSettings

ACCESS_CHECK_LIST = "segsync access check"
"""A list name looked up only to prove lists can be read: it need not exist."""
TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
ALL_SCOPES = (
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.lists.read",
    "crm.lists.write",
)
"""The scopes a Service Key (or private app) needs for segsync."""
WRITE_SCOPES = (
    ("write contacts", "crm.objects.contacts.write"),
    ("create properties", "crm.schemas.contacts.write"),
    ("manage lists", "crm.lists.write"),
)
WHERE_SCOPES_ARE = (
    "a Service Key: HubSpot Settings → Integrations → Service Keys → the key → Scopes; a "
    "private app made before October 2026: Settings → Integrations → Private Apps → the app → "
    "Scopes, then commit the change"
)


def _required_scopes(exc: BaseException) -> list[str]:
    """The scopes a 403 ``MISSING_SCOPES`` body names (any one of them admits the call)."""
    body = parse_body(getattr(exc, "body", None))
    return [
        scope
        for error in body.get("errors") or ()
        if isinstance(error, Mapping)
        for key in ("requiredGranularScopes", "requiredScopes")  # granular since 2023
        for scope in (error.get("context") or {}).get(key) or ()
    ]


def _grant(scopes: Sequence[str]) -> str:
    return f"give the token the scope {' or '.join(scopes)} ({WHERE_SCOPES_ARE})"


class AccessProbe:
    """The probes of one connector's token: reads, and writes HubSpot refuses as invalid."""

    def __init__(self, settings: HubSpotSettings, apis: HubSpotApis) -> None:
        self._settings = settings
        self._contacts = apis.contacts
        self._batch = apis.batch
        self._properties = apis.properties
        self._groups = apis.groups
        self._lists = apis.lists

    def check_access(self, segment_fields: Sequence[str]) -> list[AccessCheck]:
        """Read one contact, segsync's property definitions and a list by name: that proves
        the token and the read scopes. Write scopes are looked up in the private app's token
        info; a Service Key (or an OAuth token) has none, so each write scope is then proved by
        a request HubSpot must refuse as invalid, which it checks for the scope first."""
        timeout = self._settings.timeout_seconds
        checks = [
            self._probe(
                "read contacts",
                lambda: self._contacts.get_page_with_http_info(
                    limit=1, archived=False, _request_timeout=timeout
                ),
                scope="crm.objects.contacts.read",
            )
        ]
        for name in segment_fields:
            checks.append(
                self._probe(
                    f"read property {name}",
                    partial(
                        self._properties.get_by_name_with_http_info,
                        "contacts",
                        name,
                        _request_timeout=timeout,
                    ),
                    scope="crm.schemas.contacts.read",
                    found="exists",
                    absent="not created yet: the first sync creates it",
                )
            )
        checks.append(
            self._probe(
                "read lists",
                lambda: self._lists.get_by_name_with_http_info(
                    ACCESS_CHECK_LIST, CONTACT_OBJECT_TYPE_ID, _request_timeout=timeout
                ),
                scope="crm.lists.read",
                absent="scope crm.lists.read",
            )
        )
        granted = self._granted_scopes()
        if granted is None:
            checks.extend(self._write_probes())
            return checks
        for name, scope in WRITE_SCOPES:
            if scope in granted:
                checks.append(AccessCheck(name, "ok", f"scope {scope}"))
            else:
                checks.append(AccessCheck(name, "failed", _grant([scope])))
        return checks

    def _probe(
        self,
        name: str,
        read: Callable[[], Any],
        *,
        scope: str,
        found: str | None = None,
        absent: str | None = None,
    ) -> AccessCheck:
        """One read proving ``scope`` (``found`` says what it read); a 403 names the scopes to
        grant; a 404 (nothing of that name yet) proves it too when ``absent`` says so."""
        try:
            read()
        except Exception as exc:  # noqa: BLE001 - translate() re-raises what it cannot type
            status = getattr(exc, "status", None)
            if status == 403:
                return AccessCheck(name, "failed", _grant(_required_scopes(exc) or [scope]))
            if status == 404 and absent is not None:
                return AccessCheck(name, "ok", absent)
            raise translate(exc, name) from exc
        return AccessCheck(name, "ok", found or f"scope {scope}")

    def _write_probes(self) -> list[AccessCheck]:
        """Each write scope proved without writing: an empty batch update, an empty property
        group and an empty list are invalid requests (400) to a token holding the scope, and
        403 ``MISSING_SCOPES`` to one that lacks it."""
        timeout = self._settings.timeout_seconds
        senders = {
            "write contacts": lambda: self._batch.update_with_http_info(
                {"inputs": []}, _request_timeout=timeout
            ),
            "create properties": lambda: self._groups.create_with_http_info(
                "contacts", {}, _request_timeout=timeout
            ),
            "manage lists": lambda: self._lists.create_with_http_info(
                {}, _request_timeout=timeout
            ),
        }
        checks = []
        for name, scope in WRITE_SCOPES:
            status: int | None
            try:
                senders[name]()
                status = 200
            except Exception as exc:  # noqa: BLE001 - the status is the answer
                status = getattr(exc, "status", None)
                if status == 403:
                    checks.append(
                        AccessCheck(name, "failed", _grant(_required_scopes(exc) or [scope]))
                    )
                    continue
            how = "a deliberately empty request was refused as invalid, not for its scope"
            if status == 400:
                checks.append(AccessCheck(name, "ok", f"scope {scope} ({how}; no token info)"))
            else:
                detail = f"no token info and the probe answered {status}: {scope}"
                checks.append(AccessCheck(name, "unchecked", detail))
        return checks

    def _granted_scopes(self) -> set[str] | None:
        """The private-app token's scopes from HubSpot's token info (a call that needs none),
        or None when HubSpot does not serve that token: a Service Key or an OAuth token. The
        reads before it proved the token itself, so a refusal here says nothing against it."""
        assert self._settings.token is not None  # checked in __init__
        token = self._settings.token.get_secret_value()
        try:
            response = self._contacts.api_client.rest_client.request(
                "POST",
                self._settings.base_url.rstrip("/") + TOKEN_INFO_PATH,
                headers={"Authorization": f"Bearer {token}"},
                body={"tokenKey": token},
                _request_timeout=self._settings.timeout_seconds,
            )
        except Exception:  # noqa: BLE001 - not served: the write scopes are probed instead
            return None
        scopes = parse_body(response.data).get("scopes")
        return {str(scope) for scope in scopes} if isinstance(scopes, list) else None

