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

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from connectors.registry import available_connectors
from sync.crash import EXIT_CRASH, crash_line, write_crash_report
from sync.logs import LogLevel, configure_logging, logging_configured
from sync.sandbox_serve import (
    DEFAULT_PORT,
    DEFAULT_SECRETS_DIR,
    SandboxKind,
    SandboxNotStarted,
    serve,
)

if TYPE_CHECKING:
    from sync.config import Settings

# The pipeline, the state store, the config and segment_core (through sync.terminal) load
# pandas, scikit-learn, SQLAlchemy and pydantic: each command imports what it uses, so that
# `segsync --help` starts in a blink.

EXIT_CONFIG = 2
EXIT_AUTH = 3
EXIT_GUARDRAIL = 4
EXIT_BUDGET = 5
EXIT_CRM = 6
EXIT_LOCKED = 7
EXIT_STATE = 9
EXIT_USAGE = 2
"""A bad argument (an unknown contact id) exits like a configuration error, as usage errors do."""

class _CrashReporting(TyperGroup):
    """Turns an exception no command expected into one line, a traceback file and exit 8."""

    def invoke(self, ctx: typer.Context) -> Any:
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
console = Console()
errors = Console(stderr=True)


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
        problems = "; ".join(exc.args[0].problems)
        message = f"{problems}. Nothing was written; rerun with --force if this is intended."
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


def _sync(
    config: Path,
    *,
    dry_run: bool,
    as_json: bool,
    force: bool,
    full: bool,
    refit: bool = False,
    plan_only: bool = False,
) -> None:
    """One sync run; ``plan_only`` plans past the guardrails, shows their problems in the
    plan and exits ``EXIT_GUARDRAIL`` when there are any, as ``sync --dry-run`` would."""
    from sync.config import load_settings
    from sync.runner import exit_code, open_connector, run_and_report
    from sync.summary import summary_json

    with exit_on_known_errors():
        settings = load_settings(config)
        with alerting(settings) as notify:
            connector = open_connector(settings)
            try:
                outcome = run_and_report(
                    console,
                    connector,
                    settings,
                    dry_run=dry_run,
                    as_json=as_json,
                    title=f"segsync {settings.sync.name}",
                    force=force or plan_only,
                    full=full,
                    refit=refit,
                )
            finally:
                connector.close()
            notify(summary_json(outcome))
    raise typer.Exit(EXIT_GUARDRAIL if plan_only and outcome.problems else exit_code(outcome))


@contextmanager
def alerting(settings: Settings) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Announce a failed or aborted run (and hand out ``notify`` for a finished one)."""
    from sync.alerts import AlertPolicy
    from sync.guardrails import GuardrailTripped

    url = settings.alerts.webhook_url
    policy = AlertPolicy(
        url.get_secret_value() if url else None, settings.alerts.max_rejected_share
    )

    def notify(summary: dict[str, Any]) -> None:
        policy.notify({**summary, "sync": settings.sync.name})

    try:
        yield notify
    except GuardrailTripped as exc:
        notify({"status": "aborted", "error": "; ".join(exc.args[0].problems)})
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is announced, expected or not
        notify({"status": "failed", "error": str(exc) or type(exc).__name__})
        raise


@app.command()
def sync(
    config: ConfigOption,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    force: ForceOption = False,
    full: FullOption = False,
    refit: RefitOption = False,
) -> None:
    """Sync the config's segments into the CRM it names (only the differences are written)."""
    _sync(config, dry_run=dry_run, as_json=as_json, force=force, full=full, refit=refit)


@app.command()
def plan(config: ConfigOption, as_json: JsonOption = False, full: FullOption = False) -> None:
    """Show what a sync would change and its guardrail problems (then exit 4); write nothing."""
    _sync(config, dry_run=True, as_json=as_json, force=False, full=full, plan_only=True)


runs_app = typer.Typer(help="The run history of a sync.", invoke_without_command=True)
app.add_typer(runs_app, name="runs")


@runs_app.callback()
def runs(ctx: typer.Context, config: ConfigOption, as_json: JsonOption = False) -> None:
    """List the runs of the config's sync, newest first."""
    from sync import history
    from sync.config import load_settings

    ctx.obj = (config, as_json)
    if ctx.invoked_subcommand is None:
        with exit_on_known_errors():
            settings = load_settings(config)
            history.print_runs(console, settings, as_json=as_json)


