"""Behavioural features: fields derived from a contact's typed fields, usable in rules and clusters.

Three kinds, declared in one config table (every key optional)::

    [features]
    days_since = ["notes_last_updated"]            # -> days_since_notes_last_updated
    [features.rfm]                                 # -> rfm_recency_score, rfm_frequency_score,
    recency = "recent_deal_close_date"             #    rfm_monetary_score, rfm_segment
    frequency = "num_purchases"
    monetary = "total_revenue"
    missing = "keep"                               # or "lowest"
    [features.engagement]                          # -> engagement_score
    weights = { hs_email_open = 2, num_purchases = 1, days_since_notes_last_updated = -1 }
    scaling = "minmax"                             # or "rank"

``add_features`` appends the derived columns to a ``CoercedFrame`` with their field types
(``number`` for scores and day counts, ``enumeration`` for ``rfm_segment``), so rules such as
``rfm_segment = "At risk" and days_since_notes_last_updated > 90`` check and evaluate like any
other; ``FeatureConfig.field_types()`` gives those types up front so the rules can be checked
when the config is loaded, before any data is pulled. Features are computed in the order
days-since, RFM, engagement, so an engagement weight may use a days-since or RFM column.

Semantics:

- days since: whole days from the field's value to ``now``, rounded down (for a ``date``
  field, calendar days in UTC: ``now``'s own date counts as 0). A value in the future gives a
  negative count; a missing value a missing count.
- RFM scores: 1 to 5 by the contact's mid-rank percentile among contacts that have a value,
  ``score = floor(5 * (rank - 0.5) / n) + 1``. Equal values share the lowest rank of their
  group (``rank(method="min")``), so the result does not depend on row order, ``n`` distinct
  values split into equal fifths, and a large tie at the bottom stays at the bottom: on real
  purchase data half the customers bought once, and they must score F = 1 (with average ranks
  they would all score 2, and "Lost", "Promising" and "New customers" could never occur).
  Higher is better: a later recency date, more purchases, more revenue. A ``number`` recency
  field is read as "days since" (fewer is better). Missing values are left missing by default
  (``missing = "keep"``: a contact without purchase data gets no RFM segment, as a rule never
  matches on data that is not there); ``missing = "lowest"`` scores them 1, for CRMs where an
  empty purchase count means none.
- RFM segment: from the recency and frequency scores by the grid in ``RFM_GRID``.
- engagement score: each weighted field scaled to [0, 1] ("minmax": ``(x - min) / (max -
  min)``; "rank": the same over average ranks, so outliers do not squash everyone else), a
  missing value counting as 0 (no recorded engagement) and a field that does not vary as 0 for
  everyone; then ``100 * sum(|w| * s) / sum(|w|)``, where a negative weight means "less is more
  engaged" and uses ``1 - s`` (a missing value still counts 0). Always within 0 to 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

from segment_core import config_readers as read
from segment_core.coerce import CoercedFrame
from segment_core.errors import ConfigError
from segment_core.fields import FieldType
from segment_core.syntax import describe_value

DAYS_SINCE_PREFIX = "days_since_"
RFM_RECENCY_SCORE = "rfm_recency_score"
RFM_FREQUENCY_SCORE = "rfm_frequency_score"
RFM_MONETARY_SCORE = "rfm_monetary_score"
RFM_SEGMENT = "rfm_segment"
ENGAGEMENT_SCORE = "engagement_score"

RFM_SEGMENTS = (
    "Champions",
    "Loyal customers",
    "Potential loyalists",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Cannot lose them",
    "Hibernating",
    "Lost",
)

_CH, _LO, _PL, _NC, _PR, _NA, _AS, _AR, _CL, _HI, _LS = RFM_SEGMENTS

RFM_GRID: tuple[tuple[str, ...], ...] = (
    # F = 1  2    3    4    5
    (_LS, _HI, _AR, _AR, _CL),  # R = 1
    (_HI, _HI, _AR, _AR, _CL),  # R = 2
    (_AS, _AS, _NA, _LO, _LO),  # R = 3
    (_PR, _PL, _PL, _LO, _LO),  # R = 4
    (_NC, _PL, _PL, _CH, _CH),  # R = 5
)
"""RFM segment name by recency score (row) and frequency score (column), both 1 to 5.

