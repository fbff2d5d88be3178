"""Rule segments: parse segment rules, type CRM contacts, find who matches, pick a primary.

A pure library: it knows nothing of connectors or syncing. The usual flow::

    segments = parse_segments(config["segments"], field_types)
    frame = coerce_frame(raw_contacts, field_types)         # frame.problems: unreadable cells
    memberships = membership_table(segments, frame, now)
    assignments = resolve(memberships, segments, fallback="Other")
"""

from segment_core.coerce import CoercedFrame, coerce_frame, coerce_literal
from segment_core.errors import CoercionError, RuleError
from segment_core.evaluate import evaluate
from segment_core.expression import parse_expression
from segment_core.fields import FIELD_TYPES, FieldType
from segment_core.resolve import membership_table, resolve
from segment_core.rules import (
    AllOf,
    AnyOf,
    Condition,
    Not,
    Op,
    Operand,
    Rule,
    describe,
    iter_conditions,
    referenced_fields,
)
from segment_core.segments import RuleSegment, parse_rule, parse_segments
from segment_core.structured import parse_structured
from segment_core.validate import OPERATORS_BY_TYPE, check_rule

__all__ = [
    "FIELD_TYPES",
    "OPERATORS_BY_TYPE",
    "AllOf",
    "AnyOf",
    "CoercedFrame",
    "CoercionError",
    "Condition",
    "FieldType",
    "Not",
    "Op",
    "Operand",
    "Rule",
    "RuleError",
    "RuleSegment",
    "check_rule",
    "coerce_frame",
    "coerce_literal",
    "describe",
    "evaluate",
    "iter_conditions",
    "membership_table",
    "parse_expression",
    "parse_rule",
    "parse_segments",
    "parse_structured",
    "referenced_fields",
    "resolve",
]
