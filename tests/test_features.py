"""Behavioural features: days since, RFM scores and segments, engagement score, their config."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from segment_core import (
    ConfigError,
    EngagementConfig,
    FeatureConfig,
    RFMConfig,
    add_features,
    coerce_frame,
    membership_table,
    parse_features,
    parse_segments,
    resolve,
)
from segment_core.features import RFM_GRID, RFM_SEGMENTS, quintile_scores

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
IDS = [f"c{i:02d}" for i in range(1, 11)]
FIELD_TYPES = {"close": "date", "num_purchases": "number", "total_revenue": "number"}

# Ten distinct close dates (latest first), so recency scores are 5, 5, 4, 4, ..., 1, 1.
# Frequency has ties (three 1s, two 5s) and one missing; monetary ties 900 and misses c08.
RAW = pd.DataFrame(
    {
        "close": [
            "2024-05-30",
            "2024-05-20",
            "2024-05-10",
            "2024-04-30",
            "2024-04-01",
            "2024-03-01",
            "2024-02-01",
            "2024-01-01",
            "2023-06-01",
            "2023-01-01",
        ],
        "num_purchases": ["20", "1", "8", "1", "5", "5", "12", "2", "1", None],
        "total_revenue": ["5000", "100", "2500", "300", "900", "900", "7000", None, "50", "0"],
    },
    index=IDS,
)
RFM = {"recency": "close", "frequency": "num_purchases", "monetary": "total_revenue"}


def scores_of(frame, column):
    return dict(zip(frame.data.index, frame.data[column].tolist(), strict=False))


# --- RFM ----------------------------------------------------------------------------------------


def test_rfm_scores_and_segments_on_a_hand_made_frame():
    frame = add_features(coerce_frame(RAW, FIELD_TYPES), parse_features({"rfm": RFM}), NOW)
    nan = float("nan")
    # Frequency: present n = 9; ranks (ties at their lowest) 1s -> 1, 2 -> 4, 5s -> 5, 8 -> 7,
    # 12 -> 8, 20 -> 9; score = floor(5 (rank - 0.5) / 9) + 1.
    expected = pd.DataFrame(
        {
            "rfm_recency_score": [5, 5, 4, 4, 3, 3, 2, 2, 1, 1],
            "rfm_frequency_score": [5, 1, 4, 1, 3, 3, 5, 2, 1, nan],
            "rfm_monetary_score": [5, 2, 4, 2, 3, 3, 5, nan, 1, 1],
        },
        index=IDS,
        dtype="float64",
    )
    pd.testing.assert_frame_equal(frame.data[list(expected.columns)], expected)
    segments = frame.data["rfm_segment"]
    assert segments.iloc[:9].tolist() == [
        "Champions",
        "New customers",
        "Loyal customers",
        "Promising",
        "Need attention",
        "Need attention",
        "Cannot lose them",
        "Hibernating",
        "Lost",
    ]
    assert pd.isna(segments.at["c10"])  # no frequency, so no segment
    assert frame.field_types["rfm_segment"] == "enumeration"
    assert frame.field_types["rfm_recency_score"] == "number"


def test_rfm_missing_lowest_scores_missing_values_1():
    config = parse_features({"rfm": {**RFM, "missing": "lowest"}})
    frame = add_features(coerce_frame(RAW, FIELD_TYPES), config, NOW)
    assert frame.data.at["c10", "rfm_frequency_score"] == 1
    assert frame.data.at["c08", "rfm_monetary_score"] == 1
    assert frame.data.at["c10", "rfm_segment"] == "Lost"  # R 1, F 1
    # The scores of contacts with values do not move: quintiles are of present values.
    assert frame.data.at["c01", "rfm_frequency_score"] == 5


def test_rfm_scores_do_not_depend_on_row_order():
    config = parse_features({"rfm": RFM})
    straight = add_features(coerce_frame(RAW, FIELD_TYPES), config, NOW).data
    shuffled = add_features(
        coerce_frame(RAW.iloc[[3, 9, 0, 7, 1, 5, 2, 8, 6, 4]], FIELD_TYPES), config, NOW
    ).data
    pd.testing.assert_frame_equal(shuffled.loc[IDS], straight)


def test_quintile_scores_ties_share_a_score_and_lower_can_be_better():
    values = pd.Series([10.0, 10.0, 10.0, 10.0])
    assert quintile_scores(values).tolist() == [1, 1, 1, 1]  # all at the group's rank 1 of 4
    one_time_buyers = pd.Series([1.0] * 6 + [2.0, 3.0, 4.0, 9.0])
    assert quintile_scores(one_time_buyers).tolist() == [1] * 6 + [4, 4, 5, 5]
    days = pd.Series([1.0, 30.0, 7.0, np.nan, 365.0])
    assert quintile_scores(days, higher_is_better=False).tolist()[:3] == [5, 2, 4]
    assert quintile_scores(days, higher_is_better=False).tolist()[4] == 1
    assert quintile_scores(pd.Series([np.nan, np.nan])).isna().all()


def test_rfm_recency_as_a_number_of_days_reads_fewer_as_better():
    raw = pd.DataFrame(
        {"days": ["1", "400", "30"], "n": ["3", "1", "2"], "m": ["1", "2", "3"]},
        index=["a", "b", "c"],
    )
    frame = coerce_frame(raw, {"days": "number", "n": "number", "m": "number"})
    config = parse_features({"rfm": {"recency": "days", "frequency": "n", "monetary": "m"}})
    out = add_features(frame, config, NOW).data
    # n = 3: floor(5 (rank - 0.5) / 3) + 1 for ranks 1, 2, 3 gives 1, 3, 5.
    assert out["rfm_recency_score"].tolist() == [5, 1, 3]
    assert out["rfm_segment"].tolist() == ["Champions", "Lost", "Need attention"]


def _regex_segment_map(recency: int, frequency: int) -> str:
    """The published R/F regex map, written independently of RFM_GRID, with Lost split off."""
    seg_map = {
        r"[1-2][1-2]": "Hibernating",
        r"[1-2][3-4]": "At risk",
        r"[1-2]5": "Cannot lose them",
        r"3[1-2]": "About to sleep",
        r"33": "Need attention",
        r"[3-4][4-5]": "Loyal customers",
        r"41": "Promising",
        r"51": "New customers",
        r"[4-5][2-3]": "Potential loyalists",
        r"5[4-5]": "Champions",
    }
    cell = f"{recency}{frequency}"
    if cell == "11":
        return "Lost"
    (name,) = [name for pattern, name in seg_map.items() if re.fullmatch(pattern, cell)]
    return name


def test_rfm_grid_is_the_published_r_f_map_with_lost():
    for recency in range(1, 6):
        for frequency in range(1, 6):
            assert RFM_GRID[recency - 1][frequency - 1] == _regex_segment_map(recency, frequency)
    assert {name for row in RFM_GRID for name in row} == set(RFM_SEGMENTS)
    assert len(RFM_SEGMENTS) == 11


# --- days since ---------------------------------------------------------------------------------


def test_days_since_counts_whole_days_back_from_now():
    raw = pd.DataFrame(
        {
            "closed": ["2024-05-31", "2024-06-01", "2024-06-03", None, "2023-06-01"],
            "seen": [
                "2024-05-31T18:00:00Z",
                "2024-05-30T11:00:00Z",
                "2024-06-02T00:00:00Z",
                None,
                "2024-06-01T11:59:59Z",
            ],
        },
        index=list("abcde"),
    )
    frame = coerce_frame(raw, {"closed": "date", "seen": "datetime"})
    now_in_paris = dt.datetime(2024, 6, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    out = add_features(frame, parse_features({"days_since": ["closed", "seen"]}), now_in_paris)
    nan = float("nan")
    expected = pd.DataFrame(
        {
            # date: calendar days in UTC; a future date is negative
            "days_since_closed": [1, 0, -2, nan, 366],
            # datetime: elapsed days rounded down (0.75 -> 0, 2.04 -> 2, -0.5 -> -1)
            "days_since_seen": [0, 2, -1, nan, 0],
        },
        index=list("abcde"),
        dtype="float64",
    )
    pd.testing.assert_frame_equal(out.data[list(expected.columns)], expected)
    assert out.field_types["days_since_closed"] == "number"


def test_add_features_needs_an_aware_now_and_refuses_to_overwrite_columns():
    frame = coerce_frame(RAW, FIELD_TYPES)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_features(frame, FeatureConfig(days_since=("close",)), dt.datetime(2024, 6, 1))
    featured = add_features(frame, FeatureConfig(days_since=("close",)), NOW)
    with pytest.raises(ValueError, match="already has the derived column.s. days_since_close"):
        add_features(featured, FeatureConfig(days_since=("close",)), NOW)


# --- engagement ---------------------------------------------------------------------------------

ENGAGEMENT_RAW = pd.DataFrame(
    {
        "opens": ["0", "5", "10", None],
        "purchases": ["1", "1", "3", "2"],
        "subscribed": ["true", "false", None, "true"],
        "days": ["0", "10", "20", None],
        "flat": ["3", "3", "3", "3"],
    },
    index=["e1", "e2", "e3", "e4"],
)
ENGAGEMENT_TYPES = {
    "opens": "number",
    "purchases": "number",
    "subscribed": "bool",
    "days": "number",
    "flat": "number",
}


def engagement(weights, scaling="minmax"):
    frame = coerce_frame(ENGAGEMENT_RAW, ENGAGEMENT_TYPES)
    config = parse_features(
        {"engagement": {"weights": weights, "scaling": scaling}}, ENGAGEMENT_TYPES
    )
    return add_features(frame, config, NOW).data["engagement_score"].tolist()


def test_engagement_score_is_a_normalised_weighted_min_max_sum():
    # opens -> 0, .5, 1, missing 0; purchases -> 0, 0, 1, .5; subscribed -> 1, 0, missing 0, 1
    # score = 100 (2 opens + purchases + subscribed) / 4
    assert engagement({"opens": 2, "purchases": 1, "subscribed": 1}) == pytest.approx(
        [25.0, 25.0, 75.0, 37.5]
    )


def test_engagement_negative_weight_means_less_is_more_and_missing_counts_zero():
    # days inverted: 1, .5, 0, missing 0; opens 0, .5, 1, missing 0
    assert engagement({"opens": 1, "days": -1}) == pytest.approx([50.0, 50.0, 50.0, 0.0])


def test_engagement_rank_scaling_and_constant_fields():
    # opens by rank: 1, 2, 3 -> 0, .5, 1 (min-max would also give .5 here; purchases differ:
    # ranks 1.5, 1.5, 4, 3 -> 0, 0, 1, 0.6)
    assert engagement({"purchases": 1}, scaling="rank") == pytest.approx([0, 0, 100, 60])
    assert engagement({"purchases": 1}) == pytest.approx([0, 0, 100, 50])
    assert engagement({"flat": 1}) == [0, 0, 0, 0]


def test_engagement_can_weight_derived_features():
    raw = ENGAGEMENT_RAW.assign(seen=["2024-05-31", "2024-05-01", None, "2024-06-01"])
    types = {**ENGAGEMENT_TYPES, "seen": "date"}
    config = parse_features(
        {"days_since": ["seen"], "engagement": {"weights": {"days_since_seen": -1}}}, types
    )
    out = add_features(coerce_frame(raw, types), config, NOW).data
    assert out["days_since_seen"].tolist()[:2] == [1, 31]
    # days 1, 31, missing, 0 -> scaled 1/31, 1, -, 0 -> inverted 30/31, 0, 0 (missing), 1
    assert out["engagement_score"].tolist() == pytest.approx([100 * 30 / 31, 0, 0, 100])


# --- config -------------------------------------------------------------------------------------


def test_parse_features_reads_the_documented_shape():
    config = parse_features(
        {
            "rfm": {
                "recency": "recent_deal_close_date",
                "frequency": "num_purchases",
                "monetary": "total_revenue",
            },
            "engagement": {"weights": {"hs_email_open": 2, "num_purchases": 1}},
            "days_since": ["notes_last_updated"],
        }
    )
    assert config == FeatureConfig(
        days_since=("notes_last_updated",),
        rfm=RFMConfig("recent_deal_close_date", "num_purchases", "total_revenue"),
        engagement=EngagementConfig({"hs_email_open": 2.0, "num_purchases": 1.0}),
    )
    assert config.field_types() == {
        "days_since_notes_last_updated": "number",
        "rfm_recency_score": "number",
        "rfm_frequency_score": "number",
        "rfm_monetary_score": "number",
        "rfm_segment": "enumeration",
        "engagement_score": "number",
    }
    assert config.source_fields() == (
        "notes_last_updated",
        "recent_deal_close_date",
        "num_purchases",
        "total_revenue",
        "hs_email_open",
    )
    assert parse_features(None) == FeatureConfig()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"rmf": {}}, 'features: unknown key "rmf" (did you mean "rfm"?)'),
        (
            {"rfm": {"recency": "close", "frequency": "num_purchases"}},
            'features.rfm: missing key "monetary"',
        ),
        (
            {"rfm": {**RFM, "recncy": "close"}},
            'features.rfm: unknown key "recncy" (did you mean "recency" or "frequency"?)',
        ),
        (
            {"rfm": {**RFM, "frequency": 3}},
            "features.rfm.frequency: expected a field name, got the number 3",
        ),
        (
            {"rfm": {**RFM, "frequency": "num_purchase"}},
            'features.rfm.frequency: unknown field "num_purchase" (did you mean "num_purchases"?)',
        ),
        (
            {"rfm": {**RFM, "monetary": "close"}},
            'features.rfm.monetary: RFM monetary needs a number field, and "close" is a date field',
        ),
        (
            {"rfm": {**RFM, "missing": "zero"}},
            'features.rfm.missing: expected one of "keep", "lowest", got the string "zero"',
        ),
        (
            {"days_since": "close"},
            'features.days_since: expected a list of field names, got the string "close"',
        ),
        (
            {"days_since": ["num_purchases"]},
            "features.days_since[0]: days since needs a date or datetime field, and "
            '"num_purchases" is a number field',
        ),
        (
            {"days_since": ["close", "close"]},
            'features.days_since[1]: field "close" is listed twice',
        ),
        ({"engagement": {}}, 'features.engagement: missing key "weights"'),
        (
            {"engagement": {"weights": {}}},
            "features.engagement.weights: expected at least one field weight",
        ),
        (
            {"engagement": {"weights": {"num_purchases": "high"}}},
            'features.engagement.weights.num_purchases: expected a number, got the string "high"',
        ),
        (
            {"engagement": {"weights": {"num_purchases": 0}}},
            "features.engagement.weights.num_purchases: expected a non-zero weight "
            "(leave the field out instead)",
        ),
        (
            {"engagement": {"weights": {"num_purchases": 1}, "scaling": "log"}},
            'features.engagement.scaling: expected one of "minmax", "rank", got the string "log"',
        ),
    ],
)
def test_parse_features_errors_name_the_key(raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_features(raw, FIELD_TYPES)
    assert str(caught.value) == message


def test_parse_features_refuses_a_derived_name_that_is_a_crm_field():
    with pytest.raises(ConfigError) as caught:
        parse_features({"days_since": ["close"]}, {**FIELD_TYPES, "days_since_close": "number"})
    assert str(caught.value) == (
        'features: derived field "days_since_close" would replace the CRM field of that name'
    )


def test_derived_features_work_in_rules():
    features = parse_features({"rfm": RFM, "days_since": ["close"]}, FIELD_TYPES)
    segments = parse_segments(
        [
            {"name": "Champions", "priority": 10, "rule": 'rfm_segment = "Champions"'},
            {"name": "Recent", "priority": 5, "rule": "days_since_close <= 30"},
        ],
        {**FIELD_TYPES, **features.field_types()},
    )
    frame = add_features(coerce_frame(RAW, FIELD_TYPES), features, NOW)
    assignments = resolve(membership_table(segments, frame, NOW), segments)
    # days since close: c01 2, c02 12, c03 22, c04 32
    assert assignments["primary"].tolist()[:5] == ["Champions", "Recent", "Recent", None, None]
    assert assignments.at["c01", "reason"] == (
        'Champions: rfm_segment = "Champions"; also in Recent'
    )
