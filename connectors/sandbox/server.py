"""HTTP plumbing for the sandbox CRMs: a loopback server, a route table and JSON helpers.

Nothing here knows about a particular CRM. The server speaks HTTP/1.1 with exact Content-Length
so that urllib3 (under the vendor SDKs) keeps its connections alive exactly as it does against
the real API; a sandbox that closed every connection would hide connection-reuse bugs and run
slower. It can also speak TLS, because some clients (simple-salesforce) only ever build
``https://`` URLs.
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

LOOPBACK = "127.0.0.1"
"""The only address a sandbox listens on."""

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
"""HubSpot's exact Content-Type (no space before ``charset``)."""

INTERNAL_ERROR = b'{"status":"error","message":"internal error"}'


@dataclass(frozen=True)
class Request:
    """One parsed request. ``route`` is the matched template ("POST /a/{id}") or None."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    route: str | None
    params: dict[str, str]

    def query_value(self, name: str) -> str | None:
        """The first value of a query parameter, or None when absent."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    """What to send back. ``drop_connection`` closes the socket without sending anything."""

    status: int
    body: bytes = b""
    content_type: str = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """A compact JSON response, the way HubSpot's Java stack serialises (no spaces)."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(status=status, body=body, headers=dict(headers or {}))


Handler = Callable[[Request], Response]


class Router:
    """Maps (method, path) to a handler through templates such as ``/crm/v3/lists/{listId}``.

    Templates are matched segment by segment on the raw (percent-encoded) path, then each
    parameter is decoded, so a list named "a/b" (sent as ``a%2Fb``) stays one segment. A trailing
    slash is ignored because the HubSpot SDK posts to ``/crm/v3/lists/`` and HubSpot accepts both.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Register a handler; earlier registrations win when two templates match."""
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self._routes.append((method, re.compile(f"^{pattern}$"), template, handler))

    def route_keys(self) -> list[str]:
        """Every registered route as "METHOD /template", in registration order."""
        return [f"{method} {template}" for method, _, template, _ in self._routes]

    def resolve(self, method: str, raw_path: str) -> tuple[str, Handler, dict[str, str]] | None:
        """The route key ("METHOD /template"), its handler and decoded parameters, or None."""
        path = raw_path.rstrip("/") or "/"
        for route_method, pattern, template, handler in self._routes:
            if route_method != method:
                continue
            match = pattern.match(path)
            if match:
                params = {name: unquote(value) for name, value in match.groupdict().items()}
                return f"{method} {template}", handler, params
        return None


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 that hands each request to ``app``.

    ``port`` 0 takes a free port (tests); a fixed one suits a sandbox people point configs at.

    ``app`` receives the parsed request with its route already resolved (None when no route
    matched) and returns the response; the server only does the wire work.
    """

    def __init__(
        self,
        router: Router,
        app: Callable[[Request, Handler | None], Response],
        ssl_context: ssl.SSLContext | None = None,
        port: int = 0,
    ) -> None:
        handler_class = _make_handler(router, app)
        if ssl_context is None:
            self._httpd: _QuietServer = _QuietServer((LOOPBACK, port), handler_class)
        else:
            self._httpd = _TLSServer((LOOPBACK, port), handler_class, ssl_context)
        self._scheme = "http" if ssl_context is None else "https"
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with TLS) — what an SDK takes as its host."""
        return f"{self._scheme}://{LOOPBACK}:{self.port}"

    @property
    def port(self) -> int:
        """The loopback port the server listens on."""
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        """Begin serving in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests and release the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _QuietServer(ThreadingHTTPServer):
    """Clients hanging up (a test's timeout, a closed pool, a TLS session torn down mid-record)
    is normal, not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _TLSServer(_QuietServer):
    """The same server behind TLS. The handshake runs in the request's own thread, so a slow or
    broken client cannot stall the accept loop."""

    def __init__(
        self,
        address: tuple[str, int],
        handler_class: type[BaseHTTPRequestHandler],
        ssl_context: ssl.SSLContext,
    ) -> None:
        super().__init__(address, handler_class)
        self._ssl_context = ssl_context

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        wrapped = self._ssl_context.wrap_socket(
            sock, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # a client that gives up on TLS (e.g. it does not trust the CA) is normal
        super().finish_request(request, client_address)


def _make_handler(
    router: Router, app: Callable[[Request, Handler | None], Response]
) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes; without TCP_NODELAY, Nagle plus delayed ACKs
        # would add ~40 ms to every keep-alive request on loopback.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silence the per-request stderr line; tests read ``call_log`` instead."""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            resolved = router.resolve(self.command, parts.path)
            route, handler, params = resolved if resolved else (None, None, {})
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=self.headers,
                body=body,
                route=route,
                params=params,
            )
            try:
                response = app(request, handler)
            except Exception:  # a sandbox bug: answer like HubSpot's 500, and show the trace
                traceback.print_exc()
                response = Response(status=500, body=INTERNAL_ERROR)
            self._send(response)

        def date_time_string(self, timestamp: float | None = None) -> str:
            """The answer's ``Date``: the one the app set (a sandbox CRM's clock, which a test
            may move on), else the machine's."""
            return getattr(self, "_date", None) or super().date_time_string(timestamp)

        def _send(self, response: Response) -> None:
            if response.drop_connection:
                self.close_connection = True
                return
            self._date = response.headers.get("Date")
            self.send_response(response.status)  # sends the Date header
            for name, value in response.headers.items():
                if name != "Date":
                    self.send_header(name, value)
            if response.status != 204:
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.status != 204:
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return _Handler
