"""The segmentation recipe: from raw contact text to each contact's segments, in one place.

Every caller (a sync run, ``segsync explain``, the benchmarks) runs the same steps in the same
order, so they live here once: coerce, derive features, fit the cluster sets, audit, match,
resolve, validate. ``Segmenter`` holds what is known before the data (the parsed configuration
and the CRM's field types); ``Segmenter.run`` takes the data (raw contacts, the run's time, the
stored cluster models) and returns a ``Segmentation``, a plain value with the fitted models to
store. The steps are public too, so a benchmark can time each one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from segment_core.audit import AuditConfig, AuditReport, audit, parse_audit
from segment_core.cluster_config import ClusterSetConfig, parse_cluster_sets
from segment_core.coerce import CoercedFrame, coerce_frame
from segment_core.features import FeatureConfig, add_features, parse_features
from segment_core.fields import FieldType
from segment_core.labels import NO_LABELS, CrmLabels
from segment_core.resolve import all_segments, membership_table, resolve
from segment_core.rules import referenced_fields
from segment_core.segments import RuleSegment, Segment, parse_segments
from segment_core.validation import (
    SegmentValidationError,
    ValidationConfig,
    ValidationReport,
    parse_validation,
    validate_segments,
)

if TYPE_CHECKING:
    from segment_core.cluster_set import ClusterSegmentSet


@dataclass(frozen=True)
class Segmenter:
    """The parsed segment configuration, checked against the CRM's ``field_types``; cluster
    profiles and new cluster names read in the CRM's ``labels``."""

    field_types: Mapping[str, FieldType]
    segments: tuple[RuleSegment, ...] = ()
    features: FeatureConfig = field(default_factory=FeatureConfig)
    cluster_sets: tuple[ClusterSetConfig, ...] = ()
    audit: AuditConfig = field(default_factory=AuditConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    labels: CrmLabels = NO_LABELS

    @classmethod
    def parse(
        cls,
        config: Mapping[str, Any],
        field_types: Mapping[str, FieldType],
        labels: CrmLabels = NO_LABELS,
    ) -> Segmenter:
        """Parse the plain ``features``, ``segments``, ``clusters``, ``audit`` and ``validation``
        settings of ``config`` (parsed TOML) against ``field_types``; ``ConfigError`` or
        ``RuleError`` names the first bad key. Rules and cluster sets may use derived features.
        """
        features = parse_features(config.get("features"), field_types)
        known = {**field_types, **features.field_types()}
        return cls(
            field_types=dict(field_types),
            segments=tuple(parse_segments(config.get("segments") or [], known)),
            features=features,
            cluster_sets=tuple(parse_cluster_sets(config.get("clusters"), known)),
            audit=parse_audit(config.get("audit")),
            validation=parse_validation(config.get("validation")),
            labels=labels,
        )

    def read_fields(self) -> list[str]:
        """The fields the recipe reads (rules, features, clusters, audit), sorted, where
        ``field_types`` has them."""
        used = {name for s in self.segments for name in referenced_fields(s.rule)}
        used |= set(self.features.source_fields())
        for cluster_set in self.cluster_sets:
            used |= set(cluster_set.params.get("numeric", ()))
            used |= set(cluster_set.params.get("categorical", ()))
        audit_fields = (self.audit.email_field, *self.audit.name_fields, self.audit.company_field)
        used |= {name for name in audit_fields if name}
        return sorted(name for name in used if name in self.field_types)

    def run(
        self,
        raw: pd.DataFrame,
        now: datetime,
        stored_models: Mapping[str, bytes] | None = None,
        *,
        fallback: str | None = None,
        refit: bool = False,
    ) -> Segmentation:
        """Segment the ``raw`` contacts (text, one column per field of ``field_types``).

        ``stored_models`` are the cluster sets' models of the last run (``Segmentation.models``),
        by set name; ``refit`` trains new ones even where a stored model still fits. A contact
        in no segment gets the ``fallback`` segment as primary, when there is one.
        """
        frame = self.derive(self.coerce(raw), now)
        fitted = self.fit_clusters(frame, stored_models or {}, refit=refit, now=now)
        report = self.audit_data(frame, fitted, now, raw=raw)
        memberships = self.match(frame, now, fitted)
        assignments = self.assign(memberships, fitted, fallback=fallback)
        return Segmentation(
            frame=frame,
            rule_segments=self.segments,
            cluster_sets=fitted,
            segments=tuple(all_segments(self.segments, fitted)),
            memberships=memberships,
            assignments=assignments,
            audit=report,
            validation=self.validate(memberships, assignments),
        )

    def coerce(self, raw: pd.DataFrame) -> CoercedFrame:
        """The raw text typed by the CRM's field types (unreadable cells in ``problems``)."""
        return coerce_frame(raw, {name: self.field_types[name] for name in raw.columns})

    def derive(self, frame: CoercedFrame, now: datetime) -> CoercedFrame:
        """``frame`` with the derived features as of ``now``."""
        return add_features(frame, self.features, now)

    def fit_clusters(
        self,
        frame: CoercedFrame,
        stored_models: Mapping[str, bytes],
        *,
        refit: bool = False,
        now: datetime | None = None,
    ) -> tuple[ClusterSegmentSet, ...]:
        """Each cluster set fitted (or its stored model kept); scikit-learn loads only here.
        ``now`` dates a new fit and measures a stored model's age against ``refit_every``."""
        if not self.cluster_sets:
            return ()
        from segment_core.cluster_refit import refit_or_keep
        from segment_core.cluster_set import ClusterSegmentSet

        fitted = []
        for config in self.cluster_sets:
            stored = stored_models.get(config.name)
            segmenter = refit_or_keep(
                config.segmenter().labelled(self.labels),
                frame,
                stored,
                refit=refit,
                now=now,
                refit_every=config.refit_every,
            )
            fitted.append(ClusterSegmentSet(config.name, config.priority, segmenter, frame))
        return tuple(fitted)

    def audit_data(
        self,
        frame: CoercedFrame,
        cluster_sets: tuple[ClusterSegmentSet, ...],
        now: datetime,
        raw: pd.DataFrame | None = None,
    ) -> AuditReport:
        """The data-quality audit of ``frame`` for the rules and the fitted cluster sets;
        ``raw``, the text as pulled, shows spacing variants that coercion strips."""
        return audit(
            frame,
            self.segments,
            clusters={s.name: s.segmenter for s in cluster_sets},
            raw=raw,
            config=self.audit,
            now=now,
        )

    def match(
        self, frame: CoercedFrame, now: datetime, cluster_sets: tuple[ClusterSegmentSet, ...] = ()
    ) -> pd.DataFrame:
        """One bool column per rule segment, then per cluster: who is in each."""
        return membership_table(self.segments, frame, now, cluster_sets)

    def assign(
        self,
        memberships: pd.DataFrame,
        cluster_sets: tuple[ClusterSegmentSet, ...] = (),
        *,
        fallback: str | None = None,
    ) -> pd.DataFrame:
        """Each contact's primary segment, all its segments and why (see ``resolve``)."""
        return resolve(memberships, all_segments(self.segments, cluster_sets), fallback=fallback)

    def validate(self, memberships: pd.DataFrame, assignments: pd.DataFrame) -> ValidationReport:
        """The validation report; in strict mode its findings are errors, returned, not raised,
        so a run can report all of them and abort like a guardrail."""
        try:
            return validate_segments(memberships, self.validation, assignments)
        except SegmentValidationError as error:
            return error.report


@dataclass(frozen=True, eq=False)
class Segmentation:
    """One run's segments: typed contacts (with features), memberships, assignments, reports."""

    frame: CoercedFrame
    rule_segments: tuple[RuleSegment, ...]
    cluster_sets: tuple[ClusterSegmentSet, ...]
    segments: tuple[Segment, ...]
    memberships: pd.DataFrame
    assignments: pd.DataFrame
    audit: AuditReport
    validation: ValidationReport

    def models(self) -> dict[str, bytes]:
        """Each cluster set's fitted model as stored state, for the next run. Without cluster
        sets there is nothing to store, and scikit-learn (which ``cluster_state`` loads) stays
        unloaded: a cold import of it costs seconds."""
        if not self.cluster_sets:
            return {}
        from segment_core.cluster_state import to_state

        return {s.name: to_state(s.segmenter) for s in self.cluster_sets}

    def validation_problems(self) -> list[str]:
        """Strict-mode validation errors: they stop a run before it writes, like a guardrail."""
        return [f"segment validation: {finding.message}" for finding in self.validation.errors]
