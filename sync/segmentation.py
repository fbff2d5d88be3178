"""The segmenting step of a run: from the CRM's text values to each contact's segments.

It binds the configuration's ``[features]``, ``[[segments]]``, ``[[clusters]]``, ``[audit]``
and ``[validation]`` to the CRM's own field list, says which fields a run must pull, and
turns the pulled contacts into memberships and assignments, with the audit and validation
reports that the run summary shows. Cluster models come in and go out as stored state, so a
cluster keeps its identity and name from run to run (see ``segment_core.clusters``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from segment_core.audit import AuditConfig, AuditReport, audit, parse_audit
from segment_core.cluster_config import ClusterSetConfig, parse_cluster_sets
from segment_core.coerce import CoercedFrame, coerce_frame
from segment_core.errors import ConfigError as SegmentConfigError
from segment_core.errors import RuleError
from segment_core.features import FeatureConfig, add_features, parse_features
from segment_core.fields import FieldType
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
from sync.config import ConfigError, Settings

if TYPE_CHECKING:
    from segment_core.clusters import ClusterSegmentSet


def text_frame(
    rows: Mapping[str, Mapping[str, str | None]], columns: Sequence[str]
) -> pd.DataFrame:
    """Contacts as a text frame: index = contact id, one column per field, str or None."""
    frame = pd.DataFrame.from_dict(dict(rows), orient="index", dtype=object)
    frame = frame.reindex(index=list(rows), columns=list(columns)).astype(object)
    frame.index = frame.index.astype(object)
    return frame.where(frame.notna(), None)


@dataclass(frozen=True)
class SegmentationConfig:
    """The segment configuration, checked against the CRM's fields and types."""

    crm_field_types: Mapping[str, FieldType]
    features: FeatureConfig
    segments: tuple[RuleSegment, ...]
    cluster_sets: tuple[ClusterSetConfig, ...]
    audit: AuditConfig
    validation: ValidationConfig
    holdouts: Mapping[str, float]
    extra_fields: tuple[str, ...]
    """Fields read for the sync and the report rather than for segments: opt-out, conversion,
    revenue."""

    @classmethod
    def bind(
        cls, settings: Settings, crm_field_types: Mapping[str, FieldType]
    ) -> SegmentationConfig:
        """Parse every segment setting against the CRM's fields; errors name the file and key."""
        try:
            return cls._bind(settings, crm_field_types)
        except (SegmentConfigError, RuleError) as exc:
            raise ConfigError(f"{settings.source}: {exc}") from None

    @classmethod
    def _bind(
        cls, settings: Settings, crm_field_types: Mapping[str, FieldType]
    ) -> SegmentationConfig:
        _check_opt_out_field(settings.sync.opt_out_field, crm_field_types)
        features = parse_features(settings.features, crm_field_types)
        known = {**crm_field_types, **features.field_types()}
        segments = parse_segments(
            [
                s.model_dump(include={"name", "priority", "rule", "description"})
                for s in settings.segments
            ],
            known,
        )
        return cls(
            crm_field_types=dict(crm_field_types),
            features=features,
            segments=tuple(segments),
            cluster_sets=tuple(parse_cluster_sets(settings.clusters, known)),
            audit=parse_audit(settings.audit),
            validation=parse_validation(settings.validation),
            holdouts={s.name: s.holdout for s in settings.segments},
            extra_fields=tuple(
                name
                for name in (
                    settings.sync.opt_out_field,
                    settings.report.conversion_field,
                    settings.report.revenue_field,
                )
                if name
            ),
        )

    def read_fields(self) -> list[str]:
        """The CRM fields a run pulls: those the rules, features, clusters, audit, opt-out and
        report read, where the CRM has them."""
        used = {name for s in self.segments for name in referenced_fields(s.rule)}
        used |= set(self.features.source_fields())
        for cluster_set in self.cluster_sets:
            used |= set(cluster_set.params.get("numeric", ()))
            used |= set(cluster_set.params.get("categorical", ()))
        audit_fields = [self.audit.email_field, *self.audit.name_fields, self.audit.company_field]
        wanted = used | {name for name in (*audit_fields, *self.extra_fields) if name}
        return sorted(name for name in wanted if name in self.crm_field_types)

    def segment(
        self,
        contacts: pd.DataFrame,
        now: datetime,
        stored_models: Mapping[str, bytes],
        *,
        fallback: str | None = None,
        refit: bool = False,
    ) -> Segmentation:
        """Type the pulled ``contacts`` (text, one column per read field), derive features,
        audit, cluster, match rules and resolve each contact's primary segment."""
        typed = coerce_frame(contacts, {name: self.crm_field_types[name] for name in contacts})
        frame = add_features(typed, self.features, now)
        fitted = self._fit_clusters(frame, stored_models, refit)
        report = audit(
            frame,
            self.segments,
            clusters={s.name: s.segmenter for s in fitted},
            raw=contacts,
            config=self.audit,
            now=now,
        )
        memberships = membership_table(self.segments, frame, now, fitted)
        every = all_segments(self.segments, fitted)
        assignments = resolve(memberships, every, fallback=fallback)
        return Segmentation(
            frame=frame,
            rule_segments=self.segments,
            cluster_sets=fitted,
            segments=tuple(every),
            memberships=memberships,
            assignments=assignments,
            audit=report,
            validation=_validate(memberships, assignments, self.validation),
        )

    def _fit_clusters(
        self, frame: CoercedFrame, stored_models: Mapping[str, bytes], refit: bool
    ) -> tuple[ClusterSegmentSet, ...]:
        """Each cluster set fitted (or its stored model kept); scikit-learn loads only here."""
        if not self.cluster_sets:
            return ()
        from segment_core.clusters import ClusterSegmentSet

        return tuple(
            ClusterSegmentSet(
                config.name,
                config.priority,
                config.segmenter().fit(frame, previous=stored_models.get(config.name), refit=refit),
                fitted_on=frame,
            )
            for config in self.cluster_sets
        )


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
        """Each cluster set's fitted model as stored state."""
        return {s.name: s.segmenter.to_state() for s in self.cluster_sets}

    def validation_problems(self) -> list[str]:
        """Strict-mode validation errors: they stop a run before it writes, like a guardrail."""
        return [f"segment validation: {finding.message}" for finding in self.validation.errors]


def _validate(
    memberships: pd.DataFrame, assignments: pd.DataFrame, config: ValidationConfig
) -> ValidationReport:
    """The validation report; in strict mode its findings are errors, returned, not raised,
    so the run can report all of them and abort like a guardrail."""
    try:
        return validate_segments(memberships, config, assignments)
    except SegmentValidationError as error:
        return error.report


def _check_opt_out_field(name: str | None, crm_field_types: Mapping[str, FieldType]) -> None:
    """An opt-out field the CRM lacks would let every opted-out contact into the lists."""
    if name and name not in crm_field_types:
        raise SegmentConfigError(
            f'unknown field "{name}", so opted-out contacts could not be kept out of lists',
            path="sync.opt_out_field",
            suggestions=difflib.get_close_matches(name, list(crm_field_types), n=1),
        )
