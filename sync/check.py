"""``segsync check``: is this config ready to sync? Nothing is written to the CRM.

It validates the config, reaches the CRM with its credentials, confirms every permission a
sync needs (the connector's own probes, ``connectors.base.AccessChecking``) and checks
segsync's own fields (``sync.ownership``), the segment rules against the CRM's fields and
that the rule segments' lists are segsync's own (``sync.owned_lists``). Each step is a row
with, when it failed, what to do about it. The first failed row says what kind of problem it
is, which the command line turns into its exit code, so a deploy script can tell a config
mistake from a missing permission from a CRM that cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.text import Text

from connectors.access import AccessCheck, AccessChecking
from connectors.base import AuthFailed, Connector, ConnectorError, FieldInfo
from connectors.registry import UnknownConnector
from sync.config import ConfigError, Settings, load_settings
from sync.owned_lists import claim_list
from sync.ownership import check_own_fields
from sync.pipeline import check_segment_names
from sync.plan import SegmentTarget
from sync.segmentation import SegmentationConfig
from sync.state.store import StateStore
from sync.tables import narrow_table, print_table, text_column
from sync.terminal import text

Problem = Literal["config", "auth", "crm"]
"""What a failed check calls for: fixing the config, the credentials or permissions, or the
CRM's reachability."""

STYLES = {"ok": "green", "failed": "bold red", "unchecked": "yellow", "warning": "yellow"}
FIELD_CHECKS = ("segsync fields", "segment rules")
"""The checks made against the CRM's field list, in order."""


@dataclass(frozen=True)
class CheckResult:
    """The checks in the order they ran; ``problem`` is the kind of the first failed one."""

    checks: tuple[AccessCheck, ...]
    problem: Problem | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.problem is None,
            "problem": self.problem,
            "checks": [asdict(check) for check in self.checks],
        }


def run_checks(path: Path, open_connector: Callable[[Settings], Connector]) -> CheckResult:
    """Every check of the config at ``path``; stops early only when the next ones cannot run.

    ``open_connector`` builds the config's connector, as the command line does for a sync."""
    rows: list[tuple[AccessCheck, Problem]] = []
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        return _result([(AccessCheck("configuration", "failed", str(exc)), "config")])
    detail = f"{path}: connector {settings.connector}, {len(settings.segments)} segments"
    rows.append((AccessCheck("configuration", "ok", detail), "config"))
    try:
        connector = open_connector(settings)
    except UnknownConnector as exc:
        return _result(rows + [(AccessCheck("connector", "failed", str(exc)), "config")])
    except AuthFailed as exc:
        return _result(rows + [(AccessCheck("credentials", "failed", str(exc)), "auth")])
    except ConnectorError as exc:
        return _result(rows + [(AccessCheck("connector", "failed", str(exc)), "crm")])
    try:
        rows += _crm_checks(connector, settings)
    finally:
        connector.close()
    return _result(rows)


def _crm_checks(connector: Connector, settings: Settings) -> list[tuple[AccessCheck, Problem]]:
    """Reach the CRM, probe the permissions, then check the rules against its fields."""
    try:
        if isinstance(connector, AccessChecking):
            access = connector.check_access(settings.sync.sync_fields)
        else:  # a plugin's connector: reaching the CRM is all that can be shown
            connector.describe_fields()
            detail = f"reachable, permissions not checked ({connector.name!r} cannot check them)"
            access = [AccessCheck("permissions", "unchecked", detail)]
    except AuthFailed as exc:
        return [(AccessCheck("credentials", "failed", str(exc)), "auth")]
    except ConnectorError as exc:
        return [(AccessCheck("reach the CRM", "failed", str(exc)), "crm")]
    rows: list[tuple[AccessCheck, Problem]] = [
        (AccessCheck("reach the CRM", "ok", f"{connector.name}, credentials accepted"), "crm")
    ]
    rows += [(check, "auth") for check in access]
    refused = any(check.status == "failed" for check in access)
    field_rows = _field_checks(connector, settings, refused=refused)
    if refused or any(check.status != "ok" for check, _ in field_rows):
        return rows + field_rows  # the lists could not be read, or need no look yet
    return rows + field_rows + [_lists_check(connector, settings)]


