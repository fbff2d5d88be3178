"""Full pulls of big HubSpot portals through the CRM exports API, not thousands of pages.

Above ``export_above_contacts`` contacts (the CRM's own count, which the connector reads for
every full pull anyway), a full pull starts one export (``POST /crm/v3/exports/export/async``
through the SDK's ``crm.exports``), polls its status (``GET .../tasks/{taskId}/status``) with
growing waits until COMPLETE, within ``export_wait_seconds``, downloads the file its ``result``
link names (a plain GET of a pre-signed URL: no token, outside the rate limit), and serves its
rows as the pull's pages. A million contacts then cost a handful of calls instead of 10,000.

What HubSpot documents, and what this relies on (the CRM Exports v3 OpenAPI spec, the exports
guide and the changelog, checked 2026-12-02):

* The export needs the ``crm.export`` scope (spec ``security``; for an OAuth app the installing
  user must be a Super Admin). Without it the start is refused with 403 ``MISSING_SCOPES``:
  the pull then pages as before, after one warning line, and this connector does not ask again.
* The body: ``exportType`` VIEW (every record of the object; LIST needs a ``listId``),
  ``format`` CSV (XLS and XLSX exist), ``exportName``, ``objectType`` CONTACT,
  ``objectProperties``, ``language`` EN, ``exportInternalValuesOptions`` [NAMES, VALUES] so
  the header names properties by internal name (not label) and enumerations hold their
  internal values (not labels): the same text the v3 objects API returns.
* Statuses PENDING, PROCESSING, COMPLETE, CANCELED; ``result`` is the file's URL once
  COMPLETE. A CANCELED export (or one with an unknown status) is ``ExportFailed``, a
  ``Transient``: the retried page starts a new export. Never a partial pull.
* Above 1,000,000 rows the file is a zip of CSVs of up to 1,000,000 rows each (XLS: 65,000)
  (changelog "Large Export Partitioning and Association Limits", April 2025); a zip is told by
  its magic bytes, whatever the link's name, and every CSV in it is read.
* Not in the material checked, so handled both ways: the id column's header (``Record ID``, as
  in HubSpot's in-app exports, or ``hs_object_id``, which is always asked for); a UTF-8 BOM
  (read with ``utf-8-sig``); the guide's limits on exports a day and at once (the connector
  starts one export per full pull and resumes it on a retry rather than starting another).
* The download link is fetched with a plain GET through the SDK's connection pool, without
  the token (a pre-signed link needs none, and the file host must not see it).

A row becomes exactly the ``Contact`` a page of ``GET /crm/v3/objects/contacts`` would: the
same id, every requested property the portal has (the header's columns) as text, an empty
cell as None (HubSpot returns no empty strings: "" clears a value), built by the connector's
own ``contact_record``. CSV quoting carries commas, quotes, newlines and formula-like text as is.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import urllib3

from connectors.base import AuthFailed, ConnectorError, Contact, ContactPage, Transient
from connectors.deadline import within_deadline
from connectors.hubspot.errors import parse_body, translate
from connectors.hubspot.pulls import MERGED_IDS_PROPERTY, contact_record

if TYPE_CHECKING:
    from connectors.hubspot.calls import HubSpotCalls
    from connectors.hubspot.settings import HubSpotSettings

log = logging.getLogger(__name__)

EXPORT_SCOPE = "crm.export"
CURSOR_PREFIX = "export:"
"""Cursors of pages served from an export: ``export:<task id>:<rows served>``."""
PAGE_ROWS = 1000
"""Contacts per page handed to the pull (pages only pace progress; the file is local)."""
SYSTEM_PROPERTIES = ("createdate", "hs_object_id", "lastmodifieddate")
"""What the v3 objects API returns with every contact, asked for so the rows carry them too."""
ID_COLUMNS = ("Record ID", "hs_object_id")
POLL_WAITS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Seconds between status polls; the last repeats. HubSpot documents no timing."""
RUNNING = ("PENDING", "PROCESSING")
ZIP_MAGIC = b"PK\x03\x04"
CHUNK_BYTES = 1 << 20


