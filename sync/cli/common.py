"""What every command shares: the consoles, the exit codes, the one-line failure and the
options that several commands take.

Nothing here loads the data stack: known errors are imported when a command meets them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sync.config import Settings
    from sync.state.store import StateStore

EXIT_CONFIG = 2
EXIT_AUTH = 3
EXIT_GUARDRAIL = 4
EXIT_BUDGET = 5
EXIT_CRM = 6
EXIT_LOCKED = 7
EXIT_STATE = 9
EXIT_USAGE = 2
"""A bad argument (an unknown contact id) exits like a configuration error, as usage errors do."""

console = Console()
errors = Console(stderr=True)


def fail(label: str, exc: BaseException | str, code: int) -> typer.Exit:
    """Print one plain line (no traceback, no markup from the message) and pick the exit code."""
    from sync.terminal import escaped

    errors.print(
        f"[bold red]{label}:[/] {escaped(exc, lines=True)}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)


@contextmanager
def exit_on_known_errors() -> Iterator[None]:
    """One clear line and a distinct exit code for the failures a person can act on."""
    from sqlalchemy.exc import SQLAlchemyError

    from connectors.base import AuthFailed, ConnectorError
    from segment_core.errors import RuleError
    from sync.config import ConfigError
    from sync.guardrails import GuardrailTripped
    from sync.pacing import BudgetExhausted
    from sync.state.lease import SyncLocked
    from sync.state.schema import StateStoreUnavailable

    try:
        yield
    except (ConfigError, RuleError) as exc:
        raise fail("Configuration error", exc, EXIT_CONFIG) from None
    except AuthFailed as exc:
        raise fail("Authentication failed", exc, EXIT_AUTH) from None
    except GuardrailTripped as exc:
        message = f"{exc}. Nothing was written; rerun with --force if this is intended."
        raise fail("Guardrail", message, EXIT_GUARDRAIL) from None
    except BudgetExhausted as exc:
        message = f"{exc}. The next run resumes the remaining work."
        raise fail("Request budget spent", message, EXIT_BUDGET) from None
    except SyncLocked as exc:
        raise fail("Not started", exc, EXIT_LOCKED) from None
    except StateStoreUnavailable as exc:
        raise fail("State store", exc, EXIT_CONFIG) from None
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        message = f"cannot be used: {str(cause).splitlines()[0]}"
        raise fail("State store", message, EXIT_STATE) from None
    except ConnectorError as exc:
        raise fail("CRM error", exc, EXIT_CRM) from None


@contextmanager
def opened_store(settings: Settings) -> Iterator[StateStore]:
    """The sync's state store, closed when the command is done with it."""
    from sync.state.store import StateStore

    store = StateStore(settings.state_url(), settings.sync.name)
    try:
        yield store
    finally:
        store.close()


ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The segsync TOML config.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print the plan, write nothing.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Write even when a guardrail trips (it says why).")
]
FullOption = Annotated[
    bool, typer.Option("--full", help="Pull every contact and list, not only changes.")
]
RefitOption = Annotated[
    bool,
    typer.Option("--refit", help="Refit the cluster sets even if the contacts did not drift."),
]

