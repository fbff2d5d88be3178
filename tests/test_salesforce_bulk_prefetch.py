"""A Bulk API 2.0 result page is downloaded while the one before it is handed on (issue #14,
item 2): a big Salesforce pull waits on the latency once, not once a page.

Each page is still requested exactly once, the pull is the REST pull record for record, and a
download that fails ahead of its page is retried as that page's own failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from connectors.salesforce import SalesforceConnector
from connectors.salesforce import pulls as salesforce_pulls
from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.base import Arrival
from sync.progress import SilentProgress
from sync.pull import pull_contacts
from sync.retry import Retrier
from tests.conftest import salesforce_settings
from tests.expectations import FAST_RETRY

RESULTS = "GET /services/data/{version}/jobs/query/{jobId}/results"
FIELDS = ["Title", "Employees__c", "Lifecycle_Stage__c"]


@pytest.fixture
def bulk(
    sf_box: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SalesforceConnector]:
    """A connector that pulls 35 contacts by Bulk 2.0, 10 a result page."""
    monkeypatch.setattr(salesforce_pulls, "BULK_PAGE_SIZE", 10)
    sf_box.seed_contacts(35, seed=61)
    connector = SalesforceConnector(salesforce_settings(sf_box, bulk_threshold=1))
    yield connector
    connector.close()


def result_pages(sf_box: SalesforceSandbox) -> list[int]:
    return [record.status for record in sf_box.call_log if record.route == RESULTS]


def test_the_next_result_page_is_downloaded_before_it_is_asked_for(
    sf_box: SalesforceSandbox, bulk: SalesforceConnector
) -> None:
    first = bulk.read_contacts_page(FIELDS, None)
    deadline = time.monotonic() + 10
    while len(result_pages(sf_box)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert result_pages(sf_box) == [200, 200]  # page 2 asked for by the connector on its own
    assert len(first.contacts) == 10

    rest = SalesforceConnector(salesforce_settings(sf_box))
    over_rest, _ = pull_contacts(rest, FIELDS, Retrier(FAST_RETRY), SilentProgress())
    sf_box.call_log.clear()
    over_bulk, _ = pull_contacts(bulk, FIELDS, Retrier(FAST_RETRY), SilentProgress())

    assert over_bulk.sort_index().equals(over_rest.sort_index())
    assert len(over_bulk) == 35
    assert result_pages(sf_box) == [200] * 4  # each page once: 10, 10, 10 and 5


def test_a_download_that_fails_ahead_is_retried_as_its_page(
    sf_box: SalesforceSandbox, bulk: SalesforceConnector
) -> None:
    rest = SalesforceConnector(salesforce_settings(sf_box))
    over_rest, _ = pull_contacts(rest, FIELDS, Retrier(FAST_RETRY), SilentProgress())
    downloads = 0

    def fail_the_second_download(request: Arrival) -> None:
        nonlocal downloads
        if request.route == RESULTS:
            downloads += 1
            if downloads == 2:
                sf_box.inject_faults(503, route=RESULTS)

    sf_box.on_request(fail_the_second_download)
    retrier = Retrier(FAST_RETRY)
    over_bulk, _ = pull_contacts(bulk, FIELDS, retrier, SilentProgress())

    assert over_bulk.sort_index().equals(over_rest.sort_index())
    assert result_pages(sf_box) == [200, 503, 200, 200, 200]
    assert retrier.retries == 1