@runs_app.command("show")
def runs_show(ctx: typer.Context, run_id: int) -> None:
    """One run in detail, with the records the CRM refused."""
    from sync import history
    from sync.config import load_settings

    config, as_json = ctx.obj
    with exit_on_known_errors():
        settings = load_settings(config)
        if not history.print_run(console, settings, run_id, as_json=as_json):
            raise fail("Not found", f"no run {run_id} in sync {settings.sync.name!r}", EXIT_CONFIG)


failures_app = typer.Typer(
    help="The records the CRM refused, and retrying them.", invoke_without_command=True
)
app.add_typer(failures_app, name="failures")


@failures_app.callback()
def failures(ctx: typer.Context, config: ConfigOption, as_json: JsonOption = False) -> None:
    """List the refused records: contact, code, message, attempts and the last run."""
    from sync import history
    from sync.config import load_settings

    ctx.obj = config
    if ctx.invoked_subcommand is None:
        with exit_on_known_errors():
            history.print_failures(console, load_settings(config), as_json=as_json)


@failures_app.command("retry")
def failures_retry(
    ctx: typer.Context,
    contact_ids: Annotated[
        list[str] | None, typer.Argument(help="The contacts to retry (default: all of them).")
    ] = None,
) -> None:
    """Forget refusals (all, or the contacts named), so the next run writes them again."""
    from sync.config import load_settings
    from sync.state.store import StateStore

    with exit_on_known_errors():
        settings = load_settings(ctx.obj)
        store = StateStore(settings.state_url(), settings.sync.name)
        try:
            refused = {failure.contact_id for failure in store.failures()}
            unknown = [i for i in contact_ids or () if i not in refused]
            if unknown:
                raise fail(
                    "Not found",
                    f"no refused record for contact {', '.join(unknown)} in sync "
                    f"{settings.sync.name!r}; `segsync failures` lists them",
                    EXIT_USAGE,
                )
            cleared = store.clear_failures(contact_ids or None)
        finally:
            store.close()
    name = settings.sync.name
    if not cleared:
        console.print(f"No refused records in sync {name!r}.", highlight=False)
        return
    records = "1 refused record" if cleared == 1 else f"{cleared} refused records"
    them = "it" if cleared == 1 else "them"
    console.print(
        f"Cleared {records} of sync {name!r}: the next run writes {them} again.", highlight=False
    )


@app.command()
def unlock(
    config: ConfigOption,
    yes: Annotated[
        bool, typer.Option("--yes", help="Release without asking (for scripts).")
    ] = False,
) -> None:
    """Show who holds the sync's lock (lease) and release it, e.g. for a run that died."""
    from sync.config import load_settings
    from sync.state.clock import utcnow
    from sync.state.store import StateStore

    with exit_on_known_errors():
        settings = load_settings(config)
        store = StateStore(settings.state_url(), settings.sync.name)
        try:
            lease = store.lease(settings.sync.lease_seconds)
            holder = lease.current()
            if holder is None:
                console.print(f"sync {settings.sync.name!r} is not locked.", markup=False)
                return
            console.print(
                f"sync {settings.sync.name!r} is locked by {holder.describe(utcnow())}.",
                markup=False,
                highlight=False,
            )
            if not yes and not typer.confirm("Release it?", default=False):
                raise fail("Not released", "the lock is still held", EXIT_USAGE)
            lease.release(holder.holder)
            console.print("Released.", markup=False)
        finally:
            store.close()


@app.command()
def forget(
    contact_id: Annotated[str, typer.Argument(help="The contact's id in the CRM.")],
    config: ConfigOption,
) -> None:
    """Erase one person from the state store, for an erasure request (not from the CRM)."""
    from sync.config import load_settings
    from sync.state.store import StateStore

    with exit_on_known_errors():
        settings = load_settings(config)
        store = StateStore(settings.state_url(), settings.sync.name)
        try:
            held = store.forget_person(contact_id)
        finally:
            store.close()
    message = f"forgot contact {contact_id}: {held} entries removed" if held else (
        f"contact {contact_id} is not in the state store of sync {settings.sync.name!r}"
    )
    console.print(message, markup=False, highlight=False)


@app.command()
def report(
    config: ConfigOption,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file (default: [report] output).")
    ] = None,
) -> None:
    """Write the segment report: one self-contained HTML file that opens offline."""
    from sync.config import load_settings
    from sync.pipeline import run_sync
    from sync.progress import RichProgress
    from sync.report.build import write_report
    from sync.runner import open_connector

    with exit_on_known_errors():
        settings = load_settings(config)
        connector = open_connector(settings)
        try:
            with RichProgress(console) as progress:
                outcome = run_sync(connector, settings, dry_run=True, progress=progress, force=True)
        finally:
            connector.close()
        path = write_report(outcome, settings, output)
    console.print(f"Report written to {path}")