class ExportFailed(Transient):
    """HubSpot ended the export without a file (CANCELED): retrying starts a new one."""


class ExportTimedOut(ConnectorError):
    """The export was still running at ``export_wait_seconds``: the run ends, pulling nothing
    (a later full pull by this connector resumes the same export)."""


@dataclass
class _Served:
    """An export being read: its task, the fields it holds, its rows and how many went out."""

    task_id: str
    fields: tuple[str, ...]
    rows: Iterator[Contact] | None = None
    file: IO[bytes] | None = None
    served: int = 0

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class ExportPull:
    """The export branch of ``HubSpotConnector.read_contacts_page``.

    ``page`` answers a full pull's page when an export serves it, else None (page as usual).
    ``counted`` is the CRM's latest contact count, noted by ``count_contacts``.
    """

    def __init__(
        self,
        calls: HubSpotCalls,
        api: Any,
        settings: HubSpotSettings,
        count_contacts: Callable[[], int],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.counted: int | None = None
        self._calls = calls
        self._settings = settings
        self._count_contacts = count_contacts
        self.api = api
        self._sleep = sleep
        self._scope_missing = False
        self._current: _Served | None = None

    def page(self, fields: Sequence[str], cursor: str | None) -> ContactPage | None:
        """The next page of the export for ``cursor``; None when this pull pages instead."""
        if cursor is None:
            if not self.wanted():
                return None
            if not self._open(tuple(fields)):
                return None
        elif not cursor.startswith(CURSOR_PREFIX):
            return None
        current = self._current
        if current is None or current.rows is None or (
            cursor is not None and cursor != f"{CURSOR_PREFIX}{current.task_id}:{current.served}"
        ):
            raise ConnectorError(f"HubSpot export: the cursor {cursor!r} is not the export's next "
                                 "page; the pull must start again")
        contacts = [contact for _, contact in zip(range(PAGE_ROWS), current.rows, strict=False)]
        current.served += len(contacts)
        if len(contacts) < PAGE_ROWS:
            current.close()
            self._current = None
            return ContactPage(contacts=contacts, next_cursor=None)
        return ContactPage(
            contacts=contacts, next_cursor=f"{CURSOR_PREFIX}{current.task_id}:{current.served}"
        )

    def wanted(self) -> bool:
        """Whether this full pull should export: big enough, and the scope not known missing."""
        if self._scope_missing:
            return False
        count = self.counted if self.counted is not None else self._count_contacts()
        return count > self._settings.export_above_contacts

    def _open(self, fields: tuple[str, ...]) -> bool:
        """Run the export to a downloaded file, resuming the one a failed attempt left (a retry
        of the first page must not spend another of the day's exports). False: no scope."""
        current = self._current
        if current is None or current.fields != fields or current.rows is not None:
            if current is not None:
                current.close()
            task_id = self._start(fields)
            if task_id is None:
                return False
            self._current = current = _Served(task_id, fields)
        deadline = time.monotonic() + self._settings.export_wait_seconds
        link = self._wait(current.task_id, deadline)
        current.file = self._download(link, deadline)
        current.rows = _contacts(current.file, frozenset(_requested(fields)))
        return True

    def _start(self, fields: tuple[str, ...]) -> str | None:
        body = {
            "exportType": "VIEW",
            "format": "CSV",
            "exportName": "segsync full pull",
            "objectType": "CONTACT",
            "objectProperties": _requested(fields),
            "associatedObjectType": [],
            "language": "EN",
            "exportInternalValuesOptions": ["NAMES", "VALUES"],
        }
        try:
            located = self._calls.call("start export", self.api.start_with_http_info, body)
        except AuthFailed as exc:
            if not _missing_scopes(exc):
                raise
            self._scope_missing = True
            log.warning(
                "HubSpot full pull: the token lacks the %s scope, so %s contacts are read page "
                "by page instead of by one export; grant %s to the Service Key to export.",
                EXPORT_SCOPE, self.counted if self.counted is not None else "the",
                EXPORT_SCOPE,
            )
            return None
        return str(located.id)

    def _wait(self, task_id: str, deadline: float) -> str:
        """Poll until COMPLETE, with growing waits; the file's link."""
        for attempt in itertools.count():
            status = self._calls.call(
                "read export status", self.api.get_status_with_http_info, task_id
            )
            if status.status == "COMPLETE" and status.result:
                return str(status.result)
            if status.status not in RUNNING:
                self._current = None
                raise ExportFailed(f"HubSpot export {task_id} ended {status.status} without a "
                                   "file; a new export is started on retry")
            wait = POLL_WAITS[min(attempt, len(POLL_WAITS) - 1)]
            if time.monotonic() + wait > deadline:
                break
            self._sleep(wait)
        limit = self._settings.export_wait_seconds
        raise ExportTimedOut(
            f"HubSpot export {task_id} did not finish within {limit:g} s (export_wait_seconds); "
            "nothing was pulled"
        )

    def _download(self, link: str, deadline: float) -> IO[bytes]:
        """The file at ``link``, streamed to a temporary file (a million rows need not fit in
        memory twice). Any failure is ``Transient``: the retry re-reads the status for a fresh
        link of the same export."""
        pool = self.api.api_client.rest_client.pool_manager
        timeout = self._settings.timeout_seconds

        def fetch() -> IO[bytes]:
            response = pool.request("GET", link, preload_content=False, timeout=timeout)
            try:
                if response.status != 200:
                    raise Transient(f"HubSpot export download: HTTP {response.status}")
                spooled = tempfile.TemporaryFile()  # closed by _Served.close
                for chunk in response.stream(CHUNK_BYTES):
                    spooled.write(chunk)
                spooled.seek(0)
                return spooled
            finally:
                response.release_conn()

        remaining = max(deadline - time.monotonic(), timeout)
        try:
            return within_deadline(fetch, remaining, "HubSpot export download")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise translate(exc, "export download") from exc


def _requested(fields: Sequence[str]) -> list[str]:
    """What a page of the objects API would return: the fields, the merge trail, the system
    properties (the connector's paged read asks for the first two and always gets the rest)."""
    return list(dict.fromkeys([*fields, MERGED_IDS_PROPERTY, *SYSTEM_PROPERTIES]))


def _missing_scopes(exc: AuthFailed) -> bool:
    """Whether a 403 was HubSpot's ``MISSING_SCOPES`` (not a refused token)."""
    cause = exc.__cause__
    return getattr(cause, "status", None) == 403 and parse_body(
        getattr(cause, "body", None)
    ).get("category") == "MISSING_SCOPES"


def _contacts(file: IO[bytes], requested: frozenset[str]) -> Iterator[Contact]:
    """Every row of the export file (a CSV, or a zip of CSVs read in name order)."""
    head = file.read(len(ZIP_MAGIC))
    file.seek(0)
    if head != ZIP_MAGIC:
        yield from _csv_contacts(file, requested)
        return
    with zipfile.ZipFile(file) as archive:
        for name in sorted(archive.namelist()):
            if name.lower().endswith(".csv"):
                with archive.open(name) as member:
                    yield from _csv_contacts(member, requested)


def _csv_contacts(raw: IO[bytes], requested: frozenset[str]) -> Iterator[Contact]:
    """One CSV's rows as contacts. A column that is no requested property's internal name (a
    label: the export ignored ``NAMES``) is refused: its values could not be told apart."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    id_column = next((i for i, name in enumerate(header) if name in ID_COLUMNS), None)
    if id_column is None:
        raise ConnectorError(f"HubSpot export: no record id column in {header[:5]}")
    names = [(i, name) for i, name in enumerate(header) if name != ID_COLUMNS[0]]
    strangers = [name for _, name in names if name not in requested]
    if strangers:
        raise ConnectorError(f"HubSpot export: columns {strangers[:5]} are not the internal "
                             "names asked for")
    for row in reader:
        if len(row) != len(header):
            raise ConnectorError(
                f"HubSpot export: a row has {len(row)} cells where the header has {len(header)}"
            )
        properties = {name: row[i] or None for i, name in names}
        yield contact_record(row[id_column], properties)
