"""The bench's rules as SQL: segsync's rule evaluation and priority resolution against DuckDB.

A user with a warehouse could run the same segments as SQL over the same contacts. To compare
like with like, ``resolution_sql`` translates segsync's parsed rules (the AST, not the config
text) into one query that gives each contact its primary segment by priority and its
memberships, with segsync's semantics:

- a condition on a missing value is false (``COALESCE(..., FALSE)``), ``!=`` and ``not in``
  included, so ``NOT`` stays plain negation; only ``is empty`` matches missing values;
- ``contains`` and ``starts with`` compare lower-cased text (DuckDB's ``lower`` and Python's
  agree on the bench's ASCII data, not on every Unicode letter); multi-select options are
  substring tests on the canonical ``";a;b;"`` form, ``=``/``in`` "has any", ``!=``/``not in``
  "has none";
- ``within N days`` is the window ``segment_core.evaluate`` computes, as two literals;
- ties in priority go to the segment declared first.

The contacts are loaded into DuckDB once, outside the timing, typed as segsync typed them: the
warehouse user already has their table. DuckDB's run is timed to its result table (it keeps
its results where they are, as a warehouse does), so its figure leaves out the conversion to
Python objects that segsync's figure includes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from segment_core import AllOf, AnyOf, CoercedFrame, Condition, FieldType, Not, Op, Rule
from segment_core.coerce import CoercedScalar, coerce_operand
from segment_core.segments import RuleSegment

_COMPARE = {
    Op.EQ: "=",
    Op.NE: "<>",
    Op.LT: "<",
    Op.LE: "<=",
    Op.GT: ">",
    Op.GE: ">=",
    Op.BEFORE: "<",
    Op.AFTER: ">",
}
INSTALL_HINT = "the DuckDB comparison needs the bench extra: pip install -e '.[bench]'"


def rule_sql(rule: Rule, types: dict[str, FieldType], now: datetime) -> str:
    """``rule`` as a boolean SQL expression that is never NULL."""
    match rule:
        case Not(inner):
            return f"(NOT {rule_sql(inner, types, now)})"
        case AllOf(rules) | AnyOf(rules):
            joiner = " AND " if isinstance(rule, AllOf) else " OR "
            return "(" + joiner.join(rule_sql(member, types, now) for member in rules) + ")"
    column = _identifier(rule.field)
    if rule.op is Op.IS_SET or rule.op is Op.IS_EMPTY:
        return f"({column} IS {'' if rule.op is Op.IS_EMPTY else 'NOT '}NULL)"
    return f"COALESCE({_condition_sql(rule, column, types[rule.field], now)}, FALSE)"


def _condition_sql(condition: Condition, column: str, field_type: FieldType, now: datetime) -> str:
    op, operand = condition.op, coerce_operand(condition, field_type)
    if field_type == "multi_enumeration":
        if op is Op.CONTAINS:
            return f"contains(lower({column}), {_literal(f';{str(operand).lower()};')})"
        options = operand if isinstance(operand, tuple) else (operand,)
        has_any = " OR ".join(f"contains({column}, {_literal(f';{o};')})" for o in options)
        return f"({has_any})" if op in (Op.EQ, Op.IN) else f"(NOT ({has_any}))"
    if op in (Op.CONTAINS, Op.STARTS_WITH):
        function = "contains" if op is Op.CONTAINS else "starts_with"
        return f"{function}(lower({column}), {_literal(str(operand).lower())})"
    if op is Op.WITHIN:
        end = pd.Timestamp(now).tz_convert("UTC")
        end = end if field_type == "datetime" else end.normalize()
        operand = (end - pd.Timedelta(days=operand), end)
        op = Op.BETWEEN
    if isinstance(operand, tuple):
        if op is Op.BETWEEN:
            low, high = operand
            return f"({column} BETWEEN {_literal(low)} AND {_literal(high)})"
        listed = ", ".join(_literal(item) for item in operand)
        return f"({column} {'IN' if op is Op.IN else 'NOT IN'} ({listed}))"
    return f"({column} {_COMPARE[op]} {_literal(operand)})"


def _literal(value: CoercedScalar) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def resolution_sql(
    segments: Sequence[RuleSegment],
    types: dict[str, FieldType],
    now: datetime,
    fallback: str,
    table: str = "contacts",
) -> str:
    """Each contact's memberships (one boolean column per segment, in config order), its
    primary segment and its segments by priority (``primary``, ``segments``)."""
    members = [f"{rule_sql(s.rule, types, now)} AS m{i}" for i, s in enumerate(segments)]
    ranked = sorted(range(len(segments)), key=lambda i: -segments[i].priority)  # stable
    names = [_literal(segments[i].name) for i in ranked]
    primary = " ".join(f"WHEN m{i} THEN {name}" for i, name in zip(ranked, names, strict=True))
    listed = ", ".join(f"CASE WHEN m{i} THEN {n} END" for i, n in zip(ranked, names, strict=True))
    flags = ", ".join(f"m{i}" for i in range(len(segments)))
    return (
        f"WITH m AS (SELECT id, {', '.join(members)} FROM {table}) "
        f"SELECT id, {flags}, CASE {primary} ELSE {_literal(fallback)} END AS \"primary\", "
        f"list_filter([{listed}], lambda name: name IS NOT NULL) AS segments FROM m"
    )


class DuckDBPeer:
    """The same contacts in an in-memory DuckDB, loaded once, and the rules run there."""

    def __init__(self, frame: CoercedFrame) -> None:
        import duckdb  # the bench extra: never a segsync dependency

        self.connection = duckdb.connect()
        self.threads = self.connection.execute("SELECT current_setting('threads')").fetchall()[0][0]
        self.connection.register("typed", frame.data.rename_axis("id").reset_index())
        self.connection.execute("CREATE TABLE contacts AS SELECT * FROM typed")
        self.connection.unregister("typed")

    def run(self, query: str) -> float:
        """Seconds to compute ``query`` into the result table ``assignments``."""
        started = time.perf_counter()
        self.connection.execute(f"CREATE OR REPLACE TABLE assignments AS {query}")
        return time.perf_counter() - started

    def close(self) -> None:
        """Drop the tables and the connection, and with them DuckDB's memory."""
        self.connection.close()

    def check_agrees(
        self, segments: Sequence[RuleSegment], memberships: pd.DataFrame, assignments: pd.DataFrame
    ) -> None:
        """Raise ``AssertionError`` unless every contact has the same memberships, primary
        segment and segments (in order) in DuckDB's result as in segsync's."""
        result = self.connection.sql("SELECT * FROM assignments").df().set_index("id")
        result = result.loc[memberships.index]
        for i, segment in enumerate(segments):
            same = result[f"m{i}"].to_numpy(dtype=bool) == memberships[segment.name].to_numpy()
            assert same.all(), f"{segment.name}: {int((~same).sum())} contacts differ"
        primary = result["primary"].to_numpy(dtype=object) == assignments["primary"].to_numpy()
        assert primary.all(), f"primary segment: {int((~primary).sum())} contacts differ"
        theirs = (tuple(names) for names in result["segments"])
        differ = sum(a != b for a, b in zip(theirs, assignments["segments"], strict=True))
        assert differ == 0, f"segments: {differ} contacts differ"
