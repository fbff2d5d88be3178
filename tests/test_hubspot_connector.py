"""HubSpot-specific connector behaviour, beyond the shared contract."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import AuthFailed, RateLimited, SegmentField, Transient
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.hubspot import search as sandbox_search

SEARCH_ROUTE = "POST /crm/v3/objects/contacts/search"


def test_incremental_pull_gets_past_the_search_window_of_10000(
    crm: HubSpotSandbox, connector: HubSpotConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_search, "MAX_RESULTS", 300)  # HubSpot: 10,000 a query
    ids = crm.seed_contacts(1_050, seed=41)
    since = datetime.now(UTC) - timedelta(seconds=1)
    for contact_id in ids:
        crm.store.set_properties(contact_id, {"jobtitle": f"T{contact_id}"})
    seen: dict[str, str | None] = {}
    read = 0
    cursor, pages = None, 0
    while True:
        page = connector.read_changed_contacts_page(["jobtitle"], since, cursor)
        pages += 1
        read += len(page.contacts)
        seen.update((c.id, c.properties["jobtitle"]) for c in page.contacts)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == {contact_id: f"T{contact_id}" for contact_id in ids}
    # Every page is a fresh query for ids above the last one read: no query pages past the
    # cap (a 400) and no contact is read twice.
    assert read == len(ids)
    assert pages == crm.calls[SEARCH_ROUTE] == -(-len(ids) // 200)
    assert all(record.status == 200 for record in crm.call_log if record.route == SEARCH_ROUTE)


def test_a_contact_edited_mid_pull_is_never_skipped(
    crm: HubSpotSandbox, connector: HubSpotConnector
) -> None:
    ids = crm.seed_contacts(700, seed=43)
    since = datetime.now(UTC) - timedelta(seconds=1)
    for contact_id in ids:
        crm.store.set_properties(contact_id, {"jobtitle": "edited"})
    first = connector.read_changed_contacts_page(["jobtitle"], since, None)
    # A person edits a contact the pull has already read: it moves to the end of the order.
    crm.store.set_properties(first.contacts[0].id, {"jobtitle": "edited again"})
    seen = {contact.id for contact in first.contacts}
    cursor = first.next_cursor
    while cursor is not None:
        page = connector.read_changed_contacts_page(["jobtitle"], since, cursor)
        seen |= {contact.id for contact in page.contacts}
        cursor = page.next_cursor
    assert seen == set(ids)


def test_rate_limit_headers_are_exposed(crm: HubSpotSandbox, connector: HubSpotConnector) -> None:
    crm.seed_contacts(5, seed=42)
    connector.read_contacts_page(["email"], None)
    status = connector.rate_limit_status()
    assert (status.window_max, status.window_seconds, status.daily_max) == (190, 10.0, 625_000)
    assert status.window_remaining == 190 - crm.calls["GET /crm/v3/objects/contacts"]


@pytest.mark.parametrize(
    ("policy", "scope", "retry_after"),
    [("TEN_SECONDLY_ROLLING", "ten_secondly", 10.0), ("DAILY", "daily", float("inf"))],
)
def test_429_bodies_become_rate_limited_errors_with_their_scope(
    crm: HubSpotSandbox, connector: HubSpotConnector, policy: str, scope: str, retry_after: float
) -> None:
    crm.inject_faults(status=429, route="GET /crm/v3/objects/contacts", policy=policy)
    with pytest.raises(RateLimited) as caught:
        connector.read_contacts_page(["email"], None)
    assert (caught.value.scope, caught.value.retry_after) == (scope, retry_after)


def test_server_errors_and_dropped_connections_are_transient(
    crm: HubSpotSandbox, connector: HubSpotConnector
) -> None:
    crm.inject_faults(status=502, route="GET /crm/v3/objects/contacts")
    with pytest.raises(Transient, match="HTTP 502"):
        connector.read_contacts_page(["email"], None)
    crm.inject_faults(status="disconnect", route="GET /crm/v3/objects/contacts")
    with pytest.raises(Transient, match="connection failed"):
        connector.read_contacts_page(["email"], None)


def test_a_wrong_token_is_auth_failed(crm: HubSpotSandbox) -> None:
    from tests.conftest import hubspot_settings

    wrong = HubSpotConnector(hubspot_settings(crm, token="pat-wrong"))
    with pytest.raises(AuthFailed, match="rejected the access token"):
        wrong.describe_fields()
    with pytest.raises(AuthFailed, match="No HubSpot token"):
        HubSpotConnector(hubspot_settings(crm, token=None))


def test_adding_an_option_keeps_the_labels_hidden_flags_and_order_an_admin_edited(
    crm: HubSpotSandbox, connector: HubSpotConnector
) -> None:
    field = SegmentField("segsync_segment", "Segment", "", "single_select", ("A", "B"))
    connector.ensure_segment_field(field)
    edited = crm.store.property("segsync_segment")
    assert edited is not None
    edited["options"] = [
        {"label": "Alpha accounts", "value": "A", "description": "by an admin",
         "displayOrder": 5, "hidden": False},
        {"label": "B", "value": "B", "description": "", "displayOrder": 2, "hidden": True},
    ]
    crm.store.put_property(edited)

    connector.ensure_segment_field(dataclasses.replace(field, options=("A", "B", "C")))

    after = crm.store.property("segsync_segment")
    assert after is not None and after["options"] == [
        {"label": "Alpha accounts", "value": "A", "description": "by an admin",
         "displayOrder": 5, "hidden": False},
        {"label": "B", "value": "B", "description": "", "displayOrder": 2, "hidden": True},
        {"label": "C", "value": "C", "description": "", "displayOrder": 6, "hidden": False},
    ]


class _Answer:
    """What the SDK hands back for ``_preload_content=False``: urllib3's raw response."""

    def __init__(self, body: bytes) -> None:
        self.headers = {"Content-Type": "application/json;charset=utf-8"}
        self.data = body

    def release_conn(self) -> None:
        pass


class _ListingApi:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def get_page_with_http_info(self, **_: object) -> _Answer:
        return _Answer(self.body)


def _page_of(body: bytes) -> object:
    from connectors.hubspot.calls import HubSpotCalls
    from connectors.hubspot.pulls import ContactPulls

    pulls = ContactPulls(HubSpotCalls(5.0), _ListingApi(body), search_api=None)
    return pulls.read_page(["employees", "jobtitle"], None, 100)


def test_a_page_is_read_from_hubspots_json_with_every_value_as_text() -> None:
    body = (
        b'{"results": [{"id": "7", "properties": {"employees": 12, "jobtitle": null,'
        b' "lastmodifieddate": "2026-12-01T10:00:00.000Z"}}],'
        b' "paging": {"next": {"after": "8"}}}'
    )
    page = _page_of(body)
    [contact] = page.contacts  # type: ignore[attr-defined]
    assert contact.id == "7"
    assert contact.properties == {
        "employees": "12",
        "jobtitle": None,
        "lastmodifieddate": "2026-12-01T10:00:00.000Z",
    }
    assert contact.modified_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert page.next_cursor == "8"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b"<html>Service unavailable</html>",
        b'{"results": [{"id": 7, "properties": {}}]}',
        b'{"results": [{"id": "7", "properties": ["x"]}]}',
        b'{"results": [{"id": "7", "prop',
    ],
)
def test_a_page_that_is_not_hubspots_json_is_transient(body: bytes) -> None:
    with pytest.raises(Transient, match="read contacts: the answer was not HubSpot's JSON"):
        _page_of(body)
