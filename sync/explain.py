"""``segsync explain CONTACT``: which segments a contact is in, which conditions held, and why
one of them is its primary segment.

It answers from the state store, not from a new pull (``sync.last_run``): the contact values
of the last run and its stored cluster models, so the answer is what the last sync computed
and wrote, and it costs the CRM one call (its field list), however many contacts there are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from rich.console import Console

from connectors.base import Connector
from segment_core.cluster_rules import cluster_rules
from segment_core.cluster_set import ClusterSegmentSet
from segment_core.coerce import CoercedFrame
from segment_core.evaluate import evaluate
from segment_core.expression import parse_expression
from segment_core.rules import AllOf, AnyOf, Condition, Not, Rule, describe, referenced_fields
from segment_core.segmenter import Segmentation
from sync.config import Settings
from sync.last_run import NoLastRun, last_run
from sync.state.store import StateStore
from sync.terminal import escaped


@dataclass(frozen=True)
class ConditionCheck:
    """One condition of a rule, whether it held for the contact, and the values it read."""

    condition: str
    held: bool
    values: dict[str, Any]


@dataclass(frozen=True)
class RuleCheck:
    """A cluster as a rule (``segment_core.cluster_rules``): its text, how well it matches the
    cluster on the last run's contacts, and whether this contact meets it."""

    expression: str
    precision: float
    recall: float
    met: bool


@dataclass(frozen=True)
class SegmentCheck:
    """One segment, rule or cluster, as it applied to the contact."""

    name: str
    priority: int
    kind: str
    matched: bool
    definition: str
    conditions: tuple[ConditionCheck, ...] = ()
    values: dict[str, Any] | None = None
    rule: RuleCheck | None = None


@dataclass(frozen=True)
class Explanation:
    """Everything ``explain`` says about one contact."""

    contact_id: str
    primary: str | None
    segments: tuple[str, ...]
    reason: str
    why_primary: str
    checks: tuple[SegmentCheck, ...]
    in_crm: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class NotExplainable(LookupError):
    """The state store cannot answer for this contact (not synced yet, or the config changed)."""


def explain_from_state(
    connector: Connector, settings: Settings, store: StateStore, contact_id: str
) -> Explanation:
    """Explain ``contact_id`` as the last run saw it: its mirrored values and stored models."""
    try:
        last = last_run(connector, settings, store)
    except NoLastRun as error:
        raise NotExplainable(str(error)) from None
    if contact_id not in last.contacts.index:
        raise NotExplainable(
            f"contact {contact_id!r} was not in the last run of sync {settings.sync.name!r} "
            "(check the id, or run segsync sync if the contact is new)"
        )
    segmentation = last.config.segmenter.run(
        last.contacts,
        last.started_at,
        store.models(),
        fallback=settings.sync.fallback_segment,
    )
    in_crm = store.synced_fields().get(contact_id, {})
    return explain_contact(
        segmentation, contact_id, last.started_at, settings.sync.fallback_segment, in_crm
    )


def explain_contact(
    segmentation: Segmentation,
    contact_id: str,
    now: datetime,
    fallback: str | None,
    in_crm: Mapping[str, str],
) -> Explanation:
    """Explain ``contact_id``'s segments (it must be in ``segmentation``'s contacts)."""
    frame = segmentation.frame
    one = CoercedFrame(
        data=frame.data.loc[[contact_id]], field_types=frame.field_types, problems=frame.problems
    )
    row = one.data.iloc[0]
    member = segmentation.memberships.loc[contact_id]
    checks = [
        SegmentCheck(
            name=segment.name,
            priority=segment.priority,
            kind="rule",
            matched=bool(member[segment.name]),
            definition=describe(segment.rule),
            conditions=tuple(
                ConditionCheck(
                    describe(condition),
                    bool(evaluate(condition, one, now).iloc[0]),
                    _values(row, referenced_fields(condition)),
                )
                for condition in _conditions(segment.rule)
            ),
        )
        for segment in segmentation.rule_segments
    ]
    for cluster_set in segmentation.cluster_sets:
        fields = (*cluster_set.segmenter.numeric, *cluster_set.segmenter.categorical)
        rules = _rule_checks(cluster_set, frame, one, now)
        checks += [
            SegmentCheck(
                name=segment.name,
                priority=segment.priority,
                kind="cluster",
                matched=bool(member[segment.name]),
                definition=segment.reason,
                values=_values(row, fields),
                rule=rules.get(segment.cluster_id),
            )
            for segment in cluster_set.segments
        ]
    assignment = segmentation.assignments.loc[contact_id]
    matched = [check for check in checks if check.matched]
    return Explanation(
        contact_id=contact_id,
        primary=assignment["primary"],
        segments=tuple(assignment["segments"]),
        reason=assignment["reason"],
        why_primary=_why_primary(matched, fallback),
        checks=tuple(checks),
        in_crm=dict(in_crm),
    )


