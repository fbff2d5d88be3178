"""The segment report: exact figures in every section, one offline file, no markup from data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pandas as pd
import pytest

from sync.report import (
    ClusterProfile,
    Conversion,
    ReportInput,
    SegmentDefinition,
    render_html,
    render_report,
    stats,
)
from tests.report_data import (
    CHANGES,
    CLUSTER,
    CONTACTS,
    SCRIPT_CATEGORY,
    SCRIPT_DESCRIPTION,
    SCRIPT_LABEL,
    SCRIPT_NAME,
    SECTIONS,
    build_report_input,
)


@pytest.fixture(scope="module")
def report() -> ReportInput:
    return build_report_input()


@pytest.fixture(scope="module")
def html(report: ReportInput) -> str:
    return render_html(report)


@pytest.fixture(scope="module")
def page(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def text(element: lxml.html.HtmlElement) -> str:
    """The element's text as a reader sees it: words of adjacent elements kept apart."""
    return " ".join(" ".join(element.itertext()).split())


def section(page: lxml.html.HtmlElement, name: str) -> lxml.html.HtmlElement:
    (found,) = page.xpath(f'//section[@id="{name}"]')
    return found


def by_segment(scope: lxml.html.HtmlElement, tag: str, name: str) -> lxml.html.HtmlElement:
    (found,) = [e for e in scope.iter(tag) if e.get("data-segment") == name]
    return found


def figures(card: lxml.html.HtmlElement) -> dict[str, str]:
    """A card's ``<dl>`` as {label: value}."""
    return {text(item.find("dt")): text(item.find("dd")) for item in card.find_class("figures")[0]}


def percent(part: float, whole: float) -> str:
    return f"{part / whole * 100:.1f}%"


# -- the whole page -------------------------------------------------------------------------


def test_every_section_has_a_heading_and_the_nav_links_to_it(page: lxml.html.HtmlElement) -> None:
    for name in SECTIONS:
        assert section(page, name).find("h2") is not None
    links = [a.get("href") for a in page.xpath("//nav//a")]
    assert links == [f"#{name}" for name in SECTIONS]


def test_the_file_is_self_contained(html: str, page: lxml.html.HtmlElement) -> None:
    assert "http://" not in html and "https://" not in html and 'src="//' not in html
    images = page.xpath("//img")
    assert images and all(img.get("src").startswith("data:image/svg+xml;base64,") for img in images)
    assert page.xpath("//link | //script | //iframe | //object | //embed") == []
    csp = page.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]


def test_chart_count_is_one_per_chart_drawn(
    report: ReportInput, page: lxml.html.HtmlElement
) -> None:
    charts_per_section = {name: len(section(page, name).xpath(".//img")) for name in SECTIONS}
    segments_with_traits = len(section(page, "segments").xpath(".//article//img"))
    assert segments_with_traits == 6  # every generated segment has something that stands out
    assert charts_per_section == {
        "overview": 0,
        "sizes": 1,
        "trends": 1,
        "overlap": 1,
        "clusters": 1,
        "segments": 1 + segments_with_traits,
        "lift": 1,  # the other held-out segment has too little data for a chart
        "completeness": 1,
        "history": 1,
    }


def test_crm_and_config_text_is_never_markup(html: str, page: lxml.html.HtmlElement) -> None:
    assert "<script" not in html and "<img src=x" not in html and "<b onmouseover" not in html
    assert not [
        (element.tag, name)
        for element in page.iter()
        if isinstance(element.tag, str)
        for name in element.attrib
        if name.startswith("on")
    ]
    segments = section(page, "segments")
    card = by_segment(segments, "article", SCRIPT_NAME)
    assert text(card.find(".//h3")) == SCRIPT_NAME
    assert text(card.find_class("description")[0]) == SCRIPT_DESCRIPTION
    headings = [text(h) for h in section(page, "clusters").xpath(".//h4")]
    assert f"Most common {SCRIPT_LABEL}" in headings
    categories = [text(c) for c in section(page, "clusters").find_class("category")]
    assert SCRIPT_CATEGORY in categories


def test_rendering_is_deterministic(report: ReportInput, html: str) -> None:
    assert render_html(report) == html


