"""``timeout_seconds`` bounds a whole call: a server that trickles its answer a byte at a time
(each read well inside the timeout) is cut off at the deadline, as a transient failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from pydantic import SecretStr

from connectors.base import Transient
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.salesforce.client import http_session
from connectors.salesforce.settings import SalesforceSettings

BODY = b'{"results": []}'
BYTE_EVERY_SECONDS = 0.3
"""The whole answer takes about 4.5 s; each byte comes well within the 1 s timeout."""


@pytest.fixture
def trickler() -> Iterator[str]:
    """A server that answers 200 with a valid JSON body, one byte at a time."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            try:
                for byte in BODY:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(BYTE_EVERY_SECONDS)
            except OSError:
                pass  # the client gave up

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_trickling_hubspot_answer_is_cut_off_at_the_deadline_as_transient(
    trickler: str,
) -> None:
    connector = HubSpotConnector(
        HubSpotSettings(base_url=trickler, token=SecretStr("t"), timeout_seconds=1)
    )
    with pytest.raises(Transient, match="read contact properties"):
        connector.describe_fields()
    connector.close()


def test_a_trickling_salesforce_answer_is_cut_off_at_the_deadline(trickler: str) -> None:
    session = http_session(SalesforceSettings(timeout_seconds=1))
    with pytest.raises(requests.Timeout, match="no complete answer within 1 s"):
        session.get(f"{trickler}/services/data/v59.0/limits/")
    session.close()


def test_an_answer_within_the_deadline_is_returned_whole(trickler: str) -> None:
    session = http_session(SalesforceSettings(timeout_seconds=10))
    assert session.get(f"{trickler}/services/data/v59.0/limits/").json() == {"results": []}
    session.close()
