"""``segsync sandbox serve``: the sandbox CRM as a long-lived local server to point configs at.

Its credential (HubSpot token, Salesforce session id) is new at every start and is written to
the secrets directory under the name segsync's config loader reads (``hubspot__token``,
``salesforce__session_id``). A config from ``segsync init --sandbox`` therefore runs with
``SEGSYNC_SECRETS_DIR`` pointing there: no secret in the config file or the shell history.
The file is removed when the server stops.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rich.console import Console

from sync.private import write_private_file
from sync.stop_signals import caught_stop_signals

if TYPE_CHECKING:  # the sandbox is imported only when one is started
    from connectors.sandbox.base import SandboxServer

SandboxKind = Literal["hubspot", "salesforce"]
DEFAULT_PORT = 8787
DEFAULT_SECRETS_DIR = Path(".segsync/secrets")


class SandboxNotStarted(Exception):
    """The port is taken or the secrets directory cannot be written; the message says which."""


@dataclass(frozen=True)
class Running:
    """A started sandbox, the secret a config needs to reach it, and how to use it."""

    sandbox: SandboxServer
    base_url: str
    secret_key: str
    secret: str
    usage: tuple[str, ...]


def start(kind: SandboxKind, *, port: int, contacts: int, seed: int) -> Running:
    """Start and seed a sandbox on 127.0.0.1:``port`` (0: any free port)."""
    from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
    from connectors.sandbox.salesforce.store import PERMISSION_SET_NAME

    if kind == "hubspot":
        token = f"pat-sandbox-{secrets.token_hex(16)}"
        crm = HubSpotSandbox(token=token, port=port)
        crm.seed_contacts(contacts, seed=seed, reference_date=date.today())
        usage = (f"Point a config at it: segsync init --sandbox {crm.base_url}",)
        return Running(crm, crm.base_url, "hubspot__token", token, usage)
    org = SalesforceSandbox(port=port)
    org.seed_contacts(contacts, seed=seed, reference_date=date.today())
    usage = (
        f'In [salesforce]: instance_url = "{org.instance_url}", ca_bundle = "{org.ca_path}" '
        f'(the sandbox\'s own CA), permission_set = "{PERMISSION_SET_NAME}"; '
        'connector = "salesforce".',
    )
    return Running(org, org.instance_url, "salesforce__session_id", org.session_id, usage)


def serve(
    console: Console,
    *,
    kind: SandboxKind,
    port: int,
    contacts: int,
    seed: int,
    secrets_dir: Path,
) -> None:
    """Run a sandbox until Ctrl-C or SIGTERM, its secret in ``secrets_dir`` meanwhile."""
    try:
        running = start(kind, port=port, contacts=contacts, seed=seed)
    except OSError as exc:
        raise SandboxNotStarted(
            f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}): stop what uses it "
            "or pass another --port"
        ) from None
    secret_file = secrets_dir / running.secret_key
    try:
        write_private_file(secret_file, running.secret)
    except OSError as exc:
        running.sandbox.stop()
        raise SandboxNotStarted(f"cannot write {secret_file}: {exc.strerror or exc}") from None
    lines = (
        f"Sandbox {kind} listening on {running.base_url} with {contacts:,} contacts (seed {seed}).",
        f"Its credential: {running.secret} (written to {secret_file}).",
        *running.usage,
        f"Run configs with SEGSYNC_SECRETS_DIR={secrets_dir}. Stop with Ctrl-C or SIGTERM.",
    )
    # Caught before "Stop with Ctrl-C" is printed: a signal sent on reading it must stop us.
    with caught_stop_signals() as wait_for_signal:
        try:
            for line in lines:
                console.print(line, markup=False, highlight=False, soft_wrap=True)
            wait_for_signal()
        finally:
            running.sandbox.stop()
            secret_file.unlink(missing_ok=True)
    console.print("Sandbox stopped.")
