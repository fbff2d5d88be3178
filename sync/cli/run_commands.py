"""The commands that run a sync: ``sync`` and ``plan``, the ``report`` and ``audit`` built on a
dry run, and ``schedule``, which runs syncs on their cron."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sync.cli.common import (
    EXIT_CONFIG,
    EXIT_GUARDRAIL,
    EXIT_USAGE,
    ConfigOption,
    DryRunOption,
    ForceOption,
    FullOption,
    JsonOption,
    RefitOption,
    console,
    exit_on_known_errors,
    fail,
)
from sync.crash import EXIT_CRASH, crash_line, write_crash_report
from sync.logs import configure_logging, logging_configured

if TYPE_CHECKING:
    from sync.config import AlertOptions


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
    from sync.outcome import summary_json
    from sync.runner import exit_code, open_connector, run_and_report

    with exit_on_known_errors():
        settings = load_settings(config)
        with alerting(settings.alerts, settings.sync.name) as notify:
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
def alerting(alerts: AlertOptions, sync_name: str) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Announce a failed or aborted run (and hand out ``notify`` for a finished one)."""
    from sync.alerts import ABORTED, FAILED, AlertPolicy
    from sync.guardrails import GuardrailTripped

    url = alerts.webhook_url
    policy = AlertPolicy(url.get_secret_value() if url else None, alerts.max_rejected_share)

    def notify(summary: dict[str, Any]) -> None:
        policy.notify({**summary, "sync": sync_name})

    try:
        yield notify
    except GuardrailTripped as exc:
        notify({"status": ABORTED, "error": str(exc)})
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is announced, expected or not
        notify({"status": FAILED, "error": str(exc) or type(exc).__name__})
        raise


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


def plan(config: ConfigOption, as_json: JsonOption = False, full: FullOption = False) -> None:
    """Show what a sync would change and its guardrail problems (then exit 4); write nothing."""
    _sync(config, dry_run=True, as_json=as_json, force=False, full=full, plan_only=True)


def report(
    config: ConfigOption,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file (default: [report] output).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Also show who moved in this period back from now: 7d, 90d, 12w."),
    ] = None,
) -> None:
    """Write the segment report: one self-contained HTML file that opens offline."""
    from sync.config import load_settings
    from sync.moves import parse_period

    try:
        period = parse_period(since) if since is not None else None
    except ValueError as exc:
        raise fail("Invalid --since", exc, EXIT_USAGE) from None
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
        path = write_report(outcome, settings, output, since=period)
    console.print(f"Report written to {path}")


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

