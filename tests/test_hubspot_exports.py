"""Big HubSpot portals through the CRM exports API (issue #14, item 5).

Above ``export_above_contacts`` a full pull reads one export instead of pages: the portals
here are small and the threshold low. The export must give exactly the contacts a paged pull
gives, fall back to paging without the ``crm.export`` scope, never pass a failed or partial
export off as a complete pull, and leave the CRM as paging does. Everything runs through the
real SDK over HTTP against the sandbox's exports API.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hubspot import HubSpot
from pydantic import SecretStr
from typer.testing import CliRunner

from connectors.base import ConnectorError, Contact
from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.hubspot.exports import ExportFailed, ExportTimedOut
from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.hubspot.scopes import ALL_SCOPES
from sync.cli import app
from sync.progress import SilentProgress
from sync.pull import pull_contacts
from sync.retry import Retrier
from tests.conftest import TOKEN, write_hubspot_config, writes_among
from tests.expectations import FAST_RETRY, SEGMENTS, assert_crm_holds_desired_state, sync
from tests.test_identity import remembered

START = "POST /crm/v3/exports/export/async"
STATUS = "GET /crm/v3/exports/export/async/tasks/{taskId}/status"
DOWNLOAD = "GET /sandbox/export-files/{fileKey}"
PAGE = "GET /crm/v3/objects/contacts"
FIELDS = ["email", "firstname", "city", "jobtitle", "lifecyclestage", "employees",
          "hs_email_open", "no_such_property"]
HOSTILE = {
    "firstname": 'O"Brien, "Bob"',
    "city": "Zürich\nline two\r\nline three",
    "jobtitle": "=HYPERLINK(\"http://x\")",
    "email": "+33 1, \u00e9t\u00e9@example.com",
}
runner = CliRunner()


def connector(crm: HubSpotSandbox, above: int = 200_000) -> HubSpotConnector:
    return HubSpotConnector(HubSpotSettings(
        base_url=crm.base_url, token=SecretStr(TOKEN), timeout_seconds=5,
        export_above_contacts=above,
    ))


def pages(hubspot: HubSpotConnector, fields: list[str]) -> Iterator[list[Contact]]:
    cursor: str | None = None
    while True:
        page = hubspot.read_contacts_page(fields, cursor)
        yield page.contacts
        if (cursor := page.next_cursor) is None:
            return


def pulled(hubspot: HubSpotConnector, fields: list[str] = FIELDS) -> list[Contact]:
    return [contact for page in pages(hubspot, fields) for contact in page]


def hostile_portal(crm: HubSpotSandbox, contacts: int, seed: int) -> list[str]:
    """A seeded portal whose first contacts hold text that breaks naive CSV handling, one with
    every field cleared, and one made by a merge (of ``ids[6]`` and ``ids[7]``, listed last)."""
    ids = crm.seed_contacts(contacts, seed=seed)
    for offset, (name, value) in enumerate(HOSTILE.items()):
        crm.store.set_properties(ids[offset], {name: value, "lifecyclestage": "lead"})
    crm.store.set_properties(ids[5], dict.fromkeys(["email", "firstname", "city", "jobtitle",
                                                    "lifecyclestage", "employees"], ""))
    return [*ids, crm.store.merge_contacts(ids[6], ids[7])]


def crm_writes(crm: HubSpotSandbox) -> dict[str, int]:
    """The calls that change the CRM: starting an export only reads it."""
    return {route: n for route, n in writes_among(crm.calls).items() if route != START}


def pages_read(crm: HubSpotSandbox) -> int:
    """Pages of live contacts read (not the archive, which a run reads for deletions)."""
    return sum(1 for c in crm.call_log if c.route == PAGE and "archived=True" not in c.query)


def calls(crm: HubSpotSandbox) -> Counter[str]:
    return Counter({route: crm.calls[route] for route in (START, STATUS, DOWNLOAD, PAGE)})


# -- the pull ---------------------------------------------------------------------------------


def test_an_export_pull_is_the_paged_pull_value_for_value(crm: HubSpotSandbox) -> None:
    ids = hostile_portal(crm, 230, seed=71)

    paged = pulled(connector(crm))
    assert calls(crm) == Counter({PAGE: 3})
    exporting = connector(crm, above=10)
    exported = pulled(exporting)

    assert exported == paged  # ids, every property value as text, None for unset, merges
    assert len(exported) == 229 == len(ids) - 2  # 230 seeded, two merged into a new one
    assert calls(crm) == Counter({PAGE: 3, START: 1, STATUS: 3, DOWNLOAD: 1})
    by_id = {contact.id: contact for contact in exported}
    for offset, (name, value) in enumerate(HOSTILE.items()):
        assert by_id[ids[offset]].properties[name] == value
        assert by_id[ids[offset]].properties["lifecyclestage"] == "lead"  # the value, no label
    assert by_id[ids[5]].properties["city"] is None
    assert "no_such_property" not in by_id[ids[5]].properties
    assert set(by_id[ids[-1]].merged_from) == {ids[6], ids[7]}
    assert [len(page) for page in pages(exporting, FIELDS)] == [229]  # one export, one page


def test_the_pull_frame_is_the_same_through_the_export(crm: HubSpotSandbox) -> None:
    hostile_portal(crm, 120, seed=72)
    retrier = Retrier(FAST_RETRY)
    fields = FIELDS[:-1]

    paged, paged_times = pull_contacts(connector(crm), fields, retrier, SilentProgress())
    exported, times = pull_contacts(connector(crm, above=0), fields, retrier, SilentProgress())

    assert exported.equals(paged)
    assert times.equals(paged_times)
    assert crm.calls[START] == 1


def test_files_split_at_the_row_limit_are_all_read(crm: HubSpotSandbox) -> None:
    crm.seed_contacts(2300, seed=73)
    crm.exports.row_limit = 1000
    exporting = connector(crm, above=0)

    sizes = [len(page) for page in pages(exporting, FIELDS)]

    [export_file] = crm.exports.files.values()
    with zipfile.ZipFile(io.BytesIO(export_file.body)) as archive:
        rows = [
            sum(1 for _ in csv.reader(io.TextIOWrapper(archive.open(name), newline=""))) - 1
            for name in sorted(archive.namelist())
        ]
    assert rows == [1000, 1000, 300]
    assert sizes == [1000, 1000, 300]
    exported = pulled(exporting)
    assert exported == pulled(connector(crm))
    assert len({contact.id for contact in exported}) == 2300


def test_a_failed_poll_or_download_resumes_the_same_export(crm: HubSpotSandbox) -> None:
    crm.seed_contacts(150, seed=81)
    crm.inject_faults(503, route=STATUS)
    crm.inject_faults("disconnect", route=DOWNLOAD)

    frame, _ = pull_contacts(connector(crm, above=0), FIELDS[:3], Retrier(FAST_RETRY),
                             SilentProgress())

    assert len(frame) == 150
    assert crm.exports.started() == 1  # not one of the day's exports more
    assert [c.status for c in crm.call_log if c.route == DOWNLOAD] == [0, 200]


def test_an_export_still_running_at_the_wait_limit_ends_the_pull(crm: HubSpotSandbox) -> None:
    crm.seed_contacts(10, seed=83)
    crm.exports.polls_to_complete = 1000
    slow = HubSpotConnector(HubSpotSettings(
        base_url=crm.base_url, token=SecretStr(TOKEN), export_above_contacts=0,
        export_wait_seconds=0.1,  # under the first wait between polls
    ))

    with pytest.raises(ExportTimedOut, match="did not finish within 0.1 s"):
        pulled(slow)
    assert (crm.exports.started(), crm.calls[STATUS], pages_read(crm)) == (1, 1, 0)


def test_a_stale_export_cursor_is_refused(crm: HubSpotSandbox) -> None:
    crm.seed_contacts(10, seed=82)
    exporting = connector(crm, above=0)
    exporting.read_contacts_page(FIELDS, None)

    with pytest.raises(ConnectorError, match="is not the export's next page"):
        exporting.read_contacts_page(FIELDS, "export:88000001:1000")


def test_below_the_threshold_and_in_incremental_pulls_nothing_is_exported(
    crm: HubSpotSandbox,
) -> None:
    crm.seed_contacts(50, seed=74)
    at_threshold = connector(crm, above=50)

    assert len(pulled(at_threshold)) == 50  # "above 50": 50 contacts still page
    exporting = connector(crm, above=0)
    from datetime import UTC, datetime

    changed = exporting.read_changed_contacts_page(FIELDS, datetime(2000, 1, 1, tzinfo=UTC), None)

    assert len(changed.contacts) == 50
    assert crm.calls[START] == 0


def test_a_missing_export_scope_pages_instead_after_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with HubSpotSandbox(token=TOKEN, scopes=ALL_SCOPES - {"crm.export"}) as crm:
        crm.seed_contacts(150, seed=75)
        hubspot = connector(crm, above=0)
        with caplog.at_level(logging.WARNING):
            first = pulled(hubspot)
            second = pulled(hubspot)
        paged = pulled(connector(crm))
        refused = [c.status for c in crm.call_log if c.route == START]

    assert first == second == paged
    assert refused == [403]  # asked once; the connector remembers the scope is missing
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "lacks the crm.export scope" in warning.getMessage()
    assert "\n" not in warning.getMessage()


def test_a_cancelled_export_is_retried_as_a_new_one_never_a_partial_pull(
    crm: HubSpotSandbox,
) -> None:
    crm.seed_contacts(120, seed=76)
    crm.exports.cancel_next(1)

    frame, _ = pull_contacts(connector(crm, above=0), FIELDS[:3], Retrier(FAST_RETRY),
                             SilentProgress())

    assert len(frame) == 120
    assert crm.exports.started() == 2
    crm.exports.cancel_next(100)
    with pytest.raises(ExportFailed, match="ended CANCELED"):
        pull_contacts(connector(crm, above=0), FIELDS[:3], Retrier(FAST_RETRY),
                      SilentProgress())
    assert crm.exports.started() == 2 + FAST_RETRY.attempts
    assert crm.calls[PAGE] == 0


# -- whole syncs ------------------------------------------------------------------------------


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["sync", "--config", str(config), *args])
    return result.exit_code, result.output


def test_a_failed_export_leaves_the_state_and_the_crm_as_they_were(
    crm: HubSpotSandbox, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(120, seed=77)
    assert sync(connector(crm, above=0), crm, tmp_path).status == "done"
    before = remembered(tmp_path)
    writes_before = crm_writes(crm)
    crm.store.set_properties(ids[0], {"employees": "5000"})  # a change the run would write
    crm.exports.cancel_next(100)

    with pytest.raises(ExportFailed, match="ended CANCELED"):
        sync(connector(crm, above=0), crm, tmp_path, full=True)

    assert remembered(tmp_path) == before
    assert crm_writes(crm) == writes_before
    assert (crm.exports.started(), pages_read(crm)) == (1 + FAST_RETRY.attempts, 0)


def test_an_export_cut_short_trips_the_absence_guardrail(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = crm.seed_contacts(120, seed=78)
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    monkeypatch.setenv("SEGSYNC_HUBSPOT__EXPORT_ABOVE_CONTACTS", "0")
    config = write_hubspot_config(tmp_path, crm.base_url)
    assert cli(config)[0] == 0
    before = remembered(tmp_path)
    writes_before = crm_writes(crm)
    crm.cut_listing(100)  # the export file holds 100 of the 120 contacts the CRM counts

    code, output = cli(config, "--full")

    assert code == 4, output
    assert output.splitlines()[-1] == (
        "Guardrail: the pull ended early: it returned 100 of the 120 contacts the CRM counts "
        "(83%), so the others cannot be checked. Nothing was written; rerun with --force if "
        "this is intended."
    ), output
    assert remembered(tmp_path) == before
    assert crm_writes(crm) == writes_before
    assert (crm.exports.started(), pages_read(crm)) == (2, 0)
    assert remembered(tmp_path)["mirror"] == set(ids)


def crm_state(crm: HubSpotSandbox, ids: list[str]) -> dict[str, Any]:
    """Every contact's values but its modification time (the sandboxes' clocks differ), and
    the members of every segment's list."""
    contacts = {
        i: {k: v for k, v in crm.store.contact(i).items() if k != "lastmodifieddate"}
        for i in ids
    }
    lists = {}
    for segment in SEGMENTS:
        found = crm.store.list_by_name(f"segsync: {segment['name']}")
        lists[segment["name"]] = crm.store.list_members(found["listId"]) if found else None
    return {"contacts": contacts, "lists": lists}


