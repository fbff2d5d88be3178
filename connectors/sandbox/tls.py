"""A throwaway certificate authority for sandboxes that must speak TLS.

simple-salesforce builds every URL as ``https://{instance}/...`` and cannot be pointed at plain
HTTP, so the Salesforce sandbox serves TLS with a certificate from a CA made up on the spot
(``trustme``). Clients trust it through a PEM file (``requests.Session.verify``, or
``REQUESTS_CA_BUNDLE`` for clients that build their own session, like zeep under ``mdapi``);
nothing is added to the system's trust store.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path

import trustme

SALESFORCE_HOSTNAMES = (
    "127.0.0.1",
    "localhost",
    "login.salesforce.com",
    "test.salesforce.com",
    "*.my.salesforce.com",
)
"""Names the sandbox certificate is valid for: loopback, where the REST API is served, and the
login hosts simple-salesforce hard-codes (``https://{domain}.salesforce.com``), which the
sandbox's CONNECT proxy tunnels to loopback."""


class ThrowawayCA:
    """A fresh CA, one server certificate for ``hostnames``, and the CA's PEM on disk."""

    def __init__(self, hostnames: tuple[str, ...]) -> None:
        self._ca = trustme.CA()
        self._server_cert = self._ca.issue_cert(*hostnames)
        self._directory = Path(tempfile.mkdtemp(prefix="sandbox-ca-"))
        self.ca_path = self._directory / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting the certificate (TLS 1.2+, as Salesforce requires)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._server_cert.configure_cert(context)
        return context

    def cleanup(self) -> None:
        """Delete the PEM file; clients still holding its path will fail to verify after this."""
        shutil.rmtree(self._directory, ignore_errors=True)
