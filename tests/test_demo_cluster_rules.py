"""``segsync demo`` shows each cluster as a rule and the cluster model's age, in its output and
in its report."""

from __future__ import annotations

import re

import lxml.html

from segment_core import parse_expression
from tests.conftest import DemoRun


def test_the_demo_shows_cluster_rules_and_the_model_age(demo_run: DemoRun) -> None:
    assert demo_run.exit_code == 0, demo_run.output
    text = demo_run.text
    assert re.search(
        r"Cluster set 'Behaviour' \(model trained \d{4}-\d\d-\d\d \d\d:\d\d UTC, "
        r"(?:\d+ hours?|under an hour) old\), as rules:",
        text,
    )

    page = lxml.html.document_fromstring(demo_run.report)
    (section,) = page.xpath('//section[@id="clusters"]')
    cards = section.xpath(".//article")
    rules = [" ".join(rule.text_content().split()) for rule in section.find_class("cluster-rule")]
    assert len(rules) == len(cards) >= 3
    for card, rule in zip(cards, rules, strict=True):
        parse_expression(rule)
        name = " ".join(card.find(".//h3").text_content().split())
        assert re.search(rf"\(precision \d+%, recall \d+%\): {re.escape(rule)}", text), name
    (row,) = section.find_class("models")[0].xpath(".//tbody/tr")
    cells = [" ".join(cell.text_content().split()) for cell in row]
    assert cells[0] == "Behaviour"
    assert cells[4].startswith("every 90 days; next due ")
