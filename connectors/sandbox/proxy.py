"""An HTTP CONNECT proxy that tunnels Salesforce's public host names to the loopback sandbox.

simple-salesforce logs in at ``https://{domain}.salesforce.com/services/Soap/u/{version}`` with
no way to change the host, so a client that logs in with a username and password cannot reach a
local server by configuration alone. Pointing its ``requests`` session at this proxy (the
``proxies`` of the session, or ``HTTPS_PROXY`` in the environment) sends the unchanged request,
TLS and all, to the sandbox, whose certificate is valid for those names. The proxy never looks
inside the tunnel.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading

from connectors.sandbox.server import LOOPBACK

TUNNEL_SUFFIXES = (".salesforce.com",)
TUNNEL_HOSTS = (LOOPBACK, "localhost")
BUFFER = 65_536


class ConnectProxy:
    """Tunnels ``CONNECT host:port`` to ``target`` for Salesforce hosts and loopback; refuses
    every other host with 403, so a test can never reach the real Salesforce by mistake."""

    def __init__(self, target: tuple[str, int]) -> None:
        proxy = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._tunnel(self.request)

        self._target = target
        self._server = socketserver.ThreadingTCPServer((LOOPBACK, 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: a ``proxies`` value (or ``HTTPS_PROXY``) for requests."""
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop accepting tunnels; open ones end when either side closes."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _tunnel(self, client: socket.socket) -> None:
        head = _read_head(client)
        parts = head.split(b"\r\n", 1)[0].split()
        if len(parts) != 3 or parts[0] != b"CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host = parts[1].decode("latin-1").rsplit(":", 1)[0].lower()
        if not (host in TUNNEL_HOSTS or host.endswith(TUNNEL_SUFFIXES)):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection(self._target) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(client, upstream)


def _read_head(client: socket.socket) -> bytes:
    """The request line and headers, up to the blank line (a CONNECT has no body)."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < BUFFER:
        chunk = client.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select(list(peers), [], [], 30)
        if not readable:
            continue
        for sock in readable:
            try:
                data = sock.recv(BUFFER)
            except OSError:
                return
            if not data:
                return
            peers[sock].sendall(data)