def test_render_report_writes_the_file(report: ReportInput, html: str, tmp_path: Path) -> None:
    path = render_report(report, tmp_path / "out" / "report.html")
    assert path == tmp_path / "out" / "report.html"
    assert path.read_text(encoding="utf-8") == html


# -- sections -------------------------------------------------------------------------------


def test_overview(report: ReportInput, page: lxml.html.HtmlElement) -> None:
    unmatched = int((~report.membership.any(axis=1)).sum())
    tiles = [text(tile) for tile in section(page, "overview").find_class("tile")]
    assert tiles == [
        "Contacts 3,000",
        "Segments 6",
        f"In at least one segment {CONTACTS - unmatched:,}",
        f"In no segment {unmatched:,} {percent(unmatched, CONTACTS)} of contacts",
        "Last run Succeeded 2025-07-01 09:00 UTC",
    ]


def test_sizes_show_members_shares_changes_and_primary(
    report: ReportInput, page: lxml.html.HtmlElement
) -> None:
    sizes = section(page, "sizes")
    primary = report.assignments["primary"].value_counts()
    expected_changes = {
        "Healthcare accounts": "+12",
        "Key customers": "−7",
        "Engaged prospects": "0",
    }
    rows = {}
    for name in report.membership.columns:
        members = int(report.membership[name].sum())
        rows[name] = [
            name,
            f"{members:,}",
            percent(members, CONTACTS),
            expected_changes.get(name, "new"),
            f"{int(primary.get(name, 0)):,}",
        ]
    assert {
        row.get("data-segment"): [text(cell) for cell in row] for row in sizes.xpath(".//tbody/tr")
    } == rows
    assert set(CHANGES) < set(rows)


def test_overlap_lists_the_largest_overlaps(
    report: ReportInput, page: lxml.html.HtmlElement
) -> None:
    membership = report.membership
    pairs = sorted(
        (
            (-int((membership[a] & membership[b]).sum()), i, a, b)
            for i, a in enumerate(membership.columns)
            for b in membership.columns[i + 1 :]
        ),
    )[:3]
    expected = []
    for negative, _, a, b in pairs:
        smaller = min(membership[a].sum(), membership[b].sum())
        expected.append(
            f"{a} and {b} share {-negative:,} contacts "
            f"({percent(-negative, smaller)} of the smaller segment)"
        )
    assert [text(li) for li in section(page, "overlap").xpath(".//li")] == expected


def test_cluster_card(report: ReportInput, page: lxml.html.HtmlElement) -> None:
    (card,) = section(page, "clusters").xpath(".//article")
    members = int(report.membership[CLUSTER].sum())
    assert text(card.find(".//h3")) == CLUSTER
    assert text(card.find_class("card-figures")[0]) == (
        f"{members:,} contacts · {percent(members, CONTACTS)} of all contacts"
    )
    stages = report.contacts.loc[report.membership[CLUSTER], "lifecyclestage"].value_counts()
    rows = [text(li) for li in card.find_class("categories")[0]]
    assert rows == [f"{stage} {percent(n, members)}" for stage, n in stages.head(3).items()]


def test_segment_cards(report: ReportInput, page: lxml.html.HtmlElement) -> None:
    contacts, segments = report.contacts, section(page, "segments")
    is_customer = contacts["lifecyclestage"].isin(["customer", "evangelist"])
    revenue = contacts["total_revenue"].fillna(0)
    primary = report.assignments["primary"].value_counts()
    changes = {"Healthcare accounts": "+12", "Key customers": "−7", "Engaged prospects": "0"}
    for definition in report.segments:
        card = by_segment(segments, "article", definition.name)
        members = report.membership[definition.name]
        size = int(members.sum())
        assert text(card.find(".//code")) == definition.definition
        assert text(card.find_class("badge")[0]) == definition.kind.capitalize()
        assert text(card.find_class("priority")[0]) == f"Priority {definition.priority}"
        assert figures(card) == {
            "Contacts": f"{size:,}",
            "Share of all contacts": percent(size, CONTACTS),
            "Since last run": changes.get(definition.name, "new"),
            "Primary segment for": f"{int(primary.get(definition.name, 0)):,}",
            "Conversion rate": (
                f"{percent(int(is_customer[members].sum()), size)} "
                f"{int(is_customer[members].sum()):,} converted"
            ),
            "Revenue": f"{revenue[members].sum():,.0f}",
            "Revenue per contact": f"{revenue[members].sum() / size:,.0f}",
        }


