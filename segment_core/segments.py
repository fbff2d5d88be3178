"""Rule segments as configured: a name, a priority and a rule in either form.

    [[segments]]
    name = "Enterprise Healthcare"
    priority = 100
    rule = 'industry in ("Healthcare", "Biotech") and employees >= 1000'

    [[segments]]
    name = "At risk"
    priority = 50
    rule = {field = "last_activity", op = "before", value = "2024-01-01"}
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from segment_core.errors import RuleError
from segment_core.expression import parse_expression
from segment_core.fields import FieldType
from segment_core.rule_check import check_rule
from segment_core.rules import Rule
from segment_core.structured import parse_structured
from segment_core.syntax import describe_value

_REQUIRED_KEYS = ("name", "priority", "rule")
_KEYS = (*_REQUIRED_KEYS, "description")


@dataclass(frozen=True)
class RuleSegment:
    """The contacts matching ``rule``. ``priority`` picks the primary segment of a contact that
    is in several: the highest wins (see ``resolve``)."""

    name: str
    priority: int
    rule: Rule
    description: str = ""


@dataclass(frozen=True)
class ClusterSegment:
    """One cluster of a cluster segment set, as a segment: its contacts are those the set's
    model assigns to ``cluster_id``; every cluster of a set shares the set's ``priority``.

    ``traits`` say what sets the cluster apart (``"employees high"``, ``"industry Healthcare"``)
    and make up the reason a sales rep sees (see ``reason``).
    """

    name: str
    priority: int
    cluster_id: int
    traits: tuple[str, ...] = ()
    set_name: str = ""

    @property
    def reason(self) -> str:
        """``Cluster 'Enterprise · Healthcare': employees high, industry Healthcare``."""
        why = ", ".join(self.traits) if self.traits else "close to the average contact"
        return f"Cluster '{self.name}': {why}"


Segment: TypeAlias = RuleSegment | ClusterSegment
"""Anything ``resolve`` can rank: a rule segment or one cluster of a cluster segment set."""


def parse_rule(raw: object, path: str = "rule") -> Rule:
    """A rule in either form: an expression string or a structured table."""
    if isinstance(raw, str):
        return parse_expression(raw)
    if isinstance(raw, Mapping):
        return parse_structured(raw, path)
    got = describe_value(raw)
    raise RuleError(f"expected an expression string or a table, got {got}", path=path)


def parse_segments(
    raw: Sequence[Mapping[str, object]], field_types: Mapping[str, FieldType] | None = None
) -> list[RuleSegment]:
    """Parse the configured segments, keeping their order (it breaks priority ties).

    Each item needs ``name``, ``priority`` and ``rule`` and may have a ``description``; any other
    key is refused as a likely typo. Names must be unique. With ``field_types``, every rule is
    also checked against the fields (``check_rule``), so a bad config fails at load time.
    Errors name the segment, or ``segments[i]`` while its name is unknown.
    """
    segments: list[RuleSegment] = []
    index_by_name: dict[str, int] = {}
    for index, item in enumerate(raw):
        segment = _parse_segment(item, f"segments[{index}]")
        if segment.name in index_by_name:
            first = index_by_name[segment.name]
            message = f"duplicate name (segments[{first}] and segments[{index}])"
            raise RuleError(message, segment=segment.name)
        index_by_name[segment.name] = index
        if field_types is not None:
            check_rule(segment.name, segment.rule, field_types)
        segments.append(segment)
    return segments


def _parse_segment(item: object, location: str) -> RuleSegment:
    if not isinstance(item, Mapping):
        expected = "a table with name, priority and rule"
        raise RuleError(f"expected {expected}, got {describe_value(item)}", path=location)
    if "name" not in item:
        raise RuleError('missing key "name"', path=location)
    name = item["name"]
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"expected a name, got {describe_value(name)}", path=f"{location}.name")
    for key in item:
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), _KEYS)
            raise RuleError(f'unknown key "{key}"', segment=name, suggestions=close)
    for key in _REQUIRED_KEYS:
        if key not in item:
            raise RuleError(f'missing key "{key}"', segment=name)
    priority, description = item["priority"], item.get("description", "")
    if not isinstance(priority, int) or isinstance(priority, bool):
        got = describe_value(priority)
        raise RuleError(f"expected a whole number, got {got}", segment=name, path="priority")
    if not isinstance(description, str):
        got = describe_value(description)
        raise RuleError(f"expected a string, got {got}", segment=name, path="description")
    try:
        rule = parse_rule(item["rule"])
    except RuleError as error:
        raise error.with_segment(name) from None
    return RuleSegment(name, priority, rule, description)
