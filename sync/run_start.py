"""What a run settles before it is recorded: the CRM's fields, the segment configuration bound
to them, the incremental cursor, and so the run's mode (full or incremental).

A problem found here (a field segsync does not own, a rule on a field the CRM lacks, an
orphan action the connector cannot carry out) stops the run before it enters the run history
and before any write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.base import Connector, FieldInfo
from connectors.capabilities import ListDeleting
from sync.config import ConfigError, Settings
from sync.ownership import check_own_fields
from sync.retry import Retrier
from sync.segmentation import SegmentationConfig, crm_labels
from sync.state.runs import RunRecord
from sync.state.store import StateStore
from sync.status import RunMode


@dataclass(frozen=True)
class RunStart:
    """The facts a run starts from, read before it is recorded as started."""

    fields: Mapping[str, FieldInfo]
    config: SegmentationConfig
    read_fields: list[str]
    cursor: tuple[datetime, int] | None
    previous: RunRecord | None
    mode: RunMode


def prepare_run(
    connector: Connector,
    retrier: Retrier,
    store: StateStore,
    settings: Settings,
    *,
    full: bool,
    now: datetime,
) -> RunStart:
    """Read the CRM's fields and the state store, check the configuration against them, and
    choose the run's mode."""
    _check_orphan_action(connector, settings)
    fields = {info.name: info for info in retrier.call(connector.describe_fields)}
    check_own_fields(settings, fields, connector)
    config = bind_segmentation(settings, fields.values())
    read_fields = config.read_fields()
    cursor = store.cursor()
    previous = store.last_run()
    mode = _mode(store, settings, now, full, cursor, fields, read_fields)
    return RunStart(fields, config, read_fields, cursor, previous, mode)


def bind_segmentation(settings: Settings, fields: Iterable[FieldInfo]) -> SegmentationConfig:
    """The segment configuration bound to the CRM's field list: its types, the opt-out and
    report fields pulled beside the segments' own, and the labels people read."""
    listed = list(fields)
    return SegmentationConfig.bind(
        settings,
        {info.name: info.type for info in listed},
        opt_out_field=settings.sync.opt_out_field,
        extra_fields=settings.report.fields,
        labels=crm_labels(listed),
    )


def _mode(
    store: StateStore,
    settings: Settings,
    now: datetime,
    full: bool,
    cursor: tuple[datetime, int] | None,
    fields: Mapping[str, FieldInfo],
    read_fields: Sequence[str],
) -> RunMode:
    """Full unless an incremental run can see everything it needs."""
    options = settings.sync
    if full or cursor is None or any(name not in fields for name in options.sync_fields):
        return RunMode.FULL
    last_full = store.last_full_run_started()
    if last_full is None or now - last_full > timedelta(hours=options.full_every_hours):
        return RunMode.FULL
    mirrored = store.mirror_fields()
    if mirrored is not None and set(read_fields) <= mirrored:
        return RunMode.INCREMENTAL
    return RunMode.FULL


def _check_orphan_action(connector: Connector, settings: Settings) -> None:
    if settings.sync.orphan_lists == "delete" and not isinstance(connector, ListDeleting):
        raise ConfigError(
            f"{settings.source}: sync.orphan_lists = \"delete\", but the "
            f"{connector.name} connector cannot delete lists: use \"keep\" or \"empty\""
        )
