"""Running one sync for a person or a machine: progress while it runs, a summary at the end."""

from __future__ import annotations

import json

from rich.console import Console

from connectors.base import Connector
from connectors.registry import load_connector
from sync.config import Settings
from sync.logs import release_library_levels
from sync.outcome import SyncOutcome, summary_json
from sync.pipeline import run_sync
from sync.progress import ProgressSink, RichProgress, SilentProgress
from sync.summary import print_summary

EXIT_RECORD_FAILURES = 1


def open_connector(settings: Settings) -> Connector:
    """The config's connector; building it resets library log levels, so release them."""
    connector = load_connector(settings.connector, settings.connector_settings())
    release_library_levels()
    return connector


def run_and_report(
    console: Console,
    connector: Connector,
    settings: Settings,
    *,
    dry_run: bool,
    as_json: bool,
    title: str,
    force: bool = False,
    full: bool = False,
    refit: bool = False,
) -> SyncOutcome:
    """Run one sync with progress bars (or silently, for JSON) and print its summary."""

    def run(progress: ProgressSink) -> SyncOutcome:
        return run_sync(
            connector,
            settings,
            progress=progress,
            dry_run=dry_run,
            force=force,
            full=full,
            refit=refit,
        )

    if as_json:
        outcome = run(SilentProgress())
        console.print_json(json.dumps(summary_json(outcome)))
    else:
        with RichProgress(console) as progress:
            outcome = run(progress)
        print_summary(console, outcome, title)
    return outcome


def exit_code(outcome: SyncOutcome) -> int:
    """0 when every record was written, 1 when some were refused (they are listed)."""
    return EXIT_RECORD_FAILURES if outcome.result and outcome.result.failures else 0