def test_key_traits_leave_out_the_segments_own_fields(
    report: ReportInput, page: lxml.html.HtmlElement
) -> None:
    card = by_segment(section(page, "segments"), "article", "Key customers")
    alt = card.xpath(".//img/@alt")[0]
    assert alt.startswith("Key traits: ")
    assert "Lifecycle Stage" not in alt and "Total Revenue" not in alt  # the rule's own fields
    healthcare = by_segment(section(page, "segments"), "article", "Healthcare accounts")
    assert "Industry" not in healthcare.xpath(".//img/@alt")[0]


def test_conversion_and_revenue_notes(report: ReportInput, page: lxml.html.HtmlElement) -> None:
    contacts = report.contacts
    rate = percent(int(contacts["lifecyclestage"].isin(["customer", "evangelist"]).sum()), CONTACTS)
    per_contact = f"{contacts['total_revenue'].fillna(0).sum() / CONTACTS:,.0f}"
    notes = [text(p) for p in section(page, "segments").xpath("./p[@class='note']")]
    assert notes == [
        f"Converted: Lifecycle Stage is “customer” or “evangelist”; all contacts convert at {rate}.",
        f"Revenue: the sum of Total Revenue; all contacts bring {per_contact} per contact.",
    ]


def test_completeness_marks_the_fields_segments_read(
    report: ReportInput, page: lxml.html.HtmlElement
) -> None:
    used = [
        "num_purchases",
        "lifecyclestage",
        "hs_email_open",
        "country",
        "industry",
        "employees",
        "total_revenue",
    ]
    filled = report.contacts[used].notna().mean()
    expected = [
        (report.label(name), f"{filled[name] * 100:.1f}%")
        for name in sorted(used, key=lambda name: (-filled[name], report.label(name)))
    ]
    chips = section(page, "completeness").find_class("chip")
    assert [(text(chip).rsplit(" ", 1)[0], text(chip.find("strong"))) for chip in chips] == expected
    warned = [text(chip.find("strong")) for chip in chips if "chip-warn" in chip.get("class")]
    assert warned == [share for _, share in expected if float(share[:-1]) < 90]


def test_run_history_table(page: lxml.html.HtmlElement) -> None:
    history = section(page, "history")
    rows = [[text(cell) for cell in row] for row in history.xpath(".//tbody/tr")]
    assert len(rows) == 10
    assert rows[:3] == [
        ["2025-07-01 09:00 UTC", "1 min 47 s", "Succeeded", "3,000", "480", "37", "22", "0", "96"],
        ["2025-06-30 09:00 UTC", "1 min 46 s", "Aborted", "3,000", "0", "0", "0", "2", "93"],
        ["2025-06-29 09:00 UTC", "1 min 45 s", "Failed", "3,000", "400", "35", "20", "9", "90"],
    ]
    assert text(history.find_class("note")[0]) == "The 10 most recent of 12 runs."


# -- edge cases -----------------------------------------------------------------------------


def empty_report(**overrides: object) -> ReportInput:
    index = pd.Index(["1", "2"], name="id")
    contacts = pd.DataFrame({"industry": ["Software", None]}, index=index)
    assignments = pd.DataFrame(
        {"primary": [None, None], "segments": [(), ()], "reason": ["", ""]}, index=index
    )
    base: dict[str, object] = {
        "contacts": contacts,
        "membership": pd.DataFrame(index=index),
        "assignments": assignments,
        "segments": [],
        "generated_at": datetime(2025, 1, 1, tzinfo=UTC),
    }
    return ReportInput(**(base | overrides))  # type: ignore[arg-type]


