"""The report in a real browser: headless Chromium (Debian's) driven by Selenium.

It proves what parsing the HTML cannot: every section is laid out with a size, every chart
decodes as an image, nothing logs an error to the console, and the page can be screenshotted.
``scripts/install-browser.sh`` installs ``chromium`` and ``chromium-driver``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from sync.report import render_report
from tests.report_data import LIFT_SEGMENT, SCRIPT_NAME, SECTIONS, build_report_input
from tests.support.browser import CHROMIUM, NO_BROWSER, VIEWPORT, chromium

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=NO_BROWSER,
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_renders_in_chromium(browser: webdriver.Chrome, tmp_path: Path) -> None:
    report = render_report(build_report_input(), tmp_path / "report.html")
    browser.get(report.as_uri())
    assert browser.title == "Acme CRM segments"

    for name in SECTIONS:
        element = browser.find_element(By.ID, name)
        assert element.is_displayed(), name
        assert element.size["width"] > 0 and element.size["height"] > 0, name
    images = browser.execute_script(
        "return Array.from(document.images, i => [i.closest('section').id, i.complete,"
        " i.naturalWidth, i.getBoundingClientRect().height]);"
    )
    # sizes, trends, overlap, 1 cluster, outcomes + 6 trait charts, 1 holdout lift, fields, runs
    assert len(images) == 14
    broken = [image for image in images if not (image[1] and image[2] > 0 and image[3] > 0)]
    assert broken == []
    assert {image[0] for image in images} == set(SECTIONS) - {"overview"}
    for part in ("#clusters table.models", "#clusters .cluster-rule"):  # model age, cluster rule
        element = browser.find_element(By.CSS_SELECTOR, part)
        assert element.is_displayed() and element.size["height"] > 0, part

    lift_cards = browser.find_elements(By.CSS_SELECTOR, "#lift .lift-card")
    assert [card.get_attribute("data-segment") for card in lift_cards] == [
        LIFT_SEGMENT,
        SCRIPT_NAME,
    ]
    assert all(card.is_displayed() and card.size["height"] > 100 for card in lift_cards)
    verdict = browser.find_element(By.CSS_SELECTOR, "#lift .lift-verdict")
    assert verdict.text == "The list raises conversion"
    shortfall = browser.find_element(By.CSS_SELECTOR, "#lift .lift-shortfall")
    assert shortfall.is_displayed() and shortfall.text.startswith("Not enough data yet: ")
    trend = browser.find_element(By.CSS_SELECTOR, "#trends img")
    assert trend.get_attribute("alt") == (
        "Line chart of each segment's contacts at each of the last 10 runs"
    )
    assert trend.size["width"] > 800  # a full-width chart, laid out

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []

    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(VIEWPORT[0], height)
    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    data = screenshot.read_bytes()
    width, shot_height = png_size(data)
    assert width >= VIEWPORT[0] * 0.9 and shot_height >= 3000  # the whole page, not a blank tab
    assert len(data) > 200_000
