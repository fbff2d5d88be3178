"""The report's cluster section: each cluster as a rule with its precision and recall, and
each cluster set's model with its age, last refit, drift since then and refresh cadence."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import lxml.html
import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from sync.report import ClusterModelStatus, ReportInput, render_html
from sync.report.formatting import moment
from tests.conftest import TOKEN
from tests.report_data import CLUSTER_MODEL, SCRIPT_CATEGORY, build_report_input
from tests.support.stored_models import stored_model


@pytest.fixture(scope="module")
def report() -> ReportInput:
    return build_report_input()


def clusters_section(report: ReportInput) -> lxml.html.HtmlElement:
    page = lxml.html.document_fromstring(render_html(report))
    (section,) = page.xpath('//section[@id="clusters"]')
    return section


def text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def model_rows(report: ReportInput) -> list[list[str]]:
    (table,) = clusters_section(report).find_class("models")
    return [[text(cell) for cell in row] for row in table.xpath(".//tr")]


def test_a_cluster_card_shows_its_rule_and_how_well_it_matches(report: ReportInput) -> None:
    (card,) = clusters_section(report).xpath(".//article")
    (rule,) = card.find_class("cluster-rule")
    assert text(rule) == f'hs_email_open > 12 and industry != "{SCRIPT_CATEGORY}"'
    assert rule.xpath(".//script") == []  # the CRM's text, never markup
    assert text(card.find_class("card-figures")[1]) == (
        "precision 93.4% · recall 87.1% (how well the rule matches this cluster's contacts)"
    )


def test_the_model_table_shows_age_last_refit_drift_and_cadence(report: ReportInput) -> None:
    assert model_rows(report) == [
        ["Cluster set", "Last refit", "Age", "Drift since", "Refresh", "This run"],
        [
            "Behaviour",
            "2025-06-01 07:30 UTC",
            "30 days",
            "distance +4%, share shift 2%",
            "every 90 days; next due 2025-08-30 07:30 UTC",
            "stored model kept: distance +4%, share shift 2%",
        ],
    ]


@pytest.mark.parametrize(
    ("model", "row"),
    [
        (
            replace(
                CLUSTER_MODEL,
                fitted_at=None,
                refitted=True,
                reason="refit due: the stored model has no fit time (stored by an older "
                "segsync) and refit_every is 90 days",
                distance_increase=None,
                share_shift=None,
            ),
            [
                "Behaviour",
                "unknown (stored before segsync kept fit times)",
                "unknown",
                "none yet: this run trained it",
                "every 90 days; due at the next run",
                "refit: refit due: the stored model has no fit time (stored by an older "
                "segsync) and refit_every is 90 days",
            ],
        ),
        (
            ClusterModelStatus(
                "Behaviour",
                CLUSTER_MODEL.fitted_at,
                refitted=False,
                reason="stored model kept: distance +0%, share shift 0%",
                distance_increase=0.0,
                share_shift=0.0,
            ),
            [
                "Behaviour",
                "2025-06-01 07:30 UTC",
                "30 days",
                "distance +0%, share shift 0%",
                "on drift only (no refit_every)",
                "stored model kept: distance +0%, share shift 0%",
            ],
        ),
    ],
    ids=["untimed-model-refit", "no-cadence"],
)
def test_an_unknown_fit_time_and_a_missing_cadence_read_plainly(
    report: ReportInput, model: ClusterModelStatus, row: list[str]
) -> None:
    assert model_rows(replace(report, cluster_models=[model]))[1] == row


@pytest.mark.parametrize(
    ("age", "shown"),
    [(timedelta(hours=5), "5 hours"), (timedelta(minutes=70), "1 hour"), (timedelta(0), "under an hour")],
)
def test_a_model_younger_than_a_day_has_its_age_in_hours(
    report: ReportInput, age: timedelta, shown: str
) -> None:
    young = replace(CLUSTER_MODEL, fitted_at=report.generated_at - age)
    assert model_rows(replace(report, cluster_models=[young]))[1][2] == shown


def test_a_synced_cluster_set_reports_its_rules_and_its_model(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a real run: the report's rules are those ``clusters export`` writes, and the model
    row says when it was trained and by which run."""
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    crm.seed_contacts(300, seed=94)
    config = tmp_path / "segsync.toml"
    config.write_text(
        f'[hubspot]\nbase_url = "{crm.base_url}"\n[sync]\nstate_dir = "{tmp_path}"\n'
        '[[clusters]]\nname = "Behaviour"\npriority = 5\n'
        'numeric = ["hs_email_open", "num_purchases"]\ncategorical = ["lifecyclestage"]\n'
        'n_clusters = 3\nrefit_every = "12 weeks"\n'
    )
    assert CliRunner().invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    exported = CliRunner().invoke(app, ["clusters", "export", "--config", str(config)]).output
    html = tmp_path / "report.html"
    report = CliRunner().invoke(app, ["report", "--config", str(config), "-o", str(html)])
    assert report.exit_code == 0, report.output

    page = lxml.html.document_fromstring(html.read_text())
    (section,) = page.xpath('//section[@id="clusters"]')
    shown = [text(rule) for rule in section.find_class("cluster-rule")]
    assert shown == [item["rule"] for item in tomllib.loads(exported)["segments"]]
    (table,) = section.find_class("models")
    (row,) = table.xpath(".//tbody/tr")
    cells = [text(cell) for cell in row]
    fitted = stored_model(config, "Behaviour").fitted_at_
    assert fitted is not None
    assert cells[:2] == ["Behaviour", moment(fitted)]
    assert cells[4] == f"every 84 days; next due {moment(fitted + timedelta(weeks=12))}"
    assert cells[3] == "distance +0%, share shift 0%"
    assert cells[5] == "stored model kept: distance +0%, share shift 0%"