def _field_checks(
    connector: Connector, settings: Settings, *, refused: bool
) -> list[tuple[AccessCheck, Problem]]:
    """segsync's own fields and the segment config checked against the CRM's field list, as a
    sync checks them before pulling."""
    try:
        fields = {field.name: field for field in connector.describe_fields()}
    except ConnectorError as exc:
        if refused:  # the missing permissions above are the cause
            detail = "the CRM's fields could not be read"
            return [(AccessCheck(name, "unchecked", detail), "auth") for name in FIELD_CHECKS]
        kind: Problem = "auth" if isinstance(exc, AuthFailed) else "crm"
        return [(AccessCheck(name, "failed", str(exc)), kind) for name in FIELD_CHECKS]
    return [
        _own_fields_check(connector, settings, fields),
        _rules_check(connector, settings, fields),
    ]


def _own_fields_check(
    connector: Connector, settings: Settings, fields: Mapping[str, FieldInfo]
) -> tuple[AccessCheck, Problem]:
    """The fields segsync writes are its own, or names the CRM accepts for new ones."""
    name = FIELD_CHECKS[0]
    try:
        check_own_fields(settings, fields, connector)
    except ConfigError as exc:
        return AccessCheck(name, "failed", str(exc)), "config"
    detail = f"{', '.join(settings.sync.sync_fields)}: segsync's own or not created yet"
    return AccessCheck(name, "ok", detail), "config"


def _rules_check(
    connector: Connector, settings: Settings, fields: Mapping[str, FieldInfo]
) -> tuple[AccessCheck, Problem]:
    """The segment config bound to the CRM's field list, as a sync binds it before pulling,
    and the rule segments' names checked against the CRM's lengths (clusters get theirs when
    a sync fits them)."""
    name = FIELD_CHECKS[1]
    try:
        types = {field.name: field.type for field in fields.values()}
        bound = SegmentationConfig.bind(settings, types, opt_out_field=settings.sync.opt_out_field)
        check_segment_names(settings, bound.segmenter.segments, connector.limits)
    except ConfigError as exc:
        return AccessCheck(name, "failed", str(exc)), "config"
    detail = f"{len(settings.segments)} segments check against {len(fields)} CRM fields"
    return AccessCheck(name, "ok", detail), "config"


def _lists_check(connector: Connector, settings: Settings) -> tuple[AccessCheck, Problem]:
    """Each rule segment's list, when the CRM has one by its name, must be segsync's own or
    adopted, as a sync checks before writing (cluster segments' lists are named by a fit: the
    sync checks those)."""
    name = "segment lists"
    store = StateStore(settings.state_url(), settings.sync.name)
    try:
        owned, tracked = store.owned_lists(), store.members()
    finally:
        store.close()
    pattern = settings.sync.list_name_pattern
    targets = [
        SegmentTarget(s.name, s.priority, pattern.format(segment=s.name))
        for s in settings.segments
    ]
    try:
        for target in targets:
            found = connector.find_list(target.list_name)
            if found is not None:
                claim_list(
                    target,
                    found,
                    owned.get(target.name),
                    tracked=target.name in tracked,
                    adopt=settings.sync.adopt_lists,
                    source=settings.source,
                )
    except ConfigError as exc:
        return AccessCheck(name, "failed", str(exc)), "config"
    except ConnectorError as exc:
        kind: Problem = "auth" if isinstance(exc, AuthFailed) else "crm"
        return AccessCheck(name, "failed", str(exc)), kind
    detail = f"{len(targets)} segment lists are segsync's own, adopted or not created yet"
    return AccessCheck(name, "ok", detail), "config"


def _result(rows: list[tuple[AccessCheck, Problem]]) -> CheckResult:
    problem = next((kind for check, kind in rows if check.status == "failed"), None)
    return CheckResult(tuple(check for check, _ in rows), problem)


def print_checks(console: Console, result: CheckResult, title: str) -> None:
    """The checks as a table: one row each, the fix in the last column when one failed."""
    table = narrow_table(text(title))
    text_column(table, "Check")
    table.add_column("Result", no_wrap=True)
    text_column(table, "Detail or fix")
    for check in result.checks:
        status = Text(check.status, style=STYLES[check.status])
        table.add_row(text(check.name), status, text(check.detail))
    print_table(console, table)
    verdict = "ready to sync" if result.problem is None else "NOT ready to sync"
    console.print(f"The config is {verdict}.", highlight=False)
