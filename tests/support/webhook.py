"""A local webhook that records what segsync's alerts POST to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Webhook:
    """A local webhook that records every POST and answers ``fail_status`` to the first
    ``fail_first`` of them (``None`` for ever)."""

    fail_first: int | None = 0
    fail_status: int = 500
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    url: str = ""

    def answer(self, body: bytes, content_type: str) -> int:
        self.bodies.append(json.loads(body))
        self.content_types.append(content_type)
        failing = self.fail_first is None or len(self.bodies) <= self.fail_first
        return self.fail_status if failing else 200


@contextmanager
def serve_webhook() -> Iterator[Webhook]:
    """A ``Webhook`` listening on a free loopback port until the block ends."""
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(hook.answer(body, self.headers["Content-Type"]))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000"
    yield hook
    server.shutdown()
    server.server_close()
    thread.join()
