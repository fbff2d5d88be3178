"""The ``segsync`` command line.

Exit codes: 0 done, 1 done but some records were refused, 2 configuration error,
3 authentication error, 6 the CRM failed in a way retries could not cure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from connectors.base import AuthFailed, ConnectorError
from connectors.registry import available_connectors, load_connector
from segment_core.errors import RuleError
from sync.config import ConfigError, load_settings
from sync.runner import exit_code, run_and_report

EXIT_CONFIG = 2
EXIT_AUTH = 3
EXIT_CRM = 6

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
errors = Console(stderr=True)


def fail(label: str, exc: BaseException, code: int) -> typer.Exit:
    """Print one plain line (no traceback, no markup from the message) and pick the exit code."""
    errors.print(f"[bold red]{label}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def exit_on_known_errors() -> Iterator[None]:
    """One clear line and a distinct exit code for the failures a person can act on."""
    try:
        yield
    except (ConfigError, RuleError) as exc:
        raise fail("Configuration error", exc, EXIT_CONFIG) from None
    except AuthFailed as exc:
        raise fail("Authentication failed", exc, EXIT_AUTH) from None
    except ConnectorError as exc:
        raise fail("CRM error", exc, EXIT_CRM) from None


ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The segsync TOML config.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print the plan, write nothing.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command()
def sync(config: ConfigOption, dry_run: DryRunOption = False, as_json: JsonOption = False) -> None:
    """Sync the config's segments into the CRM it names (only the differences are written)."""
    with exit_on_known_errors():
        settings = load_settings(config)
        connector = load_connector(settings.connector, settings.connector_settings())
        try:
            outcome = run_and_report(
                console, connector, settings, dry_run=dry_run, as_json=as_json, title="segsync"
            )
        finally:
            connector.close()
    raise typer.Exit(exit_code(outcome))


@app.command()
def demo(
    contacts: Annotated[int, typer.Option(help="Contacts to seed into the sandbox.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the generated contacts.")] = 7,
) -> None:
    """Start the sandbox CRM, seed it, and show segsync's whole pipeline on it."""
    from sync.demo import run_demo  # the sandbox is only imported when it is used

    with exit_on_known_errors():
        run_demo(console, contacts=contacts, seed=seed)


@app.command("connectors")
def list_connectors() -> None:
    """List the installed CRM connectors (entry-point group ``segsync.connectors``)."""
    for name, entry_point in sorted(available_connectors().items()):
        console.print(f"{name}  {entry_point.value}", highlight=False)
