"""The report's migration matrix in a real browser: the section is laid out, each "from" row
shows its moves with their shares, the cells are shaded by share, and nothing logs an error."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from sync.moves import MigrationMatrix, MigrationView
from sync.report import render_report
from tests.report_data import build_report_input
from tests.support.browser import CHROMIUM, NO_BROWSER, chromium

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_BROWSER)

WEEK = MigrationMatrix.of(
    [("Champions", "At risk")] * 3 + [("Champions", None)] + [(None, "Champions")] * 2
)


def test_the_migration_matrix_renders_in_chromium(tmp_path: Path) -> None:
    report = replace(
        build_report_input(), migrations=[MigrationView("Run 7", "The planted week.", WEEK)]
    )
    page = render_report(report, tmp_path / "report.html")

    with chromium(tmp_path / "chromium-profile") as browser:
        browser.get(page.as_uri())
        section = browser.find_element(By.ID, "migration")
        assert section.is_displayed() and section.size["height"] > 0
        rows = {
            row.get_attribute("data-from"): [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in section.find_elements(By.CSS_SELECTOR, "tr[data-from]")
        }
        shaded = browser.execute_script(
            "return Array.from(document.querySelectorAll('#migration td[data-count]'),"
            " c => [c.dataset.count, getComputedStyle(c).backgroundColor]);"
        )
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]

    assert rows == {  # columns: At risk, Champions, (none), then the row's total
        "Champions": ["3 (75.0%)", "–", "1 (25.0%)", "4"],
        "(none)": ["–", "2 (100.0%)", "–", "2"],
    }
    assert all((count != "0") == (color != "rgba(0, 0, 0, 0)") for count, color in shaded)
    assert errors == []
