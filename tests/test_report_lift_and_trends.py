"""The report's holdout lift panel and segment trend chart: what a reader sees, from planted
data and from the history of real syncs against the HubSpot sandbox."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from sync.config.models import ReportOptions
from sync.pipeline import run_sync
from sync.progress import SilentProgress
from sync.report import ReportInput, render_html
from sync.report.build import write_report
from tests.conftest import make_settings
from tests.report_data import LIFT_SEGMENT, SCRIPT_NAME, build_report_input


@pytest.fixture(scope="module")
def report() -> ReportInput:
    return build_report_input()


def text(element: lxml.html.HtmlElement) -> str:
    return " ".join(" ".join(element.itertext()).split())


def lift_cards(html: str) -> dict[str, lxml.html.HtmlElement]:
    page = lxml.html.document_fromstring(html)
    return {card.get("data-segment"): card for card in page.find_class("lift-card")}


def test_a_planted_lift_shows_its_interval_relative_lift_and_p_value(report: ReportInput) -> None:
    card = lift_cards(render_html(report))[LIFT_SEGMENT]
    assert text(card.find_class("lift-verdict")[0]) == "The list raises conversion"
    figures = {text(i.find("dt")): text(i.find("dd")) for i in card.find_class("figures")[0]}
    assert figures == {
        "Lift (list − holdout)": "+12.0 pp 95% interval +4.1 pp to +17.7 pp",
        "Relative lift": "+150.0% 95% interval +25.0% to +399.9%",
        "p-value": "0.005",
        "Converted before entering": "12",
    }
    [chart] = card.xpath(".//img")
    assert chart.get("alt") == (
        "Conversion since entering: on the list 20.0% (80 of 400), held out 8.0% (8 of 100)"
    )


def test_too_little_data_is_said_plainly_without_an_interval(report: ReportInput) -> None:
    card = lift_cards(render_html(report))[SCRIPT_NAME]
    assert card.xpath(".//img") == [] and card.find_class("figures") == []
    assert text(card.find_class("lift-shortfall")[0]) == (
        "Not enough data yet: the list has 20 contacts and 2 conversions and the holdout has "
        "3 contacts and 0 conversions since entering the segment; each group needs at least "
        "30 contacts and 5 conversions before a lift can be estimated."
    )


def test_without_a_conversion_the_panel_says_what_to_configure(report: ReportInput) -> None:
    html = render_html(dataclasses.replace(report, conversion=None))
    page = lxml.html.document_fromstring(html)
    [section] = page.xpath('//section[@id="lift"]')
    assert [" ".join(p.text_content().split()) for p in section.find_class("empty")] == [
        "Set [report] conversion_field (and conversion_values) to measure the lift of the "
        "held-out segments."
    ]


def test_real_runs_feed_the_trend_chart_and_the_lift_panel(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    segments = [{"name": "Engaged", "priority": 10, "rule": "hs_email_open >= 5", "holdout": 0.5}]
    settings = make_settings(crm, segments, tmp_path).model_copy(
        update={"report": ReportOptions(conversion_field="lifecyclestage")}
    )
    ids = crm.store.add_contacts(
        [{"hs_email_open": str(5 + i % 3), "lifecyclestage": "lead"} for i in range(4)]
    )
    for day in (2, 9, 16):
        outcome = run_sync(
            connector,
            settings,
            dry_run=False,
            progress=SilentProgress(),
            now=datetime(2026, 3, day, tzinfo=UTC),
        )
        crm.store.set_properties(ids[0], {"lifecyclestage": "customer"})
    html = write_report(outcome, settings, tmp_path / "report.html").read_text()
    page = lxml.html.document_fromstring(html)
    [trend] = page.xpath('//section[@id="trends"]//img')
    assert trend.get("alt") == "Line chart of each segment's contacts at each of the last 3 runs"
    assert trend.get("src").startswith("data:image/svg+xml;base64,")
    card = lift_cards(html)["Engaged"]
    assert text(card.find_class("lift-shortfall")[0]).startswith(
        "Not enough data yet: the list has "
    )
    note = re.fullmatch(
        r"On the list: (\d+) of (\d+) converted · held out: (\d+) of (\d+)\.",
        text(card.find_class("note")[0]),
    )
    assert note is not None
    listed_converted, listed, held_converted, held = map(int, note.groups())
    # ids[0] converted after entering, whichever group it is in
    assert (listed_converted + held_converted, listed + held) == (1, 4)
