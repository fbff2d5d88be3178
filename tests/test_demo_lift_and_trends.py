"""`segsync demo` shows a holdout lift panel and a segment trend chart after its simulated
week (at 300 contacts the holdout is too small for an interval, and the panel says so)."""

from __future__ import annotations

import re

import lxml.html

from sync.demo import CAMPAIGN_SEGMENT
from tests.conftest import DemoRun


def test_the_demo_report_has_the_campaign_lift_panel_and_the_trend_chart(
    demo_run: DemoRun,
) -> None:
    assert demo_run.exit_code == 0, demo_run.output
    campaign = re.search(
        rf"The {CAMPAIGN_SEGMENT} campaign: (\d+) of the list and (\d+) of the holdout became "
        "customers.",
        demo_run.text,
    )
    assert campaign is not None
    page = lxml.html.document_fromstring(demo_run.report)
    [trend] = page.xpath('//section[@id="trends"]//img')
    assert trend.get("alt") == "Line chart of each segment's contacts at each of the last 2 runs"
    [card] = page.find_class("lift-card")
    assert card.get("data-segment") == CAMPAIGN_SEGMENT
    assert " ".join(card.find_class("lift-shortfall")[0].text_content().split()).startswith(
        "Not enough data yet: the holdout has "
    )
