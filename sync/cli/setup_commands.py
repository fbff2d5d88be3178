"""The commands that get a sync going: ``init`` writes a config, ``check`` proves it against
the CRM, ``connectors`` lists what is installed, and ``sandbox serve`` and ``demo`` run segsync
against a local CRM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from connectors.registry import available_connectors
from sync.cli.common import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_CRM,
    ConfigOption,
    JsonOption,
    console,
    exit_on_known_errors,
    fail,
)
from sync.sandbox_serve import (
    DEFAULT_PORT,
    DEFAULT_SECRETS_DIR,
    SandboxKind,
    SandboxNotStarted,
    serve,
)


def demo(
    contacts: Annotated[int, typer.Option(min=1, help="Contacts to seed into the sandbox.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the generated contacts.")] = 7,
    report_path: Annotated[
        Path, typer.Option("--report", help="Where to write the segment report.")
    ] = Path("segsync-report.html"),
) -> None:
    """Start the sandbox CRM, seed it, and show segsync's whole pipeline on it."""
    from sync.demo import run_demo

    with exit_on_known_errors():
        run_demo(console, contacts=contacts, seed=seed, report_path=report_path)


def list_connectors() -> None:
    """List the installed CRM connectors (entry-point group ``segsync.connectors``)."""
    for name, entry_point in sorted(available_connectors().items()):
        console.print(f"{name}  {entry_point.value}", highlight=False)


def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("segsync.toml"),
    sandbox: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Point the config at `segsync sandbox serve` on URL, with the demo's segments "
            "and a schedule of every minute.",
        ),
    ] = None,
    schedule_cron: Annotated[
        str | None,
        typer.Option("--schedule", metavar="CRON", help="Set sync.schedule, a cron expression."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented config: every key with its default (or, --sandbox, ready to run)."""
    from sync.init_config import config_text, write_config

    try:
        write_config(path, config_text(sandbox, schedule_cron), force=overwrite)
    except FileExistsError:
        raise fail(
            "Not written", f"{path} exists; pass --force to overwrite it", EXIT_CONFIG
        ) from None
    except ValueError as exc:
        raise fail("Configuration error", exc, EXIT_CONFIG) from None
    if sandbox:
        run = f"SEGSYNC_SECRETS_DIR={DEFAULT_SECRETS_DIR} segsync schedule --config {path}"
        next_step = f"Run it on its schedule: {run}"
    else:
        next_step = f"Then: segsync check --config {path}"
    for line in (f"Config written to {path}.", next_step):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def check(config: ConfigOption, as_json: JsonOption = False) -> None:
    """Validate the config, reach the CRM, confirm every permission a sync needs; write nothing."""
    from sync.check import print_checks, run_checks
    from sync.runner import open_connector

    result = run_checks(config, open_connector)
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
    else:
        print_checks(console, result, f"segsync check {config}")
    exit_codes = {None: 0, "config": EXIT_CONFIG, "auth": EXIT_AUTH, "crm": EXIT_CRM}
    raise typer.Exit(exit_codes[result.problem])


sandbox_app = typer.Typer(
    help="The sandbox CRM: HubSpot's or Salesforce's API, served locally.", no_args_is_help=True
)


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option(min=0, max=65535, help="0: any free port.")] = DEFAULT_PORT,
    contacts: Annotated[int, typer.Option(min=0, help="Generated contacts to seed.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the generated contacts.")] = 7,
    crm: Annotated[SandboxKind, typer.Option(help="Which CRM's API to serve.")] = "hubspot",
    secrets_dir: Annotated[
        Path, typer.Option(help="Where its token goes (SEGSYNC_SECRETS_DIR of the configs).")
    ] = DEFAULT_SECRETS_DIR,
) -> None:
    """Run a seeded sandbox CRM on 127.0.0.1 until Ctrl-C or SIGTERM; print its URL and token."""
    try:
        serve(console, kind=crm, port=port, contacts=contacts, seed=seed, secrets_dir=secrets_dir)
    except SandboxNotStarted as exc:
        raise fail("Sandbox not started", exc, EXIT_CONFIG) from None