def _rule_checks(
    cluster_set: ClusterSegmentSet, frame: CoercedFrame, one: CoercedFrame, now: datetime
) -> dict[int, RuleCheck]:
    """Each cluster's rule, scored on all the contacts, and whether the one contact meets it."""
    labels = cluster_set.labels(frame)
    return {
        rule.cluster_id: RuleCheck(
            rule.expression,
            rule.precision,
            rule.recall,
            bool(evaluate(parse_expression(rule.expression), one, now).iloc[0]),
        )
        for rule in cluster_rules(cluster_set.segmenter, frame, labels, now)
        if rule.expression
    }


def _why_primary(matched: list[SegmentCheck], fallback: str | None) -> str:
    if not matched:
        return (
            f"no segment matched, so the fallback segment {_quoted(fallback)} is primary"
            if fallback
            else "no segment matched, so it has no primary segment"
        )
    if len(matched) == 1:
        return f"{_quoted(matched[0].name)} is the only segment it matched"
    top = max(check.priority for check in matched)
    tied = [check.name for check in matched if check.priority == top]
    first = tied[0]
    if len(tied) > 1:
        others = ", ".join(_quoted(name) for name in tied[1:])
        return (
            f"{_quoted(first)} and {others} share the highest priority ({top}); "
            f"{_quoted(first)} comes first in the config, which settles ties"
        )
    runner_up = max(check.priority for check in matched if check.priority < top)
    return (
        f"{_quoted(first)} has the highest priority of the {len(matched)} it matched "
        f"({top} > {runner_up})"
    )


def _conditions(rule: Rule) -> Iterator[Rule]:
    """The rule's conditions, each with its ``not`` if it has one, so that a condition shown as
    not holding is one that kept the contact out."""
    match rule:
        case Condition() | Not(Condition()):
            yield rule
        case Not(inner):
            yield from _conditions(inner)
        case AllOf(rules) | AnyOf(rules):
            for member in rules:
                yield from _conditions(member)


def _values(row: pd.Series, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The contact's typed values of ``fields``, as JSON-friendly scalars (None when empty)."""
    values: dict[str, Any] = {}
    for name in fields:
        value = row.get(name)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            values[name] = None
        elif isinstance(value, pd.Timestamp):
            values[name] = value.isoformat()
        elif isinstance(value, float) or hasattr(value, "item"):
            number = value.item() if hasattr(value, "item") else value
            values[name] = _plain_number(number)
        else:
            values[name] = value
    return values


def print_explanation(console: Console, explanation: Explanation) -> None:
    """The explanation for a person: matched segments first, each with its conditions."""
    console.print(
        f"[bold]Contact {escaped(explanation.contact_id)}[/]: primary segment "
        f"[bold]{escaped(str(explanation.primary))}[/] — {escaped(explanation.why_primary)}"
    )
    ordered = sorted(explanation.checks, key=lambda check: not check.matched)
    for check in ordered:
        mark = "[green]✓[/]" if check.matched else "[dim]✗[/]"
        console.print(
            f"{mark} {escaped(check.name)} ({check.kind}, priority {check.priority}): "
            f"{escaped(check.definition)}",
            highlight=False,
        )
        for condition in check.conditions:
            held = "[green]✓[/]" if condition.held else "[red]✗[/]"
            values = escaped(_as_text(condition.values))
            console.print(f"    {held} {escaped(condition.condition)}   {values}", highlight=False)
        if check.values is not None and check.matched:
            console.print(f"    its values: {escaped(_as_text(check.values))}", highlight=False)
        if check.rule is not None:
            _print_rule(console, check.rule)
    crm = ", ".join(f"{name} = {_quoted(value)}" for name, value in explanation.in_crm.items())
    console.print(f"In the CRM after the last run: {escaped(crm or 'nothing synced yet')}")


def _print_rule(console: Console, rule: RuleCheck) -> None:
    met = "[green]✓ meets it[/]" if rule.met else "[red]✗ does not meet it[/]"
    console.print(
        f"    as a rule (precision {rule.precision:.0%}, recall {rule.recall:.0%}): "
        f"{escaped(rule.expression)}   {met}",
        highlight=False,
    )


def _quoted(name: str) -> str:
    """A name or value in quotes, as it reads: unlike ``repr``, which would show the escape
    sequences of a CRM value as text, those are left for the printer to remove."""
    return f"'{name}'"


def _as_text(values: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{name}: {'(empty)' if value is None else value}" for name, value in values.items()
    )


def _plain_number(value: Any) -> Any:
    """16.0 as 16 and 32.2166 as 32.22: how a person reads a CRM number."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 2)
    return value
