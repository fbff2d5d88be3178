"""``segsync clusters export``: the last run's clusters as ``[[segments]]`` rules to adopt.

A marketer who wants to keep a discovered cluster as a segment they can read and edit pastes
the output into the config in place of its ``[[clusters]]`` set: each cluster becomes a rule
segment of the same name and priority, with the rule of ``segment_core.cluster_rules`` and its
precision and recall in the description. It reads the state store only (the stored models and
the contacts of the last run, see ``sync.last_run``) and writes nothing to the CRM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from connectors.base import Connector
from segment_core.cluster_rules import ClusterRule, cluster_rules
from segment_core.cluster_state import from_state
from segment_core.config_readers import describe_duration
from segment_core.segmenter import Segmentation
from segment_core.stored import StoredModelError
from sync.config import Settings, load_settings
from sync.last_run import LastRun, NoLastRun, last_run
from sync.runner import open_connector
from sync.state.store import StateStore
from sync.terminal import escaped


@dataclass(frozen=True)
class ClusterSetRules:
    """The rules of one cluster set's clusters, with the set's name and priority, and when its
    model was trained (None: unknown)."""

    name: str
    priority: int
    rules: tuple[ClusterRule, ...]
    fitted_at: datetime | None = None


def export_rules(config: Path) -> str:
    """The ``[[segments]]`` TOML of the sync configured in ``config``'s last run."""
    settings = load_settings(config)
    store = StateStore(settings.state_url(), settings.sync.name)
    try:
        connector = open_connector(settings)
        try:
            return segments_toml(rules_from_state(connector, settings, store))
        finally:
            connector.close()
    finally:
        store.close()


def rules_from_state(
    connector: Connector, settings: Settings, store: StateStore
) -> list[ClusterSetRules]:
    """The rules of every configured cluster set, from its stored model and the last run's
    contacts; ``NoLastRun`` (one line, saying to run a sync) when a model or the run is missing."""
    run = last_run(connector, settings, store)
    sets = run.config.segmenter.cluster_sets
    if not sets:
        raise NoLastRun(f"{settings.source}: the config has no [[clusters]] set to export")
    stored = store.models()
    return [_set_rules(run, stored, config.name, config.priority) for config in sets]


def _set_rules(
    run: LastRun, stored: dict[str, bytes], name: str, priority: int
) -> ClusterSetRules:
    if name not in stored:
        raise NoLastRun(f"cluster set {name!r} has no stored model: run segsync sync first")
    try:
        model = from_state(stored[name])
    except StoredModelError as error:
        raise NoLastRun(
            f"the stored model of cluster set {name!r} cannot be read ({error}): "
            "run segsync sync first"
        ) from None
    segmenter = run.config.segmenter
    frame = segmenter.derive(segmenter.coerce(run.contacts), run.started_at)
    rules = cluster_rules(model, frame, model.predict(frame), run.started_at)
    return ClusterSetRules(name, priority, rules, model.fitted_at_)


def rules_of_run(segmentation: Segmentation, now: datetime) -> list[ClusterSetRules]:
    """The rules of the cluster sets a run just fitted (or kept), on that run's contacts."""
    frame = segmentation.frame
    return [
        ClusterSetRules(
            s.name,
            s.priority,
            cluster_rules(s.segmenter, frame, s.labels(frame), now),
            s.segmenter.fitted_at_,
        )
        for s in segmentation.cluster_sets
    ]


def print_rules(console: Console, sets: Sequence[ClusterSetRules], now: datetime) -> None:
    """Each set's model age, then each cluster as a rule: name, precision and recall, rule."""
    for cluster_set in sets:
        fitted = cluster_set.fitted_at
        age = (
            "trained at an unknown time"
            if fitted is None
            else f"model trained {fitted.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{describe_duration(now - fitted)} old"
        )
        console.print(f"Cluster set {escaped(repr(cluster_set.name))} ({age}), as rules:")
        for rule in cluster_set.rules:
            if rule.expression:
                line = f"  {escaped(rule.name)} ({rule.scores}): {escaped(rule.expression)}"
            else:
                line = f"  {escaped(rule.name)}: no rule of depth 3 or less tells it apart"
            console.print(line, highlight=False)


def segments_toml(sets: Sequence[ClusterSetRules]) -> str:
    """The rules as ``[[segments]]`` tables that ``load_settings`` reads as they are."""
    parts = [
        "# Cluster rules exported by segsync clusters export. Paste these [[segments]] into the\n"
        "# config in place of their [[clusters]] set (a name may be in one of them only), then\n"
        "# edit them like any rule segment.\n"
    ]
    for cluster_set in sets:
        parts.append(f"\n# From cluster set {_comment(cluster_set.name)}.\n")
        for rule in cluster_set.rules:
            parts.append(_segment_table(cluster_set, rule))
    return "".join(parts)


def _segment_table(cluster_set: ClusterSetRules, rule: ClusterRule) -> str:
    if not rule.expression:
        return f"# {_comment(rule.name)}: no rule separates this cluster from the others.\n"
    description = (
        f"Cluster {rule.cluster_id} of set {cluster_set.name!r} as a rule: {rule.scores} "
        f"against the cluster's {rule.size} contacts."
    )
    return (
        "\n[[segments]]\n"
        f"name = {toml_string(rule.name)}\n"
        f"priority = {cluster_set.priority}\n"
        f"rule = {toml_string(rule.expression)}\n"
        f"description = {toml_string(description)}\n"
    )


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and control characters escaped
    (TOML allows no raw control character in one, DEL included); the rest as UTF-8."""
    escaped = []
    for char in text:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif char in _SHORT_ESCAPES:
            escaped.append(_SHORT_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


_SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _comment(text: str) -> str:
    """A name inside a TOML comment: one line, whatever the CRM or the config put in it."""
    return repr(" ".join(text.split()))
