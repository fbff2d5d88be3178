"""The OAuth 2.0 token endpoint, ``POST /services/oauth2/token``, for server-to-server logins.

Two grants, as Salesforce documents them (Salesforce Help, "OAuth 2.0 Client Credentials Flow
for Server-to-Server Integration" and "OAuth 2.0 JWT Bearer Flow for Server-to-Server
Integration"; what simple-salesforce's ``SalesforceLogin`` sends is in its ``login.py``):

- ``grant_type=client_credentials``: the External Client App's consumer key and secret, as
  ``client_id``/``client_secret`` form fields or an HTTP Basic ``Authorization`` header (RFC
  6749 §2.3.1; simple-salesforce sends the header). Only the org's My Domain serves it: at
  ``login.salesforce.com`` or ``test.salesforce.com`` Salesforce answers ``invalid_grant``
  "request not supported on this domain". The session belongs to the app's run-as user.
- ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with an ``assertion``: a JWT
  signed RS256 by the key whose certificate the app holds, ``iss`` the consumer key, ``sub`` the
  username, ``aud`` the login host (``https://login.salesforce.com``, ``https://test...`` or the
  My Domain URL), ``exp`` in the future.

Success is 200 ``{access_token, instance_url, id, token_type, issued_at, signature}``; failure
is 400 ``{error, error_description}`` (``invalid_client``, ``invalid_grant``,
``unsupported_grant_type``, with Salesforce's descriptions where they are published; the
assertion descriptions are sandbox text).

``GET /services/oauth2/userinfo`` (OpenID Connect's UserInfo endpoint; Salesforce Help, "Query
for User Information") answers who a session belongs to: ``sub`` (the identity URL),
``user_id``, ``organization_id``, ``preferred_username``; an invalid token gets 403
``Bad_OAuth_Token``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.sandbox.salesforce.auth import Sessions, bearer
from connectors.sandbox.salesforce.schema import ORG_ID
from connectors.sandbox.server import Request, Response, Router, json_response

TOKEN_PATH = "/services/oauth2/token"
USERINFO_PATH = "/services/oauth2/userinfo"
CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_HOSTNAMES = ("login.salesforce.com", "test.salesforce.com")
MY_DOMAIN = "segsync-sandbox.my"
"""The sandbox org's My Domain, as ``domain`` in simple-salesforce (host
``segsync-sandbox.my.salesforce.com``, which the sandbox certificate and proxy cover)."""


@functools.cache
def signing_key() -> rsa.RSAPrivateKey:
    """The key of the certificate uploaded to the sandbox's External Client App (one per
    process: generating RSA keys is slow, and tests only need it to be a real key)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class ExternalClientApp:
    """The sandbox org's External Client App: its consumer key and secret, the certificate
    (public key) that checks JWT assertions, and the user its sessions run as."""

    consumer_key: str
    consumer_secret: str
    username: str
    user_id: str

    @property
    def private_key_pem(self) -> str:
        """The PEM private key a JWT bearer client signs with (``privatekey=``)."""
        return signing_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def client_matches(self, client_id: str, client_secret: str) -> bool:
        return secrets.compare_digest(client_id, self.consumer_key) and secrets.compare_digest(
            client_secret, self.consumer_secret
        )


class OAuthError(Exception):
    """A refused token request: the OAuth error code and Salesforce's description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class OAuthApi:
    """The token endpoint over the org's sessions."""

    def __init__(self, sessions: Sessions, app: ExternalClientApp,
                 instance_url: Callable[[], str]) -> None:
        self._sessions = sessions
        self._app = app
        self._instance_url = instance_url

    def register(self, router: Router) -> None:
        """Add the token route (no session needed: it makes them)."""
        router.add("POST", TOKEN_PATH, self.token)
        router.add("GET", USERINFO_PATH, self.userinfo)

    def userinfo(self, request: Request) -> Response:
        """The user a valid bearer token belongs to (the app's run-as user)."""
        if not self._sessions.valid(bearer(request.headers.get("Authorization"))):
            return Response(status=403, body=b"Bad_OAuth_Token", content_type="text/plain")
        return json_response(200, {
            "sub": self._identity(), "user_id": self._app.user_id, "organization_id": ORG_ID,
            "preferred_username": self._app.username, "active": True,
        })

    def token(self, request: Request) -> Response:
        """A session for a valid grant, or 400 ``{error, error_description}``."""
        form = {key: values[0] for key, values in
                parse_qs(request.body.decode("utf-8", "replace")).items()}
        try:
            grant_type = form.get("grant_type")
            if grant_type == CLIENT_CREDENTIALS:
                self._client_credentials(request, form)
            elif grant_type == JWT_BEARER:
                self._jwt_bearer(form.get("assertion", ""))
            else:
                raise OAuthError("unsupported_grant_type", "grant type not supported")
        except OAuthError as refused:
            return json_response(400, {"error": refused.error,
                                       "error_description": refused.description})
        return json_response(200, self._issue())

    def _client_credentials(self, request: Request, form: dict[str, str]) -> None:
        host = (request.headers.get("Host") or "").split(":")[0].lower()
        if host in LOGIN_HOSTNAMES:
            raise OAuthError("invalid_grant", "request not supported on this domain")
        client_id, client_secret = _basic_credentials(request.headers.get("Authorization"))
        client_id = form.get("client_id", client_id)
        client_secret = form.get("client_secret", client_secret)
        if not self._app.client_matches(client_id, client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _jwt_bearer(self, assertion: str) -> None:
        audiences = [f"https://{host}" for host in LOGIN_HOSTNAMES] + [
            f"https://{MY_DOMAIN}.salesforce.com"
        ]
        try:
            claims = jwt.decode(
                assertion, signing_key().public_key(), algorithms=["RS256"], audience=audiences,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise OAuthError("invalid_grant", "expired authorization code") from exc
        except jwt.InvalidAudienceError as exc:
            raise OAuthError("invalid_grant", "audience is invalid") from exc
        except jwt.InvalidTokenError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        if claims["iss"] != self._app.consumer_key:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if claims["sub"] != self._app.username:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")

    def _identity(self) -> str:
        return f"https://login.salesforce.com/id/{ORG_ID}/{self._app.user_id}"

    def _issue(self) -> dict[str, str]:
        identity = self._identity()
        issued_at = str(time.time_ns() // 1_000_000)
        digest = hmac.new(self._app.consumer_secret.encode(), (identity + issued_at).encode(),
                          hashlib.sha256).digest()
        return {
            "access_token": self._sessions.issue(),
            "instance_url": self._instance_url(),
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest).decode(),
        }


def _basic_credentials(authorization: str | None) -> tuple[str, str]:
    """``client_id`` and ``client_secret`` from ``Authorization: Basic ...`` ("" when absent)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret
