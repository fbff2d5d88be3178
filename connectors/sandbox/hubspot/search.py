"""HubSpot CRM search semantics over the sandbox store.

Rules (HubSpot's search guide unless marked): ``filterGroups`` are OR-ed and the filters inside
a group AND-ed; at most 5 groups, 6 filters per group and 18 filters in all; one sort; a page
holds at most 200 results (default 10); ``after`` is an offset; no query can page past the
10,000th result (HubSpot answers 400). Datetime and date filter values are epoch milliseconds
(ISO text is accepted too). String equality ignores case. Without a sort, results come in id
order, and ties of a sort are broken by id (sandbox choices: HubSpot does not document them).

Speed (sandbox only, the answers are the same): the store keeps contacts in id order, and an
``hs_object_id`` GT/GTE/EQ/BETWEEN filter that every group holds bounds where the scan starts,
an LT/LTE one in every group where it ends. segsync pages incremental searches by
``hs_object_id GT <last id>`` sorted by id (and a partitioned full pull's ranges with an LT
too), so each page reads only the contacts of its range above the last one, and results
already in id order are not sorted.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.hubspot.store import ContactRecord
from connectors.sandbox.timestamps import parse_timestamp_ms

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_RESULTS = 10_000
OBJECT_ID = "hs_object_id"

Predicate = Callable[[ContactRecord], bool]


class SearchRejected(ValueError):
    """The request breaks a search rule; the message is shown to the client in a 400."""


@dataclass(frozen=True)
class SearchQuery:
    """A validated search: what matches, in which order, and which page to return.

    ``first_id`` is the lowest contact id a match can have; ``sort_key`` is None when the
    results come in id order, the order ``page`` receives the records in.
    """

    matches: Predicate
    sort_key: Callable[[ContactRecord], tuple[Any, ...]] | None
    descending: bool
    offset: int
    limit: int
    properties: list[str]
    first_id: int = 0
    end_id: int | None = None
    """Every match's id is below it (None: no such bound)."""

    def page(
        self, records: Iterable[ContactRecord]
    ) -> tuple[int, list[ContactRecord], int | None]:
        """(total matches, the page, the next offset or None) over ``records``: the contacts
        from ``first_id`` on, in id order."""
        hits = [record for record in records if self.matches(record)]
        if self.sort_key is not None:
            hits.sort(key=self.sort_key, reverse=self.descending)
        end = min(self.offset + self.limit, MAX_RESULTS, len(hits))
        window = hits[self.offset:end]
        return len(hits), window, end if end < len(hits) else None


def compile_search(body: Any, property_types: dict[str, str]) -> SearchQuery:
    """Validate a search request body against the portal's properties and compile it."""
    if not isinstance(body, dict):
        raise SearchRejected("Invalid input JSON: the search request must be a JSON object")
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
        raise SearchRejected(f"filterGroups: at most {MAX_GROUPS} filter groups are allowed")
    compiled_groups: list[list[Predicate]] = []
    total_filters = 0
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchRejected(
                f"filters: each filter group holds a list of at most {MAX_FILTERS_PER_GROUP}"
            )
        total_filters += len(filters)
        compiled_groups.append([_compile_filter(f, property_types) for f in filters])
    if total_filters > MAX_FILTERS:
        raise SearchRejected(f"filterGroups: at most {MAX_FILTERS} filters are allowed in all")

    def matches(record: ContactRecord) -> bool:
        return not compiled_groups or any(
            all(test(record) for test in group) for group in compiled_groups
        )

    sort_key, descending = _compile_sort(body.get("sorts") or [], property_types)
    return SearchQuery(
        matches=matches,
        sort_key=sort_key,
        descending=descending,
        offset=_offset(body),
        limit=_limit(body.get("limit")),
        properties=[str(name) for name in body.get("properties") or []],
        first_id=min((_first_id(group["filters"]) for group in groups), default=0),
        end_id=_end_id([group["filters"] for group in groups]),
    )


def _first_id(filters: list[dict[str, Any]]) -> int:
    """The lowest contact id that can pass every one of a group's (validated) ``filters``:
    the highest lower bound its ``hs_object_id`` filters set, else 0."""
    bounds = [0]
    for spec in filters:
        operator = spec.get("operator")
        if spec["propertyName"] != OBJECT_ID or operator not in ("GT", "GTE", "EQ", "BETWEEN"):
            continue
        value = _number(str(spec["value"]))
        if value is None or not math.isfinite(value):
            continue  # no bound to take: the filter itself decides
        bounds.append(math.floor(value) + 1 if operator == "GT" else math.ceil(value))
    return max(bounds)


def _end_id(groups: list[list[dict[str, Any]]]) -> int | None:
    """An id above every contact that can pass one of the (validated) filter ``groups``: the
    highest of the groups' lowest ``hs_object_id`` LT/LTE bounds; None when a group has none."""
    ends = []
    for filters in groups:
        bounds = [
            math.ceil(value) if spec.get("operator") == "LT" else math.floor(value) + 1
            for spec in filters
            if spec["propertyName"] == OBJECT_ID and spec.get("operator") in ("LT", "LTE")
            and (value := _number(str(spec["value"]))) is not None and math.isfinite(value)
        ]
        if not bounds:
            return None
        ends.append(min(bounds))
    return max(ends, default=None)