This is the R/F score grid behind the widely reproduced "RFM segment map" of the Python RFM
tutorials (a regex table keyed on the R and F digits: ``[1-2][1-2]`` hibernating, ``[1-2][3-4]``
at risk, ``[1-2]5`` can't lose, ``3[1-2]`` about to sleep, ``33`` need attention, ``[3-4][4-5]``
loyal customers, ``41`` promising, ``51`` new customers, ``[4-5][2-3]`` potential loyalists,
``5[4-5]`` champions; e.g. the many Kaggle "RFM analysis" notebooks). That grid has no "Lost";
following the eleven-segment naming of the R ``rfm`` package (Rsquared Academy, ``rfm_segment``)
its worst cell, R = 1 and F = 1, is split off from Hibernating as Lost. The monetary score does
not enter the grid, as in the source; it is kept as its own column.
"""

_DAY = pd.Timedelta(days=1)
_RFM_MISSING: tuple[Literal["keep", "lowest"], ...] = ("keep", "lowest")
_SCALINGS: tuple[Literal["minmax", "rank"], ...] = ("minmax", "rank")
_INSTANTS: tuple[FieldType, ...] = ("date", "datetime")
_RECENCY_TYPES: tuple[FieldType, ...] = ("date", "datetime", "number")
_ENGAGEMENT_TYPES: tuple[FieldType, ...] = ("number", "bool", "date", "datetime")


@dataclass(frozen=True)
class RFMConfig:
    """Which fields give recency (a date, or a number of days since), frequency and monetary."""

    recency: str
    frequency: str
    monetary: str
    missing: Literal["keep", "lowest"] = "keep"


@dataclass(frozen=True)
class EngagementConfig:
    """Field weights (non-zero; negative means "less is more engaged") and how fields are scaled."""

    weights: Mapping[str, float]
    scaling: Literal["minmax", "rank"] = "minmax"


@dataclass(frozen=True)
class FeatureConfig:
    """The derived features to compute; the default computes none."""

    days_since: tuple[str, ...] = ()
    rfm: RFMConfig | None = None
    engagement: EngagementConfig | None = None

    def field_types(self) -> dict[str, FieldType]:
        """Each derived column and its field type, in the order ``add_features`` adds them."""
        types: dict[str, FieldType] = {
            f"{DAYS_SINCE_PREFIX}{name}": "number" for name in self.days_since
        }
        if self.rfm is not None:
            for column in (RFM_RECENCY_SCORE, RFM_FREQUENCY_SCORE, RFM_MONETARY_SCORE):
                types[column] = "number"
            types[RFM_SEGMENT] = "enumeration"
        if self.engagement is not None:
            types[ENGAGEMENT_SCORE] = "number"
        return types

    def source_fields(self) -> tuple[str, ...]:
        """The CRM fields the features read (what a sync must pull), each once."""
        derived = self.field_types()
        sources = list(self.days_since)
        if self.rfm is not None:
            sources += [self.rfm.recency, self.rfm.frequency, self.rfm.monetary]
        if self.engagement is not None:
            sources += [name for name in self.engagement.weights if name not in derived]
        return tuple(dict.fromkeys(sources))


def parse_features(
    raw: Mapping[str, object] | None,
    field_types: Mapping[str, FieldType] | None = None,
    path: str = "features",
) -> FeatureConfig:
    """The ``[features]`` table as a ``FeatureConfig``; ``ConfigError`` names the bad key.

    With ``field_types``, every source field must exist and have a suitable type (days since: a
    date or datetime; recency: a date, datetime or number; frequency and monetary: a number;
    engagement weights: a number, bool, date or datetime, or a derived feature).
    """
    if raw is None:
        return FeatureConfig()
    read.table(raw, path, ("days_since", "rfm", "engagement"))
    days_since: tuple[str, ...] = ()
    if "days_since" in raw:
        key = read.join(path, "days_since")
        days_since = read.names(raw["days_since"], key)
        for i, name in enumerate(days_since):
            read.field(name, read.join(key, i), field_types, _INSTANTS, "days since")
    rfm = _parse_rfm(raw["rfm"], field_types, read.join(path, "rfm")) if "rfm" in raw else None
    config = FeatureConfig(days_since=days_since, rfm=rfm)
    if "engagement" in raw:
        known = None if field_types is None else {**field_types, **config.field_types()}
        engagement = _parse_engagement(raw["engagement"], known, read.join(path, "engagement"))
        config = FeatureConfig(days_since=days_since, rfm=rfm, engagement=engagement)
    if field_types is not None:
        for name in config.field_types():
            if name in field_types:
                raise ConfigError(
                    f'derived field "{name}" would replace the CRM field of that name', path=path
                )
    return config


def _parse_rfm(raw: object, field_types: Mapping[str, FieldType] | None, path: str) -> RFMConfig:
    keys = ("recency", "frequency", "monetary")
    table = read.table(raw, path, (*keys, "missing"), required=keys)
    allowed = {"recency": _RECENCY_TYPES, "frequency": ("number",), "monetary": ("number",)}
    fields = {}
    for key in keys:
        name = read.text(table[key], read.join(path, key), "a field name")
        fields[key] = read.field(
            name, read.join(path, key), field_types, allowed[key], f"RFM {key}"
        )
    missing = read.choice(
        table.get("missing", "keep"), read.join(path, "missing"), _RFM_MISSING
    )
    return RFMConfig(**fields, missing=missing)


def _parse_engagement(
    raw: object, field_types: Mapping[str, FieldType] | None, path: str
) -> EngagementConfig:
    table = read.table(raw, path, ("weights", "scaling"), required=("weights",))
    weights_path = read.join(path, "weights")
    raw_weights = table["weights"]
    if not isinstance(raw_weights, Mapping):
        got = describe_value(raw_weights)
        raise ConfigError(f"expected a table of field = weight, got {got}", path=weights_path)
    if not raw_weights:
        raise ConfigError("expected at least one field weight", path=weights_path)
    weights = {}
    for name, weight in raw_weights.items():
        key = read.join(weights_path, str(name))
        read.text(name, key, "a field name")
        read.field(name, key, field_types, _ENGAGEMENT_TYPES, "an engagement weight")
        value = read.number(weight, key)
        if value == 0:
            raise ConfigError("expected a non-zero weight (leave the field out instead)", path=key)
        weights[name] = value
    scaling = read.choice(table.get("scaling", "minmax"), read.join(path, "scaling"), _SCALINGS)
    return EngagementConfig(weights=weights, scaling=scaling)


def add_features(frame: CoercedFrame, config: FeatureConfig, now: datetime) -> CoercedFrame:
    """``frame`` with the derived columns of ``config`` appended (``problems`` unchanged).

    ``now`` anchors "days since" and must be timezone-aware. Raises ``ConfigError`` when a
    source field is not in the frame or has an unsuitable type, and ``ValueError`` when a
    derived column would replace a column already in the frame.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    clashing = [name for name in config.field_types() if name in frame.data.columns]
    if clashing:
        raise ValueError(f"the frame already has the derived column(s) {', '.join(clashing)}")
    now_utc = pd.Timestamp(now).tz_convert("UTC")
    data = frame.data.copy()
    types = dict(frame.field_types)
    parse_features(_as_raw(config), types)  # the source fields exist with suitable types

    for name in config.days_since:
        data[f"{DAYS_SINCE_PREFIX}{name}"] = days_since(data[name], types[name], now_utc)
    if config.rfm is not None:
        for column, values in rfm_scores(data, types, config.rfm).items():
            data[column] = values
    if config.engagement is not None:
        types_so_far = {**types, **config.field_types()}
        data[ENGAGEMENT_SCORE] = engagement_score(data, types_so_far, config.engagement)
    types.update(config.field_types())
    return CoercedFrame(data=data, field_types=types, problems=frame.problems)


