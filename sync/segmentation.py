"""The segmenting step of a run, bound to the CRM: which fields to pull, and the recipe.

It binds the configuration's ``[features]``, ``[[segments]]``, ``[[clusters]]``, ``[audit]``
and ``[validation]`` to the CRM's own field list as a ``segment_core.segmenter.Segmenter``,
and says which fields a run must pull: those the recipe reads plus the extra fields its caller
names (the opt-out field, the report's conversion and revenue fields). Cluster models come in
and go out as stored state, so a cluster keeps its identity and name from run to run (see
``segment_core.clusters``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from connectors.base import FieldInfo
from segment_core.errors import ConfigError as SegmentConfigError
from segment_core.errors import RuleError
from segment_core.fields import FieldType
from segment_core.labels import NO_LABELS, CrmLabels
from segment_core.segmenter import Segmenter
from sync.config import ConfigError, SegmentConfig


def text_frame(
    rows: Mapping[str, Mapping[str, str | None]], columns: Sequence[str]
) -> pd.DataFrame:
    """Contacts as a text frame: index = contact id, one column per field, str or None (a
    field a contact's row lacks reads as None).

    Built column by column from the rows: a frame of 10^5 contacts built row by row (records,
    then reindexed and cleaned of NaN) took seconds of a run's time.
    """
    values = list(rows.values())
    data = {column: [row.get(column) for row in values] for column in dict.fromkeys(columns)}
    columns_index = pd.Index(list(data), dtype=str)
    frame = pd.DataFrame(data, pd.Index(list(rows), dtype=object), columns_index, dtype=object)
    return frame if len(data) == len(columns) else frame.reindex(columns=list(columns))


class SegmentSections(Protocol):
    """The pieces of the configuration that segmentation reads, and the file they came from."""

    @property
    def source(self) -> str: ...
    @property
    def segments(self) -> Sequence[SegmentConfig]: ...
    @property
    def features(self) -> Mapping[str, Any] | None: ...
    @property
    def clusters(self) -> Sequence[Mapping[str, Any]] | None: ...
    @property
    def audit(self) -> Mapping[str, Any] | None: ...
    @property
    def validation(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class SegmentationConfig:
    """The segment configuration bound to the CRM, and the extra fields a run reads."""

    segmenter: Segmenter
    holdouts: Mapping[str, float]
    extra_fields: tuple[str, ...]
    """Fields read for the sync and the report rather than for segments: opt-out, conversion,
    revenue."""

    @classmethod
    def bind(
        cls,
        sections: SegmentSections,
        crm_field_types: Mapping[str, FieldType],
        *,
        opt_out_field: str | None = None,
        extra_fields: Iterable[str | None] = (),
        labels: CrmLabels = NO_LABELS,
    ) -> SegmentationConfig:
        """Parse every segment setting against the CRM's fields; errors name the file and key.

        ``opt_out_field`` must be a CRM field; it and the ``extra_fields`` (those set) are pulled
        with the segments' fields. Clusters are described in the CRM's ``labels``.
        """
        try:
            _check_opt_out_field(opt_out_field, crm_field_types)
            segmenter = Segmenter.parse(
                {
                    "features": sections.features,
                    "segments": [
                        s.model_dump(include={"name", "priority", "rule", "description"})
                        for s in sections.segments
                    ],
                    "clusters": sections.clusters,
                    "audit": sections.audit,
                    "validation": sections.validation,
                },
                crm_field_types,
                labels,
            )
        except (SegmentConfigError, RuleError) as exc:
            raise ConfigError(f"{sections.source}: {exc}") from None
        return cls(
            segmenter=segmenter,
            holdouts={s.name: s.holdout for s in sections.segments},
            extra_fields=tuple(name for name in (opt_out_field, *extra_fields) if name),
        )

    def read_fields(self) -> list[str]:
        """The CRM fields a run pulls: those the rules, features, clusters, audit, opt-out and
        report read, where the CRM has them."""
        crm_fields = self.segmenter.field_types
        extra = {name for name in self.extra_fields if name in crm_fields}
        return sorted({*self.segmenter.read_fields(), *extra})


def crm_labels(fields: Iterable[FieldInfo]) -> CrmLabels:
    """The labels the CRM shows for its ``fields`` and their options, for segment_core."""
    listed = list(fields)
    return CrmLabels(
        fields={info.name: info.label for info in listed if info.label},
        options={
            (info.name, value): label for info in listed for value, label in info.option_labels
        },
    )


def _check_opt_out_field(name: str | None, crm_field_types: Mapping[str, FieldType]) -> None:
    """An opt-out field the CRM lacks would let every opted-out contact into the lists."""
    if name and name not in crm_field_types:
        raise SegmentConfigError(
            f'unknown field "{name}", so opted-out contacts could not be kept out of lists',
            path="sync.opt_out_field",
            suggestions=difflib.get_close_matches(name, list(crm_field_types), n=1),
        )
