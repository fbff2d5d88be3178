"""Segments: parse segment rules, type CRM contacts, derive behavioural features, audit the
data, find who matches each rule, discover cluster segments, validate, pick a primary.

A pure library: it knows nothing of connectors or syncing. The usual flow is a ``Segmenter``,
which runs every step in order::

    segmenter = Segmenter.parse(config, field_types)        # features, segments, clusters,
                                                            # audit, validation: parsed, checked
    result = segmenter.run(raw_contacts, now, stored_models, fallback="Other")

    result.frame          # coerce_frame, then add_features: typed contacts and derived fields
    result.cluster_sets   # each [[clusters]] set fitted, or its stored model kept (refit_or_keep)
    result.audit          # audit: completeness, duplicates, formats, unreadable cells
    result.memberships    # membership_table: who is in each rule and cluster segment
    result.assignments    # resolve: each contact's primary segment, all its segments, why
    result.validation     # validate_segments: measurable, substantial, differentiable
    result.models()       # the fitted cluster models to store for the next run

Each step is also a method of ``Segmenter`` (``coerce``, ``derive``, ``fit_clusters``,
``audit_data``, ``match``, ``assign``, ``validate``), and each is a plain function of its own
module for a caller who needs only one.
"""

import importlib

from segment_core.audit import AuditConfig, AuditReport, audit, parse_audit
from segment_core.cluster_config import ClusterSetConfig, parse_cluster_sets
from segment_core.cluster_drift import Drift
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
from segment_core.rule_check import OPERATORS_BY_TYPE, check_rule
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
from segment_core.segmenter import Segmentation, Segmenter
from segment_core.segments import ClusterSegment, RuleSegment, Segment, parse_rule, parse_segments
from segment_core.stored import StoredModelError
from segment_core.structured import parse_structured
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
    "Segmentation",
    "Segmenter",
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

_LAZY = {"ClusterSegmenter": "clusters", "ClusterSegmentSet": "cluster_set"}
"""Names imported on first use, by module: clustering loads scikit-learn."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        module = importlib.import_module(f"segment_core.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'segment_core' has no attribute {name!r}")
