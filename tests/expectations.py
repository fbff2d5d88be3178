"""What the CRM must hold after a sync of the test segments, computed without segment_core.

The tests' segments are simple enough to evaluate by hand from the sandbox's raw values, so
a bug in segment_core or the planner cannot hide by agreeing with itself. The same segments
run on HubSpot and Salesforce, whose fields are named differently (``CrmNames``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from sync.config import SegmentConfig, Settings, SyncOptions
from sync.outcome import SyncOutcome
from sync.pipeline import run_sync
from sync.progress import SilentProgress
from sync.retry import RetryPolicy
from tests.conftest import make_settings, salesforce_settings


@dataclass(frozen=True)
class CrmNames:
    """What the test segments' rule fields, and segsync's own fields, are called on one CRM."""

    employees: str
    opens: str
    purchases: str
    segment: str
    segments: str
    reason: str

    def rules(self) -> dict[str, str]:
        """Each test segment's rule, as segsync writes it into the reason."""
        return {
            "Big": f"{self.employees} >= 200",
            "Engaged": f"{self.opens} >= 5",
            "Buyers": f"{self.purchases} > 0 and {self.employees} < 200",
        }

    def segment_config(self) -> list[dict[str, Any]]:
        """The test segments in this CRM's names; Big's rule is a table, the others text."""
        rules: dict[str, Any] = self.rules()
        rules["Big"] = {"field": self.employees, "op": ">=", "value": 200}
        priorities = {"Big": 100, "Engaged": 50, "Buyers": 50}
        return [{"name": n, "priority": p, "rule": rules[n]} for n, p in priorities.items()]

    def sync_options(self) -> dict[str, str]:
        """The ``[sync]`` settings that name segsync's fields."""
        return {
            "segment_property": self.segment,
            "segments_property": self.segments,
            "reason_property": self.reason,
        }


SEGSYNC_FIELDS = {
    "segment": "segsync_segment",
    "segments": "segsync_segments",
    "reason": "segsync_reason",
}
SALESFORCE_FIELDS = {
    "segment": "Segment__c",
    "segments": "Segments__c",
    "reason": "Segment_Reason__c",
}
HUBSPOT = CrmNames("employees", "hs_email_open", "num_purchases", **SEGSYNC_FIELDS)
SALESFORCE_CONTACTS = CrmNames(
    "Employees__c", "Email_Opens__c", "Purchases__c", **SALESFORCE_FIELDS
)
SALESFORCE_LEADS = CrmNames(
    "NumberOfEmployees", "Email_Opens__c", "Purchases__c", **SALESFORCE_FIELDS
)
"""A Lead keeps its headcount in a standard field, a Contact in a custom one."""
SEGMENTS = HUBSPOT.segment_config()
FAST_RETRY = RetryPolicy(initial_wait=0.01, max_wait=0.05)


def segments_toml(segments: list[dict[str, Any]]) -> str:
    """``[[segments]]`` tables for the test segments (rules as text or as one-condition tables)."""
    tables = []
    for segment in segments:
        rule = segment["rule"]
        toml_rule = (
            json.dumps(rule)
            if isinstance(rule, str)
            else (f'{{ field = "{rule["field"]}", op = "{rule["op"]}", value = {rule["value"]} }}')
        )
        tables.append(
            f'[[segments]]\nname = "{segment["name"]}"\npriority = {segment["priority"]}\n'
            f"rule = {toml_rule}\n"
        )
    return "\n".join(tables)


class CrmView(Protocol):
    """How a test reads a sandbox CRM's own state (``connectors.testing.CrmBackend`` is one)."""

    def values(self, contact_id: str) -> Mapping[str, Any]: ...

    def list_members(self, list_name: str) -> set[str] | None: ...


def number(values: Mapping[str, Any], name: str) -> float | None:
    text = values.get(name)
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def expected_segments(values: Mapping[str, Any], names: CrmNames = HUBSPOT) -> list[str]:
    """The segments a contact belongs to, in priority order (ties: config order)."""
    employees = number(values, names.employees)
    opens = number(values, names.opens)
    purchases = number(values, names.purchases)
    matched = []
    if employees is not None and employees >= 200:
        matched.append("Big")
    if opens is not None and opens >= 5:
        matched.append("Engaged")
    if purchases is not None and purchases > 0 and employees is not None and employees < 200:
        matched.append("Buyers")
    return matched


