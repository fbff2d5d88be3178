"""Names the CRM sees as one are one.

Each segment becomes a list named by ``list_name_pattern`` and an option of segsync's select
fields. CRMs compare those names ignoring case (HubSpot list names, Salesforce picklist
values), so "VIP" and "vip" would share one list, and a run would empty it for one of them.
Segment names are therefore compared case-folded, after the pattern is applied: rule segments
and the fallback when the config is loaded, cluster names (known once the clusters are fitted)
before a run plans anything. Names are also checked against the CRM's lengths
(``ConnectorLimits``), so a name the CRM would refuse stops the run before its first write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from string import Formatter

from connectors.base import ConnectorLimits
from segment_core.segments import ClusterSegment, Segment

PLACEHOLDER = "segment"


def pattern_problem(pattern: str) -> str | None:
    """Why ``list_name_pattern`` cannot name lists, or None: it must hold ``{segment}`` and
    no other placeholder (a typo such as ``{segmnt}`` would fail only when a list is named)."""
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in Formatter().parse(pattern)
            if name is not None
        ]
    except ValueError as exc:
        return f"{exc} (write a literal brace as {{{{ or }}}})"
    for name, spec, conversion in fields:
        if name != PLACEHOLDER or spec or conversion:
            written = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            return f"{{{written}}} is not a placeholder: the only one is {{segment}}"
    if not fields:
        return "must contain {segment}, e.g. 'segsync: {segment}'"
    return None


def list_name(pattern: str, segment: str) -> str:
    """The name of ``segment``'s list."""
    return pattern.format(segment=segment)


def describe(segment: Segment) -> str:
    """How an error names a segment: rule segments by name, clusters with their set."""
    if isinstance(segment, ClusterSegment):
        return f'cluster "{segment.name}" of cluster set "{segment.set_name}"'
    return f'segment "{segment.name}"'


def with_fallback(
    named: Sequence[tuple[str, str]], fallback: str | None
) -> list[tuple[str, str]]:
    """``named`` (segment name, how to call it) and the fallback segment, unless it is one of
    them: a fallback named like a segment is that segment."""
    if not fallback or fallback in {name for name, _ in named}:
        return list(named)
    return [*named, (fallback, f'fallback_segment "{fallback}"')]


def name_collision(named: Iterable[tuple[str, str]], pattern: str) -> str | None:
    """The first two of ``named`` (segment name, how to call it) that the CRM would take for
    one, as a sentence saying what to do; None when every name is distinct."""
    seen: dict[str, str] = {}
    for name, label in named:
        key = list_name(pattern, name).casefold()
        if key in seen:
            return (
                f"{seen[key]} and {label} are one name to the CRM, which ignores case "
                f"(list {list_name(pattern, name)!r}): rename one of them"
            )
        seen[key] = label
    return None


def option_problem(name: str, label: str, limits: ConnectorLimits) -> str | None:
    """Why the CRM would refuse ``name`` as an option of segsync's select fields, or None."""
    if limits.max_option_length is not None and len(name) > limits.max_option_length:
        return (
            f"{label} is {len(name)} characters long; the CRM takes options of at most "
            f"{limits.max_option_length}: shorten it"
        )
    return None


def list_name_problem(name: str, label: str, pattern: str, limits: ConnectorLimits) -> str | None:
    """Why the CRM would refuse the name of ``name``'s list, or None."""
    listed = list_name(pattern, name)
    if limits.max_list_name_length is not None and len(listed) > limits.max_list_name_length:
        return (
            f"the list name of {label} would be {len(listed)} characters long; the CRM takes "
            f"list names of at most {limits.max_list_name_length}: shorten the name or "
            "list_name_pattern"
        )
    return None


def segment_name_problems(
    segments: Sequence[Segment], fallback: str | None, pattern: str, limits: ConnectorLimits
) -> list[str]:
    """What stops a run from naming these segments' lists and options in the CRM."""
    listed = [(segment.name, describe(segment)) for segment in segments]
    named = with_fallback(listed, fallback)
    problems = [name_collision(named, pattern)]
    problems += [option_problem(name, label, limits) for name, label in named]
    problems += [list_name_problem(name, label, pattern, limits) for name, label in listed]
    return [problem for problem in problems if problem]