@app.command("audit")
def audit_command(config: ConfigOption, as_json: JsonOption = False) -> None:
    """Data-quality audit of the fields the segments use: gaps, segments at risk, bad cells."""
    from sync.config import load_settings
    from sync.pipeline import run_sync
    from sync.progress import SilentProgress
    from sync.runner import open_connector
    from sync.terminal import text

    with exit_on_known_errors():
        settings = load_settings(config)
        connector = open_connector(settings)
        try:
            outcome = run_sync(
                connector, settings, dry_run=True, progress=SilentProgress(), force=True
            )
        finally:
            connector.close()
        report = outcome.segmentation.audit
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
    else:
        for line in report.summary():
            console.print(text(line))


@app.command()
def schedule(
    configs: Annotated[list[Path], typer.Option("--config", "-c")],
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Run each scheduled sync once now, one after another, then exit with the "
            "highest exit code among them (for a trial, or an outside scheduler).",
        ),
    ] = False,
) -> None:
    """Run every config's sync on its sync.schedule cron, in one process, until SIGTERM/Ctrl-C."""
    from sync.config import ConfigError, load_settings
    from sync.schedule import ScheduledSync, build_scheduler, run_until_stopped

    if not logging_configured():
        configure_logging("info")
    with exit_on_known_errors():
        by_name = {}
        for path in configs:
            settings = load_settings(path)
            if not settings.sync.schedule:
                raise ConfigError(f"{path}: sync.schedule is not set (a cron expression)")
            by_name[settings.sync.name] = (path, settings.sync.schedule)
        jobs = [ScheduledSync(name, cron) for name, (_, cron) in by_name.items()]
        try:
            scheduler = build_scheduler(jobs, run=lambda name: _scheduled_run(by_name[name][0]))
        except ValueError as exc:
            raise fail("Configuration error", exc, EXIT_CONFIG) from None
    if once:  # every expression was checked above, as for a real start
        raise typer.Exit(max(_scheduled_run(path) for path, _ in by_name.values()))
    raise typer.Exit(run_until_stopped(scheduler))


def _scheduled_run(config: Path) -> int:
    """One scheduled sync; its errors are reported and recorded, never kill the scheduler."""
    try:
        _sync(config, dry_run=False, as_json=False, force=False, full=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except Exception as exc:  # noqa: BLE001 - the next sync still runs
        fail("Unexpected error", crash_line(exc, write_crash_report(exc)), EXIT_CRASH)
        return EXIT_CRASH
    return 0


@app.command()
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


@app.command("connectors")
def list_connectors() -> None:
    """List the installed CRM connectors (entry-point group ``segsync.connectors``)."""
    for name, entry_point in sorted(available_connectors().items()):
        console.print(f"{name}  {entry_point.value}", highlight=False)


@app.command()
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


@app.command()
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
app.add_typer(sandbox_app, name="sandbox")


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


clusters_app = typer.Typer(help="The cluster sets of a sync.", no_args_is_help=True)
app.add_typer(clusters_app, name="clusters")


@clusters_app.command("export")
def clusters_export(
    config: ConfigOption,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="TOML file.")] = None,
) -> None:
    """Each cluster of the last run as a [[segments]] rule (TOML), to adopt and edit."""
    from sync.clusters_export import export_rules
    from sync.last_run import NoLastRun

    with exit_on_known_errors():
        try:
            text = export_rules(config)
        except NoLastRun as exc:
            raise fail("Nothing to export", exc, EXIT_USAGE) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise fail("Cannot write the cluster rules", exc, EXIT_USAGE) from None
        console.print(f"Cluster rules written to {output}")


@app.command()
def explain(
    contact_id: Annotated[str, typer.Argument(help="The contact's id in the CRM.")],
    config: ConfigOption,
    as_json: JsonOption = False,
) -> None:
    """Why a contact is in its segments: each rule's conditions, each cluster, the primary."""
    from sync.config import load_settings
    from sync.explain import NotExplainable, explain_from_state, print_explanation
    from sync.runner import open_connector
    from sync.state.store import StateStore

    with exit_on_known_errors():
        settings = load_settings(config)
        store = StateStore(settings.state_url(), settings.sync.name)
        try:
            connector = open_connector(settings)
            try:
                explanation = explain_from_state(connector, settings, store, contact_id)
            finally:
                connector.close()
        except NotExplainable as exc:
            raise fail("Cannot explain", exc, EXIT_USAGE) from None
        finally:
            store.close()
    if as_json:
        console.print_json(json.dumps(explanation.to_dict()))
    else:
        print_explanation(console, explanation)
