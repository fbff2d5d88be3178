"""Clusters as rules: each cluster's surrogate-tree rule, as text the rule language reads back,
scored by evaluating that parsed text on the planted contacts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from segment_core import CoercedFrame, evaluate, parse_expression
from segment_core.cluster_rules import cluster_rules
from tests.support.clusters import TYPES, planted, segmenter

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.mark.parametrize("categorical", [["industry"], []], ids=["with-industry", "numeric-only"])
def test_every_rule_agrees_with_its_cluster_on_at_least_90_percent_of_contacts(data, categorical):
    frame, _ = data
    model = segmenter(categorical=categorical).fit(frame)
    rules = cluster_rules(model, frame, model.labels_, NOW)
    assert [rule.cluster_id for rule in rules] == [0, 1, 2, 3]
    for rule in rules:
        matched = evaluate(parse_expression(rule.expression), frame, NOW).to_numpy()
        in_cluster = (model.labels_ == rule.cluster_id).to_numpy()
        assert (matched == in_cluster).mean() >= 0.9, rule


def test_rules_read_as_the_crm_values_and_round_thresholds(data):
    frame, _ = data
    model = segmenter().fit(frame)
    rules = {rule.name: rule.expression for rule in cluster_rules(model, frame, model.labels_, NOW)}
    assert rules == {
        "Healthcare · high engagement · low employees": "engagement_score > 70",
        "Retail · low engagement": 'industry = "Retail"',
        "Software · high employees": 'industry = "Software"',
        "Energy · low engagement · low employees": 'industry = "Energy"',
    }


def test_an_empty_value_where_the_model_fills_it_in_is_part_of_the_rule(data):
    """k-means put a contact without employees at the median: the rule does too."""
    frame, _ = data
    model = segmenter(categorical=[]).fit(frame)
    rules = {rule.name: rule.expression for rule in cluster_rules(model, frame, model.labels_, NOW)}
    assert rules["High employees"] == "employees > 1000"
    # The tree splits engagement at 21 and sends both sides to the cluster: one range is read.
    assert rules["Low engagement"] == "engagement_score <= 30 and (employees > 500 or employees is empty)"
    assert (
        rules["Low engagement · low employees"]
        == "employees <= 500 and (engagement_score <= 50 or engagement_score is empty)"
    )


def test_precision_and_recall_are_those_of_the_parsed_rule_on_the_contacts(data):
    frame, _ = data
    model = segmenter().fit(frame)
    for rule in cluster_rules(model, frame, model.labels_, NOW):
        matched = evaluate(parse_expression(rule.expression), frame, NOW).to_numpy()
        in_cluster = (model.labels_ == rule.cluster_id).to_numpy()
        both = (matched & in_cluster).sum()
        assert rule.precision == both / matched.sum()
        assert rule.recall == both / in_cluster.sum()
        assert rule.size == in_cluster.sum()
    retail = next(r for r in cluster_rules(model, frame, model.labels_, NOW) if r.cluster_id == 1)
    assert retail.scores == "precision 100%, recall 97%"


def test_crm_values_with_quotes_and_a_reserved_field_name_still_parse():
    """CRM values are untrusted text: a value with quotes and backslashes is quoted, not pasted,
    and a field called ``not`` is written between backticks."""
    rng = np.random.default_rng(1)
    group = rng.integers(0, 2, 400)
    odd = np.array(['A "quoted" \\ value', "Plain"], dtype=object)[group]
    data = pd.DataFrame(
        {"score": rng.normal(np.array([10.0, 90.0])[group], 3), "not": odd},
        index=[f"c{i}" for i in range(400)],
    )
    frame = CoercedFrame(data, {"score": "number", "not": "enumeration"}, pd.DataFrame())
    model = segmenter(numeric=["score"], categorical=["not"], n_clusters=2).fit(frame)
    rules = cluster_rules(model, frame, model.labels_, NOW)
    assert sorted(rule.expression for rule in rules) == [
        '(`not` != "A \\"quoted\\" \\\\ value" or `not` is empty)',
        '`not` = "A \\"quoted\\" \\\\ value"',
    ]
    assert [rule.agreement for rule in rules] == [1.0, 1.0]


def test_the_planted_types_are_the_ones_these_tests_assume():
    assert TYPES == {"employees": "number", "engagement_score": "number", "industry": "enumeration"}
