"""End to end: segsync syncs the test segments into the sandbox Salesforce org.

The real connector drives simple-salesforce over loopback TLS. Expected segments are computed
by ``tests.expectations`` from the org's raw values, independently of segment_core, and every
assertion reads the org's own records and campaign members.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.salesforce import SalesforceConnector
from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.base import Arrival
from sync.outcome import SyncOutcome
from tests.conftest import salesforce_settings
from tests.expectations import (
    SALESFORCE_CONTACTS,
    SalesforceView,
    assert_org_holds_desired_state,
    expected_segments,
    salesforce_org,
    sync_salesforce,
)
from tests.support.kills import completed_writes_sent_twice, kill_at_write, start_sync
from tests.support.salesforce_sync import CONTACTS, write_config

API = "/services/data/{version}"
COLLECTIONS = f"{API}/composite/sobjects"
OAUTH_TOKEN = "POST /services/oauth2/token"
NO_POST_READS: frozenset[str] = frozenset()
"""Every Salesforce read these syncs make is a GET (a Bulk API query job would not be)."""


@pytest.fixture
def org(sf_box: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    with salesforce_org(sf_box) as salesforce:
        yield salesforce


def writes(sf_box: SalesforceSandbox, since: int = 0) -> list[str]:
    """The routes of the calls, after the ``since``-th, that change the org."""
    return [r.route for r in sf_box.call_log[since:] if not r.route.startswith("GET ")]


def test_a_first_sync_into_a_fresh_org_creates_its_fields(
    sf_box: SalesforceSandbox, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(20, seed=70)
    with closing(SalesforceConnector(salesforce_settings(sf_box))) as salesforce:
        outcome = sync_salesforce(salesforce, tmp_path)
    assert [spec.name for spec in outcome.plan.fields] == [
        "Segment__c",
        "Segments__c",
        "Segment_Reason__c",
    ]
    assert_org_holds_desired_state(sf_box, ids)


def test_a_sync_writes_every_segment_and_a_second_sync_writes_nothing(
    sf_box: SalesforceSandbox, org: SalesforceConnector, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(CONTACTS, seed=71)
    before = len(sf_box.call_log)
    first = sync_salesforce(org, tmp_path)
    assert (first.mode, first.status, first.result.failures) == ("full", "done", [])
    assert_org_holds_desired_state(sf_box, ids)
    view = SalesforceView(sf_box)
    assigned = sum(1 for i in ids if expected_segments(view.values(i), SALESFORCE_CONTACTS))
    assert len(first.plan.writes) == assigned
    assert writes(sf_box, before).count(f"PATCH {COLLECTIONS}") == -(-assigned // 200)

    before = len(sf_box.call_log)
    second = sync_salesforce(org, tmp_path)
    assert second.mode == "incremental" and second.plan.is_empty
    assert writes(sf_box, before) == []


def test_a_full_sync_counts_the_org_twice_not_three_times(
    sf_box: SalesforceSandbox, org: SalesforceConnector, tmp_path: Path
) -> None:
    """Before and after the pull (is it complete?); the pull's REST-or-Bulk choice takes the
    count made just before it."""
    sf_box.seed_contacts(30, seed=74)
    sync_salesforce(org, tmp_path)
    counts = [r for r in sf_box.call_log if "COUNT%28%29+FROM+Contact" in r.query]
    assert len(counts) == 2


def test_a_hand_edit_is_corrected_and_a_leaver_leaves_its_campaign(
    sf_box: SalesforceSandbox, org: SalesforceConnector, tmp_path: Path
) -> None:
    ids = sf_box.seed_contacts(CONTACTS, seed=72)
    sync_salesforce(org, tmp_path)
    view = SalesforceView(sf_box)
    big = [i for i in ids if expected_segments(view.values(i), SALESFORCE_CONTACTS)[:1] == ["Big"]]
    leaver, edited = big[:2]
    sf_box.store.set_fields(
        "Contact", leaver, {"Employees__c": 12, "Email_Opens__c": 0, "Purchases__c": 0}
    )
    sf_box.store.set_fields("Contact", edited, {"Segment__c": "Engaged"})  # a person's edit

    outcome = sync_salesforce(org, tmp_path)

    assert outcome.mode == "incremental"
    big_change = next(c for c in outcome.plan.list_changes if c.segment == "Big")
    assert (big_change.add, big_change.remove) == ((), (leaver,))
    assert view.values(leaver)["Segment__c"] is None
    assert view.values(edited)["Segment__c"] == "Big"
    assert_org_holds_desired_state(sf_box, ids)


def expire_sessions_at(sf_box: SalesforceSandbox, ordinal: int) -> None:
    """End the org's sessions as its ``ordinal``-th request arrives, so that request meets
    an expired session: mid-run, mid-page."""

    def expire(request: Arrival) -> None:
        if request.ordinal == ordinal:
            sf_box.expire_session()

    sf_box.on_request(expire)


def test_a_sync_through_faults_and_an_expired_session_converges(
    sf_box: SalesforceSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", sf_box.proxy_url)  # logins go to *.salesforce.com
    ids = sf_box.seed_contacts(CONTACTS, seed=73)
    login = {
        "session_id": None,
        "instance_url": None,
        "consumer_key": sf_box.app.consumer_key,
        "consumer_secret": SecretStr(sf_box.app.consumer_secret),
        "domain": sf_box.my_domain,
    }
    with salesforce_org(sf_box, **login) as salesforce:
        outcome = faulty_sync(sf_box, salesforce, tmp_path)

    assert (outcome.status, outcome.result.failures) == ("done", [])
    assert outcome.retries == 5
    assert sf_box.calls[OAUTH_TOKEN] == 2  # the first login, and one after the expiry
    statuses = [r.status for r in sf_box.call_log]
    assert {401, 403, 500, 503} <= set(statuses) and 0 in statuses
    assert_org_holds_desired_state(sf_box, ids)


def faulty_sync(
    sf_box: SalesforceSandbox, salesforce: SalesforceConnector, state: Path
) -> SyncOutcome:
    """A sync while the org fails calls and, a few calls in, ends every session."""
    sf_box.inject_faults(503, 2, f"GET {API}/query")
    sf_box.inject_faults(403, 1, f"PATCH {COLLECTIONS}")  # too many long requests at once
    sf_box.inject_faults(500, 1, f"POST {API}/sobjects/{{sobject}}")
    sf_box.inject_faults("disconnect", 1, f"POST {COLLECTIONS}", after_commit=True)
    expire_sessions_at(sf_box, len(sf_box.call_log) + 9)  # no request is in flight here
    try:
        return sync_salesforce(salesforce, state)
    finally:
        sf_box.on_request(None)


@pytest.mark.parametrize("trial", range(2))
def test_a_run_killed_anywhere_resumes_to_the_exact_state(
    sf_box: SalesforceSandbox, org: SalesforceConnector, tmp_path: Path, trial: int
) -> None:
    rng = random.Random(trial)
    ids = sf_box.seed_contacts(CONTACTS, seed=74 + trial)
    state = tmp_path / "state"
    if trial % 2:  # odd trials: kill an incremental run after a week of edits
        sync_salesforce(org, state)
        for contact_id in rng.sample(ids, 30):
            sf_box.store.set_fields(
                "Contact",
                contact_id,
                {"Employees__c": rng.choice([5, 150, 900]), "Email_Opens__c": 7},
            )
    config = write_config(tmp_path / "segsync.toml", sf_box, state)
    process = start_sync(config, {"SEGSYNC_SALESFORCE__SESSION_ID": sf_box.session_id})
    writes_of_a_whole_run = 3 if trial % 2 else 7
    at = rng.randint(1, writes_of_a_whole_run)
    assert kill_at_write(process, sf_box, at, rng.random() / 200, NO_POST_READS)

    resumed = sync_salesforce(org, state)

    assert (resumed.status, resumed.result.failures) == ("done", [])
    assert_org_holds_desired_state(sf_box, ids)
    assert completed_writes_sent_twice(sf_box, NO_POST_READS) == []