def _as_raw(config: FeatureConfig) -> dict[str, object]:
    """``config`` back as a config table, to reuse the parser's field checks."""
    raw: dict[str, object] = {}
    if config.days_since:
        raw["days_since"] = list(config.days_since)
    if config.rfm is not None:
        rfm = config.rfm
        raw["rfm"] = {
            "recency": rfm.recency,
            "frequency": rfm.frequency,
            "monetary": rfm.monetary,
            "missing": rfm.missing,
        }
    if config.engagement is not None:
        raw["engagement"] = {
            "weights": dict(config.engagement.weights),
            "scaling": config.engagement.scaling,
        }
    return raw


def days_since(column: pd.Series, field_type: FieldType, now: pd.Timestamp) -> pd.Series:
    """Whole days from each date or datetime value to ``now`` (float64, NaN if missing)."""
    end = now if field_type == "datetime" else now.normalize()
    elapsed = (end - column) / _DAY
    return np.floor(elapsed).astype("float64")


def quintile_scores(values: pd.Series, higher_is_better: bool = True, bins: int = 5) -> pd.Series:
    """Scores 1 to ``bins`` by mid-rank percentile among the present values (NaN stays NaN).

    ``floor(bins * (rank - 0.5) / n) + 1`` with ties at the lowest rank of their group: equal
    values share a score whatever their order, the worst tie group scores 1, and ``n`` distinct
    values fill the bins equally (10 values: two per score).
    """
    ranks = values.rank(method="min", ascending=higher_is_better)
    present = int(ranks.notna().sum())
    if present == 0:
        return pd.Series(np.nan, index=values.index, dtype="float64")
    scores = np.floor(bins * (ranks - 0.5) / present) + 1
    return scores.clip(1, bins).astype("float64")