def test_a_sync_through_the_export_leaves_the_crm_as_a_paged_sync_does(tmp_path: Path) -> None:
    states = []
    for above in (0, 200_000):
        with HubSpotSandbox(token=TOKEN) as crm:
            ids = hostile_portal(crm, 300, seed=79)
            outcome = sync(connector(crm, above=above), crm, tmp_path / str(above))
            assert outcome.status == "done"
            live = ids[:6] + ids[8:]
            assert_crm_holds_desired_state(crm, live)
            assert crm.calls[START] == (1 if above == 0 else 0)
            states.append(crm_state(crm, live))
    assert states[0] == states[1]


# -- the sandbox's exports API ----------------------------------------------------------------


def exports_api(crm: HubSpotSandbox) -> Any:
    return HubSpot(access_token=TOKEN, host=crm.base_url).crm.exports.public_exports_api


def view_export(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "exportType": "VIEW", "format": "CSV", "exportName": "all contacts",
        "objectType": "CONTACT", "objectProperties": ["firstname", "lifecyclestage"],
        "language": "EN", "exportInternalValuesOptions": ["NAMES", "VALUES"],
    }
    return {k: v for k, v in {**body, **changes}.items() if v is not None}


def test_the_sandbox_export_task_runs_pending_processing_complete(crm: HubSpotSandbox) -> None:
    [contact] = crm.seed_contacts(1, seed=80)
    crm.store.set_properties(contact, {"firstname": "Ann, \"A\"", "lifecyclestage": "lead"})
    api = exports_api(crm)

    located, code, headers = api.start_with_http_info(view_export())
    statuses = [api.get_status(located.id) for _ in range(4)]

    assert code == 202
    assert "X-HubSpot-RateLimit-Remaining" in headers  # counted like any API call
    assert [s.status for s in statuses] == ["PENDING", "PROCESSING", "COMPLETE", "COMPLETE"]
    assert [s.result is None for s in statuses] == [True, True, False, False]
    assert statuses[2].result == statuses[3].result
    downloaded = api.api_client.rest_client.pool_manager.request("GET", statuses[2].result)
    assert downloaded.data.decode() == (
        f'Record ID,firstname,lifecyclestage\r\n{contact},"Ann, ""A""",lead\r\n'
    )
    labelled = api.start(view_export(exportInternalValuesOptions=[]))
    for _ in range(3):
        done = api.get_status(labelled.id)
    text = api.api_client.rest_client.pool_manager.request("GET", done.result).data.decode()
    assert text.splitlines()[0] == "Record ID,First Name,Lifecycle Stage"
    assert text.splitlines()[1].endswith(",Lead")  # the option's label without VALUES


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"exportType": "TABLE"}, "'exportType' must be one of"),
        ({"format": None}, "'format' must be one of"),
        ({"exportName": ""}, "'exportName' is required"),
        ({"objectProperties": "email"}, "'objectProperties' must be an array of strings"),
        ({"objectProperties": []}, "must name at least one property"),
        ({"language": "KLINGON"}, "'language' must be one of"),
        ({"exportInternalValuesOptions": ["IDS"]}, "exportInternalValuesOptions must be among"),
        ({"exportType": "LIST"}, "needs the 'listId'"),
        ({"objectType": "DEAL"}, "exports contacts only"),
        ({"includeLabeledAssociations": "yes"}, "must be a boolean"),
    ],
)
def test_the_sandbox_refuses_malformed_export_bodies_as_hubspot_does(
    crm: HubSpotSandbox, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(Exception) as refused:  # noqa: PT011 - each API package has its own class
        exports_api(crm).start(view_export(**changes))

    body = json.loads(refused.value.body)  # type: ignore[attr-defined]
    assert refused.value.status == 400  # type: ignore[attr-defined]
    assert (body["status"], body["category"]) == ("error", "VALIDATION_ERROR")
    assert message in body["message"]
    assert crm.exports.started() == 0


def test_the_sandbox_export_needs_the_export_scope() -> None:
    with HubSpotSandbox(token=TOKEN, scopes=ALL_SCOPES - {"crm.export"}) as crm:
        with pytest.raises(Exception) as refused:  # noqa: PT011 - see above
            exports_api(crm).start(view_export())
        with pytest.raises(Exception) as status_refused:  # noqa: PT011 - see above
            exports_api(crm).get_status("1")

    body = json.loads(refused.value.body)  # type: ignore[attr-defined]
    assert (refused.value.status, body["category"]) == (403, "MISSING_SCOPES")  # type: ignore[attr-defined]
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.export"]
    assert status_refused.value.status == 403  # type: ignore[attr-defined]
