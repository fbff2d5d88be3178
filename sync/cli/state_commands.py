"""The commands that read or repair what the state store remembers: the run history
(``runs``), refused records (``failures``), the lock (``unlock``), one person's data
(``forget``), the clusters as rules (``clusters export``) and why a contact is in its segments
(``explain``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sync.cli.common import (
    EXIT_CONFIG,
    EXIT_USAGE,
    ConfigOption,
    JsonOption,
    console,
    exit_on_known_errors,
    fail,
    opened_store,
)

runs_app = typer.Typer(help="The run history of a sync.", invoke_without_command=True)


@runs_app.callback()
def runs(ctx: typer.Context, config: ConfigOption, as_json: JsonOption = False) -> None:
    """List the runs of the config's sync, newest first."""
    from sync import history
    from sync.config import load_settings

    ctx.obj = (config, as_json)
    if ctx.invoked_subcommand is None:
        with exit_on_known_errors():
            settings = load_settings(config)
            with opened_store(settings) as store:
                history.print_runs(console, store, settings.sync.name, as_json=as_json)


@runs_app.command("show")
def runs_show(ctx: typer.Context, run_id: int) -> None:
    """One run in detail: its largest moves between primary segments, the records the CRM
    refused."""
    from sync import history
    from sync.config import load_settings

    config, as_json = ctx.obj
    with exit_on_known_errors():
        settings = load_settings(config)
        name = settings.sync.name
        with opened_store(settings) as store:
            found = history.print_run(console, store, name, run_id, as_json=as_json)
        if not found:
            raise fail("Not found", f"no run {run_id} in sync {name!r}", EXIT_CONFIG)


failures_app = typer.Typer(
    help="The records the CRM refused, and retrying them.", invoke_without_command=True
)


@failures_app.callback()
def failures(ctx: typer.Context, config: ConfigOption, as_json: JsonOption = False) -> None:
    """List the refused records: contact, code, message, attempts and the last run."""
    from sync import history
    from sync.config import load_settings

    ctx.obj = config
    if ctx.invoked_subcommand is None:
        with exit_on_known_errors():
            settings = load_settings(config)
            with opened_store(settings) as store:
                history.print_failures(console, store, settings.sync, as_json=as_json)


@failures_app.command("retry")
def failures_retry(
    ctx: typer.Context,
    contact_ids: Annotated[
        list[str] | None, typer.Argument(help="The contacts to retry (default: all of them).")
    ] = None,
) -> None:
    """Forget refusals (all, or the contacts named), so the next run writes them again."""
    from sync.config import load_settings

    with exit_on_known_errors():
        settings = load_settings(ctx.obj)
        with opened_store(settings) as store:
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
    name = settings.sync.name
    if not cleared:
        console.print(f"No refused records in sync {name!r}.", highlight=False)
        return
    records = "1 refused record" if cleared == 1 else f"{cleared} refused records"
    them = "it" if cleared == 1 else "them"
    console.print(
        f"Cleared {records} of sync {name!r}: the next run writes {them} again.", highlight=False
    )


def unlock(
    config: ConfigOption,
    yes: Annotated[
        bool, typer.Option("--yes", help="Release without asking (for scripts).")
    ] = False,
) -> None:
    """Show who holds the sync's lock (lease) and release it, e.g. for a run that died."""
    from sync.config import load_settings
    from sync.state.clock import utcnow

    with exit_on_known_errors():
        settings = load_settings(config)
        with opened_store(settings) as store:
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


def forget(
    contact_id: Annotated[str, typer.Argument(help="The contact's id in the CRM.")],
    config: ConfigOption,
) -> None:
    """Erase one person from the state store, for an erasure request (not from the CRM)."""
    from sync.config import load_settings

    with exit_on_known_errors():
        settings = load_settings(config)
        with opened_store(settings) as store:
            held = store.forget_person(contact_id)
    message = f"forgot contact {contact_id}: {held} entries removed" if held else (
        f"contact {contact_id} is not in the state store of sync {settings.sync.name!r}"
    )
    console.print(message, markup=False, highlight=False)


clusters_app = typer.Typer(help="The cluster sets of a sync.", no_args_is_help=True)


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


def explain(
    contact_id: Annotated[str, typer.Argument(help="The contact's id in the CRM.")],
    config: ConfigOption,
    as_json: JsonOption = False,
) -> None:
    """Why a contact is in its segments: each rule's conditions, each cluster, the primary."""
    from sync.config import load_settings
    from sync.explain import NotExplainable, explain_from_state, print_explanation
    from sync.runner import open_connector

    with exit_on_known_errors():
        settings = load_settings(config)
        with opened_store(settings) as store:
            connector = open_connector(settings)
            try:
                explanation = explain_from_state(connector, settings, store, contact_id)
            except NotExplainable as exc:
                raise fail("Cannot explain", exc, EXIT_USAGE) from None
            finally:
                connector.close()
    if as_json:
        console.print_json(json.dumps(explanation.to_dict()))
    else:
        print_explanation(console, explanation)