def test_a_first_run_without_segments_clusters_or_history_still_renders() -> None:
    page = lxml.html.document_fromstring(render_html(empty_report()))
    empties = {
        name: [text(p) for p in section(page, name).find_class("empty")] for name in SECTIONS
    }
    assert empties == {
        "overview": [],
        "sizes": ["No segments are configured."],
        "trends": ["No completed run recorded yet."],
        "overlap": ["Overlap needs at least two segments."],
        "clusters": ["This configuration has no cluster segments."],
        "segments": [],
        "lift": [
            "No segment keeps a holdout: give one holdout = 0.1 in its [[segments]] section to measure its list's effect."
        ],
        "completeness": [],
        "history": ["No runs recorded yet."],
    }
    assert text(section(page, "overview").find_class("tile")[-1]) == "Last run None recorded"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"segments": [SegmentDefinition("A", 1, "x = 1")]},
            r"membership columns \[\] must be the segments in config order \['A'\]",
        ),
        ({"revenue_field": "revenue"}, "the revenue field 'revenue' is not a contacts column"),
        ({"revenue_field": "industry"}, "the revenue field 'industry' must be numeric"),
        ({"conversion": Conversion("stage")}, "the conversion field 'stage' is not a contacts"),
        ({"run_history": [{"id": 7, "status": "failed"}]}, "run 7 lacks started_at, finished_at"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        empty_report(**overrides)


def test_a_cluster_profile_needs_both_means() -> None:
    with pytest.raises(ValueError, match="^cluster 'Z': means needs the columns cluster and "):
        ClusterProfile("Z", 1, 0.5, pd.DataFrame({"cluster": [1.0]}))
    means = pd.DataFrame({"cluster": [1.0], "overall": [2.0]})
    with pytest.raises(ValueError, match=r"cluster profiles for unknown segments: \['Z'\]"):
        empty_report(clusters=[ClusterProfile("Z", 1, 0.5, means)])


# -- the figures, on data small enough to check by hand ---------------------------------------


@pytest.fixture
def tiny() -> ReportInput:
    index = pd.Index([str(i) for i in range(1, 7)], name="id")
    contacts = pd.DataFrame(
        {
            "industry": pd.array(
                ["Software", "software ", "Retail", "Software", None, "Retail"], dtype="string"
            ),
            "employees": [10.0, 20.0, 500.0, 1000.0, None, 50.0],
            "lifecyclestage": pd.array(
                ["customer", "lead", "customer", "lead", "lead", "evangelist"], dtype="string"
            ),
            "total_revenue": [100.0, None, 300.0, None, None, 50.0],
        },
        index=index,
    )
    membership = pd.DataFrame(
        {
            "A": [True, True, False, True, False, False],
            "B": [False, False, True, True, False, True],
        },
        index=index,
    )
    assignments = pd.DataFrame(
        {"primary": ["A", "A", "B", "A", None, "B"], "segments": [()] * 6, "reason": [""] * 6},
        index=index,
    )
    return ReportInput(
        contacts=contacts,
        membership=membership,
        assignments=assignments,
        segments=[
            SegmentDefinition("A", 2, 'industry = "Software"', fields=("industry",)),
            SegmentDefinition("B", 1, "employees >= 50", fields=("employees",)),
        ],
        previous_sizes={"A": 5},
        conversion=Conversion("lifecyclestage"),
        revenue_field="total_revenue",
        field_labels={"employees": "Employees", "lifecyclestage": "Lifecycle Stage"},
    )


def test_tiny_sizes_and_overlap(tiny: ReportInput) -> None:
    sizes = stats.segment_sizes(tiny)
    assert sizes.to_dict("index") == {
        "A": {"members": 3, "share": 0.5, "primary": 3, "previous": 5, "change": -2},
        "B": {"members": 3, "share": 0.5, "primary": 2, "previous": None, "change": None},
    }
    shared, jaccard = stats.overlap(tiny.membership)
    assert shared.to_dict() == {"A": {"A": 3, "B": 1}, "B": {"A": 1, "B": 3}}
    assert jaccard.to_dict() == {"A": {"A": 1.0, "B": 0.2}, "B": {"A": 0.2, "B": 1.0}}
    assert stats.unmatched_count(tiny) == 1


def test_tiny_outcomes(tiny: ReportInput) -> None:
    frame = stats.outcomes(tiny)
    assert frame.round(4).to_dict("index") == {
        "A": {
            "contacts": 3,
            "converted": 1,
            "conversion_rate": 0.3333,
            "revenue": 100.0,
            "revenue_per_contact": 33.3333,
        },
        "B": {
            "contacts": 3,
            "converted": 1,
            "conversion_rate": 0.3333,
            "revenue": 350.0,
            "revenue_per_contact": 116.6667,
        },
        "All contacts": {
            "contacts": 6,
            "converted": 2,
            "conversion_rate": 0.3333,
            "revenue": 450.0,
            "revenue_per_contact": 75.0,
        },
    }


def test_converted_reads_bools_and_values_ignoring_case() -> None:
    frame = pd.DataFrame(
        {
            "paying": pd.array([True, None, False], dtype="boolean"),
            "stage": pd.array([" Customer", None, "lead"], dtype="string"),
        }
    )
    assert stats.converted(frame, Conversion("paying")).tolist() == [True, False, False]
    assert stats.converted(frame, Conversion("stage")).tolist() == [True, False, False]


def test_tiny_key_traits(tiny: ReportInput) -> None:
    candidates = stats.trait_candidates(tiny)
    assert list(candidates.columns) == [
        ("industry", "industry: Retail"),
        ("industry", "industry: Software"),
        ("employees", "Employees ≥ 500"),
        ("employees", "Employees ≤ 20"),
        ("lifecyclestage", "Lifecycle Stage: customer"),
        ("lifecyclestage", "Lifecycle Stage: evangelist"),
        ("lifecyclestage", "Lifecycle Stage: lead"),
        ("total_revenue", "total_revenue ≥ 200"),
        ("total_revenue", "total_revenue ≤ 75"),
    ]
    a = stats.key_traits(candidates, tiny.membership["A"], skip=("industry",))
    assert [(t.label, round(t.segment_share, 4), round(t.overall_share, 4)) for t in a] == [
        ("Employees ≤ 20", 0.6667, 0.3333),
        ("Lifecycle Stage: lead", 0.6667, 0.5),
    ]
    b = stats.key_traits(candidates, tiny.membership["B"], skip=("employees",))
    assert [(t.label, round(t.segment_share, 4), round(t.overall_share, 4)) for t in b] == [
        ("industry: Retail", 0.6667, 0.3333),
        ("Lifecycle Stage: evangelist", 0.3333, 0.1667),
        ("total_revenue ≤ 75", 0.3333, 0.1667),
        ("total_revenue ≥ 200", 0.3333, 0.1667),
    ]
    first_two = pd.Series([True, True, False, False, False, False], index=tiny.contacts.index)
    software = stats.key_traits(
        candidates, first_two, skip=("employees", "lifecyclestage"), limit=1
    )
    assert software == [stats.Trait("industry: Software", 1.0, 0.5)]  # "software " counted in


def test_tiny_completeness(tiny: ReportInput) -> None:
    frame = stats.completeness(tiny, used={"industry", "employees"})
    assert frame.round(4).to_dict("records") == [
        {"label": "Lifecycle Stage", "filled": 6, "share": 1.0, "used": False},
        {"label": "Employees", "filled": 5, "share": 0.8333, "used": True},
        {"label": "industry", "filled": 5, "share": 0.8333, "used": True},
        {"label": "total_revenue", "filled": 3, "share": 0.5, "used": False},
    ]


def test_run_history_is_oldest_first_with_durations() -> None:
    runs = [
        {
            "id": run_id,
            "started_at": started,
            "finished_at": finished,
            "status": "succeeded",
            "contacts": 10,
            "writes": 1,
            "list_adds": 2,
            "list_removes": 3,
            "failures": None,
            "api_calls": 4,
        }
        for run_id, started, finished in (
            (2, "2025-06-02T10:00:00Z", "2025-06-02T10:01:30Z"),
            (1, "2025-06-01T10:00:00+02:00", "2025-06-01T09:00:05+01:00"),
        )
    ]
    frame = stats.run_history(runs)
    assert frame["id"].tolist() == [1, 2]
    assert frame["duration"].tolist() == [5.0, 90.0]
    assert frame["failures"].tolist() == [0, 0]
    assert str(frame["started_at"].iloc[0]) == "2025-06-01 08:00:00+00:00"


def test_without_conversion_or_revenue_those_figures_are_left_out(tiny: ReportInput) -> None:
    page = lxml.html.document_fromstring(
        render_html(replace(tiny, conversion=None, revenue_field=None))
    )
    card = by_segment(section(page, "segments"), "article", "A")
    assert figures(card) == {
        "Contacts": "3",
        "Share of all contacts": "50.0%",
        "Since last run": "−2",
        "Primary segment for": "3",
    }
    assert section(page, "segments").xpath("./figure") == []  # no outcome chart