def rfm_scores(
    data: pd.DataFrame, field_types: Mapping[str, FieldType], config: RFMConfig
) -> dict[str, pd.Series]:
    """The three RFM scores and the RFM segment name, by column name."""
    recency = data[config.recency]
    later_is_better = field_types[config.recency] in _INSTANTS  # a number is "days since"
    scores = {
        RFM_RECENCY_SCORE: quintile_scores(recency, higher_is_better=later_is_better),
        RFM_FREQUENCY_SCORE: quintile_scores(data[config.frequency]),
        RFM_MONETARY_SCORE: quintile_scores(data[config.monetary]),
    }
    if config.missing == "lowest":
        scores = {column: values.fillna(1.0) for column, values in scores.items()}
    scores[RFM_SEGMENT] = rfm_segment(scores[RFM_RECENCY_SCORE], scores[RFM_FREQUENCY_SCORE])
    return scores


def rfm_segment(recency_score: pd.Series, frequency_score: pd.Series) -> pd.Series:
    """The ``RFM_GRID`` name of each (R, F) score pair; missing if either score is."""
    grid = np.array(RFM_GRID, dtype=object)
    known = (recency_score.notna() & frequency_score.notna()).to_numpy()
    names = np.full(len(recency_score), None, dtype=object)
    r = recency_score.to_numpy()[known].astype(int) - 1
    f = frequency_score.to_numpy()[known].astype(int) - 1
    names[known] = grid[r, f]
    return pd.Series(names, index=recency_score.index, dtype="str")


def engagement_score(
    data: pd.DataFrame, field_types: Mapping[str, FieldType], config: EngagementConfig
) -> pd.Series:
    """The 0-100 weighted engagement score (see the module docstring for the scaling)."""
    total = np.zeros(len(data))
    weight_sum = sum(abs(weight) for weight in config.weights.values())
    for name, weight in config.weights.items():
        values = _as_float(data[name], field_types[name])
        if config.scaling == "rank":
            values = values.rank(method="average")
        scaled = _min_max(values)
        present = scaled.notna().to_numpy()
        scaled = scaled.to_numpy(dtype=float, na_value=np.nan)
        oriented = np.where(present, scaled if weight > 0 else 1.0 - scaled, 0.0)
        total += abs(weight) * oriented
    return pd.Series(100.0 * total / weight_sum, index=data.index, dtype="float64")


def _as_float(column: pd.Series, field_type: FieldType) -> pd.Series:
    if field_type in _INSTANTS:
        seconds = (column - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        return seconds.astype("float64")
    if field_type == "bool":
        return pd.Series(
            column.astype("Float64").to_numpy(dtype=float, na_value=np.nan), column.index
        )
    return column.astype("float64")


def _min_max(values: pd.Series) -> pd.Series:
    low, high = values.min(), values.max()
    if pd.isna(low) or high == low:
        return values * 0.0  # no variation: 0 for every present value, NaN stays NaN
    return (values - low) / (high - low)