def _offset(body: Mapping[str, Any]) -> int:
    """The paging offset. HubSpot's spec types ``after`` as a string that is not nullable: a
    first page omits it, and an explicit ``null`` is refused (PublicObjectSearchRequest in the
    CRM search spec; the SDK's serializer never sends one)."""
    if "after" not in body:
        return 0
    after = body["after"]
    if after is None:
        raise SearchRejected("after: null is not a valid paging cursor; omit it on the first page")
    if after == "":
        return 0
    try:
        offset = int(after)
    except (TypeError, ValueError) as exc:
        raise SearchRejected(f"after: {after!r} is not a valid paging cursor") from exc
    if offset < 0:
        raise SearchRejected(f"after: {after!r} is not a valid paging cursor")
    if offset >= MAX_RESULTS:
        raise SearchRejected(
            f"Search results are limited to {MAX_RESULTS} per query; after={offset} pages past "
            "them. Narrow the query (for example with a GTE filter on the last value seen)."
        )
    return offset


def _limit(limit: Any) -> int:
    if limit in (None, ""):
        return DEFAULT_LIMIT
    try:
        value = int(limit)
    except (TypeError, ValueError) as exc:
        raise SearchRejected(f"limit: {limit!r} is not a number") from exc
    if not 0 < value <= MAX_LIMIT:
        raise SearchRejected(f"limit: must be between 1 and {MAX_LIMIT}, was {value}")
    return value


def _compile_sort(
    sorts: Any, property_types: dict[str, str]
) -> tuple[Callable[[ContactRecord], tuple[Any, ...]] | None, bool]:
    """The sort key (None: id order) and direction. The SDK types ``sorts`` as strings
    ("name" or "-name"); the API also takes objects."""
    if not isinstance(sorts, list) or len(sorts) > 1:
        raise SearchRejected("sorts: at most one sort is supported")
    if not sorts:
        return None, False
    sort = sorts[0]
    if isinstance(sort, dict):
        name = str(sort.get("propertyName", ""))
        descending = str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
    else:
        text = str(sort)
        descending = text.startswith("-")
        name = text.lstrip("-")
    kind = property_types.get(name)
    if kind is None:
        raise SearchRejected(f"sorts: property {name!r} does not exist")
    if name == OBJECT_ID and not descending:
        return None, False  # id order, as the records come
    get = _getter(name, _comparable(kind))

    def key(record: ContactRecord) -> tuple[Any, ...]:
        # Unset values go last in either direction; ties keep id order (reversed when the
        # whole list is reversed, as a DESCENDING sort on a real index also does).
        value = get(record)
        missing = value is None
        return (missing != descending, value if not missing else 0, record.id)

    return key, descending


def _compile_filter(spec: Any, property_types: dict[str, str]) -> Predicate:
    if not isinstance(spec, dict):
        raise SearchRejected("filters: each filter must be an object")
    name = str(spec.get("propertyName", ""))
    operator = str(spec.get("operator", ""))
    kind = property_types.get(name)
    if kind is None:
        # HubSpot answers 400 for an unknown property in a filter.
        raise SearchRejected(f"filters: property {name!r} does not exist")
    to_value = _comparable(kind)
    get = _getter(name, to_value)

    if operator == "HAS_PROPERTY":
        return lambda record: record.value(name) is not None
    if operator == "NOT_HAS_PROPERTY":
        return lambda record: record.value(name) is None
    if operator in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise SearchRejected(f"filters: {operator} needs a non-empty 'values' list")
        wanted = {to_value(str(v)) for v in values}
        if operator == "IN":
            return lambda record: get(record) in wanted
        return lambda record: get(record) not in wanted
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(spec.get("value", "")).casefold()
        if "*" not in pattern:
            pattern = f"*{pattern}*"

        def contains(record: ContactRecord) -> bool:
            value = record.value(name)
            return value is not None and fnmatch.fnmatchcase(value.casefold(), pattern)

        if operator == "CONTAINS_TOKEN":
            return contains
        return lambda record: not contains(record)
    if "value" not in spec:
        raise SearchRejected(f"filters: {operator or 'a filter'} on {name!r} needs a 'value'")
    target = to_value(str(spec["value"]))
    if target is None:
        raise SearchRejected(f"filters: {spec['value']!r} is not a valid value for {name!r}")
    if operator == "BETWEEN":
        high = to_value(str(spec.get("highValue", "")))
        if high is None:
            raise SearchRejected(f"filters: BETWEEN on {name!r} needs a valid 'highValue'")
        return lambda record: _between(get(record), target, high)
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "EQ": lambda a, b: a == b,
        "NEQ": lambda a, b: a != b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
    }
    compare = comparisons.get(operator)
    if compare is None:
        raise SearchRejected(f"filters: unknown operator {operator!r}")
    if operator == "NEQ":
        # An unset value differs from every value.
        return lambda record: (value := get(record)) is None or compare(value, target)
    return lambda record: (value := get(record)) is not None and compare(value, target)


def _getter(name: str, to_value: Callable[[str | None], Any]) -> Callable[[ContactRecord], Any]:
    """Reads one property in comparable form. The record's own timestamps and id are read
    directly: incremental syncs filter and sort on ``lastmodifieddate`` over every contact,
    and formatting then re-parsing each timestamp would dominate the search."""
    if name == "lastmodifieddate":
        return lambda record: record.updated_ms
    if name == "createdate":
        return lambda record: record.created_ms
    if name == OBJECT_ID:
        return lambda record: float(record.id)
    return lambda record: to_value(record.value(name))


def _between(value: Any, low: Any, high: Any) -> bool:
    return value is not None and low <= value <= high


def _comparable(kind: str) -> Callable[[str | None], Any]:
    """How to compare one property type: numbers as numbers, dates as epoch ms, text folded."""
    if kind == "number":
        return _number
    if kind in ("datetime", "date"):
        return _epoch_ms
    return lambda text: text.casefold() if text is not None else None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _epoch_ms(text: str | None) -> int | None:
    return parse_timestamp_ms(text) if text is not None else None
