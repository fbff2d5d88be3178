"""Segments: parse segment rules, type CRM contacts, derive behavioural features, audit the
data, find who matches each rule, discover cluster segments, validate, pick a primary.

A pure library: it knows nothing of connectors or syncing. The usual flow::

    features = parse_features(config.get("features"), field_types)
    known = {**field_types, **features.field_types()}
    segments = parse_segments(config["segments"], known)
    cluster_configs = parse_cluster_sets(config.get("clusters"), known)

    frame = coerce_frame(raw_contacts, field_types)         # frame.problems: unreadable cells
    frame = add_features(frame, features, now)
    report = audit(frame, segments, clusters={c.name: c.segmenter() for c in cluster_configs},
                   raw=raw_contacts)

    cluster_sets = [
        ClusterSegmentSet(c.name, c.priority,
                          c.segmenter().fit(frame, previous=stored.get(c.name)), fitted_on=frame)
        for c in cluster_configs
    ]                                                       # store each .segmenter.to_state()
    memberships = membership_table(segments, frame, now, cluster_sets)
    assignments = resolve(memberships, all_segments(segments, cluster_sets), fallback="Other")
    validation = validate_segments(memberships, parse_validation(config.get("validation")),
                                   assignments)
"""

from segment_core.audit import AuditConfig, AuditReport, audit, parse_audit
from segment_core.cluster_config import ClusterSetConfig, parse_cluster_sets
from segment_core.coerce import CoercedFrame, coerce_frame, coerce_literal
from segment_core.errors import CoercionError, ConfigError, RuleError
from segment_core.evaluate import evaluate
from segment_core.expression import parse_expression
from segment_core.features import (
    EngagementConfig,
    FeatureConfig,
    RFMConfig,
    add_features,
    parse_features,
)
from segment_core.fields import FIELD_TYPES, FieldType
from segment_core.profiles import ClusterProfile
from segment_core.resolve import all_segments, membership_table, resolve, segment_reason
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
from segment_core.segments import ClusterSegment, RuleSegment, Segment, parse_rule, parse_segments
from segment_core.stored import StoredModelError
from segment_core.structured import parse_structured
from segment_core.validate import OPERATORS_BY_TYPE, check_rule
from segment_core.validation import (
    SegmentValidationError,
    ValidationConfig,
    ValidationReport,
    parse_validation,
    validate_segments,
)

__all__ = [
    "FIELD_TYPES",
    "OPERATORS_BY_TYPE",
    "AllOf",
    "AnyOf",
    "AuditConfig",
    "AuditReport",
    "ClusterProfile",
    "ClusterSegment",
    "ClusterSegmentSet",
    "ClusterSegmenter",
    "ClusterSetConfig",
    "CoercedFrame",
    "CoercionError",
    "Condition",
    "ConfigError",
    "Drift",
    "EngagementConfig",
    "FeatureConfig",
    "FieldType",
    "Not",
    "Op",
    "Operand",
    "RFMConfig",
    "Rule",
    "RuleError",
    "RuleSegment",
    "Segment",
    "SegmentValidationError",
    "StoredModelError",
    "ValidationConfig",
    "ValidationReport",
    "add_features",
    "all_segments",
    "audit",
    "check_rule",
    "coerce_frame",
    "coerce_literal",
    "describe",
    "evaluate",
    "iter_conditions",
    "membership_table",
    "parse_audit",
    "parse_cluster_sets",
    "parse_expression",
    "parse_features",
    "parse_rule",
    "parse_segments",
    "parse_structured",
    "parse_validation",
    "referenced_fields",
    "resolve",
    "segment_reason",
    "validate_segments",
]

_LAZY = frozenset({"ClusterSegmenter", "ClusterSegmentSet", "Drift"})
"""Names from ``segment_core.clusters``, imported on first use: it loads scikit-learn."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from segment_core import clusters

        return getattr(clusters, name)
    raise AttributeError(f"module 'segment_core' has no attribute {name!r}")