def expected_reason(matched: list[str], names: CrmNames) -> str:
    """What segsync writes as the reason: the primary's rule, then the other segments."""
    if not matched:
        return ""
    primary, *others = matched
    also = f"; also in {', '.join(others)}" if others else ""
    return f"{primary}: {names.rules()[primary]}{also}"


def assert_holds_desired_state(crm: CrmView, ids: list[str], names: CrmNames) -> None:
    """Every contact's three segsync fields and every segment's list, exactly."""
    expected_lists: dict[str, set[str]] = {s["name"]: set() for s in SEGMENTS}
    for contact_id in ids:
        values = crm.values(contact_id)
        matched = expected_segments(values, names)
        assert (values.get(names.segment) or "") == (matched[0] if matched else ""), contact_id
        assert (values.get(names.segments) or "") == ";".join(matched), contact_id
        assert (values.get(names.reason) or "") == expected_reason(matched, names), contact_id
        for name in matched:
            expected_lists[name].add(contact_id)
    for name, members in expected_lists.items():
        assert crm.list_members(f"segsync: {name}") == members, name


class _HubSpotView:
    def __init__(self, crm: HubSpotSandbox) -> None:
        self.crm = crm

    def values(self, contact_id: str) -> Mapping[str, Any]:
        return self.crm.store.contact(contact_id)

    def list_members(self, list_name: str) -> set[str] | None:
        found = self.crm.store.list_by_name(list_name)
        return self.crm.store.list_members(found["listId"]) if found else None


class SalesforceView:
    """A sandbox org's contacts (or leads) and campaigns; members are contact or lead ids."""

    def __init__(self, sf_box: SalesforceSandbox, sobject: str = "Contact") -> None:
        self.sf_box = sf_box
        self.sobject = sobject

    def values(self, contact_id: str) -> Mapping[str, Any]:
        return self.sf_box.store.record(self.sobject, contact_id)

    def list_members(self, list_name: str) -> set[str] | None:
        found = self.sf_box.store.campaign_by_name(list_name)
        return self.sf_box.store.campaign_members(found["Id"]) if found else None


def assert_crm_holds_desired_state(crm: HubSpotSandbox, ids: list[str]) -> None:
    assert_holds_desired_state(_HubSpotView(crm), ids, HUBSPOT)


def assert_org_holds_desired_state(sf_box: SalesforceSandbox, ids: list[str]) -> None:
    assert_holds_desired_state(SalesforceView(sf_box), ids, SALESFORCE_CONTACTS)


def sync(
    connector: HubSpotConnector,
    crm: HubSpotSandbox,
    state: Path,
    segments: list[dict[str, Any]] = SEGMENTS,
    **options: Any,
) -> SyncOutcome:
    """One sync of ``segments`` (the test segments by default), silent and with fast retries."""
    settings = make_settings(crm, segments, state, **options.pop("sync_options", {}))
    options.setdefault("dry_run", False)
    return run_sync(connector, settings, progress=SilentProgress(), retry=FAST_RETRY, **options)


def salesforce_sync_settings(
    connector: SalesforceConnector, state: Path, names: CrmNames, **sync: Any
) -> Settings:
    """The test segments, on the fields ``names`` gives, for the connector's org and object."""
    return Settings(
        connector="salesforce",
        salesforce=connector.settings,
        sync=SyncOptions(state_dir=state, **names.sync_options(), **sync),
        segments=[SegmentConfig(**segment) for segment in names.segment_config()],
    )


@contextmanager
def salesforce_org(
    sf_box: SalesforceSandbox, names: CrmNames = SALESFORCE_CONTACTS, **settings: Any
) -> Iterator[SalesforceConnector]:
    """The Salesforce connector on the sandbox org (``settings`` override the defaults)."""
    salesforce = SalesforceConnector(salesforce_settings(sf_box, **settings))
    try:
        yield salesforce
    finally:
        salesforce.close()


def sync_salesforce(
    connector: SalesforceConnector,
    state: Path,
    names: CrmNames = SALESFORCE_CONTACTS,
    **options: Any,
) -> SyncOutcome:
    """One sync of the test segments into a sandbox org, silent and with fast retries."""
    settings = salesforce_sync_settings(connector, state, names, **options.pop("sync_options", {}))
    options.setdefault("dry_run", False)
    return run_sync(connector, settings, progress=SilentProgress(), retry=FAST_RETRY, **options)
