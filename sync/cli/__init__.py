"""The ``segsync`` command line.

Exit codes: 0 done, 1 done but some records were refused, 2 configuration error,
3 authentication error (bad credentials or a missing permission), 4 guardrail abort (nothing
written; ``plan`` prints its whole plan with the guardrail problems and exits 4 too), 5 request
budget spent (resumable), 6 the CRM kept failing after retries (or could not be reached),
7 another run of the sync is in progress, 8 an unexpected error (a bug: the line names the
file holding its traceback), 9 the state store cannot be read or written (corrupt, read-only,
full or unreachable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sync.cli import run_commands, setup_commands, state_commands
from sync.cli.common import EXIT_CONFIG, fail
from sync.crash import EXIT_CRASH, crash_line, write_crash_report
from sync.logs import LogLevel, configure_logging

# The pipeline, the state store, the config and segment_core (through sync.terminal) load
# pandas, scikit-learn, SQLAlchemy and pydantic: each command imports what it uses, so that
# `segsync --help` starts in a blink.


class _CrashReporting(TyperGroup):
    """Turns an exception no command expected into one line, a traceback file and exit 8."""

    # typer passes its own Context; click's, which the base class names, is private to typer.
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - every unexpected failure ends the same way
            line = crash_line(exc, write_crash_report(exc))
            raise fail("Unexpected error", line, EXIT_CRASH) from exc


app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, cls=_CrashReporting
)


@app.callback()
def main(
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            help="Log at this level and above, segsync's and its HTTP libraries' records "
            "(debug: every request), with email addresses and secrets redacted."
        ),
    ] = None,
    log_file: Annotated[
        Path | None,
        typer.Option(help="Append the log to this file instead of stderr (at info by default)."),
    ] = None,
) -> None:
    """Options before the command apply to every command."""
    if log_level is not None or log_file is not None:
        try:
            configure_logging(log_level or "info", log_file)
        except OSError as exc:
            raise fail("Cannot open the log file", exc, EXIT_CONFIG) from None


# The commands, grouped by theme in their modules, in the order the help lists them.
app.command()(run_commands.sync)
app.command()(run_commands.plan)
app.add_typer(state_commands.runs_app, name="runs")
app.add_typer(state_commands.failures_app, name="failures")
app.command()(state_commands.unlock)
app.command()(state_commands.forget)
app.command()(run_commands.report)
app.command("audit")(run_commands.audit_command)
app.command()(run_commands.schedule)
app.command()(setup_commands.demo)
app.command("connectors")(setup_commands.list_connectors)
app.command()(setup_commands.init)
app.command()(setup_commands.check)
app.add_typer(setup_commands.sandbox_app, name="sandbox")
app.add_typer(state_commands.clusters_app, name="clusters")
app.command()(state_commands.explain)
