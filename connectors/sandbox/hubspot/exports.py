"""The CRM exports API of the sandbox HubSpot portal: an export task, its status, its file.

What it serves, and where each behaviour comes from:

* ``POST /crm/v3/exports/export/async`` → 202 with a ``TaskLocator`` ``{id, links}``
  (HubSpot's public OpenAPI spec, CRM Exports v3). The body is a view export (``exportType``
  ``VIEW``) or a list export (``LIST`` with ``listId``); ``format`` is one of CSV, XLS, XLSX,
  ``language`` one of the spec's codes, ``exportInternalValuesOptions`` a subset of ``NAMES``
  (headers are internal property names, not labels) and ``VALUES`` (enumeration values, not
  their labels). The spec also marks the association flags as required; the guide's own
  examples leave them out, so they are type-checked when present and not demanded. The sandbox
  serves contacts (``CONTACT``, ``contacts`` or ``0-1``) in CSV only: anything else is a 400.
  A malformed body is HubSpot's 400 ``VALIDATION_ERROR`` envelope (messages are sandbox text).
* ``GET /crm/v3/exports/export/async/tasks/{taskId}/status`` → 200
  ``ActionResponseWithSingleResultURI``: ``status`` PENDING, PROCESSING, COMPLETE or CANCELED,
  the required ``startedAt``/``completedAt``, and on COMPLETE ``result``, the file's URL (spec).
  The task here moves PENDING → PROCESSING → COMPLETE over ``polls_to_complete`` polls, or
  more while its file is still being built (a sandbox choice: HubSpot gives no timing). The
  file is built in the background from the contacts as they are when the export starts.
* Both need the ``crm.export`` scope (spec ``security``; the guide says an OAuth installer
  must be a Super Admin to grant it) and count toward the rate limit like any API call: the
  routes are in ``scopes.EXPORT_ROUTE_SCOPES`` and go through ``HubSpotSandbox._serve``.
* The file: one CSV, or, above ``row_limit`` rows (1,000,000: HubSpot's changelog "Large
  Export Partitioning and Association Limits for the CRM Export API", April 2025), a zip of
  CSV files of at most ``row_limit`` rows each. Every file starts with a header row; the first
  column is ``Record ID`` (as HubSpot's exports name it), then the requested properties the
  portal defines, in the order asked (unknown names are left out, as reads ignore them). An
  unset value is an empty cell. Values are written as the v3 API returns them (sandbox choice:
  HubSpot does not document how an export formats dates). Rows are in ascending id order.
* The download link is a plain URL served without a bearer token and outside the rate limit,
  as HubSpot's pre-signed file links are (``DOWNLOAD_ROUTE``; ``HubSpotSandbox`` exempts it).

Test hooks: ``cancel_next`` ends the next exports CANCELED instead of COMPLETE, and a contact
listing cut (``HubSpotSandbox.cut_listing``) cuts an export's rows too, as it cuts every listing.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.hubspot.api import (
    ApiError,
    _guarded,
    _json_body,
    _not_found,
    _validation,
)
from connectors.sandbox.hubspot.store import ContactRecord, HubSpotStore
from connectors.sandbox.limits import ListingCut
from connectors.sandbox.server import Request, Response, Router, json_response
from connectors.sandbox.timestamps import iso_from_ms

START_ROUTE = "POST /crm/v3/exports/export/async"
STATUS_ROUTE = "GET /crm/v3/exports/export/async/tasks/{taskId}/status"
DOWNLOAD_ROUTE = "GET /sandbox/export-files/{fileKey}"
"""Where finished files are served: no token, no rate limit (a pre-signed link's stand-in)."""

RUNNING = ("PENDING", "PROCESSING")
BUILD_WAIT_SECONDS = 2.0
"""How long the poll that may complete a task waits for its file (a sandbox choice: small
files are ready in milliseconds, so tests see the same statuses every time; a big one keeps
the task PROCESSING until it is built, as HubSpot's would)."""
ROW_LIMIT = 1_000_000
"""Rows per file before an export is partitioned into a zip (HubSpot changelog, 2025-04)."""
EXPORT_TYPES = ("VIEW", "LIST")
FORMATS = ("CSV", "XLS", "XLSX")
LANGUAGES = frozenset({
    "AF_ZA", "AR_EG", "BG", "BN", "CA_ES", "CS", "DA_DK", "DE", "EL_GR", "EN", "EN_GB", "ES",
    "ES_MX", "ET_EE", "FI", "FR", "FR_CA", "HE_IL", "HI_IN", "HR", "HU", "ID", "IT", "JA",
    "KO_KR", "LT_LT", "MS", "NL", "NO", "PL", "PT_BR", "PT_PT", "RO", "RU", "SK_SK", "SL",
    "SV", "TH", "TL", "TR", "UK", "VI_VN", "ZH_CN", "ZH_HK", "ZH_TW",
})
"""The ``language`` values of the v3 spec's request schemas."""
INTERNAL_OPTIONS = ("NAMES", "VALUES")
CONTACT_TYPES = ("CONTACT", "CONTACTS", "0-1")
ID_HEADER = "Record ID"
FLAGS = (
    "includeLabeledAssociations",
    "includePrimaryDisplayPropertyForAssociatedObjects",
    "overrideAssociatedObjectsPerDefinitionPerRowLimit",
)


@dataclass(frozen=True)
class ExportRequest:
    """A validated export body: what to write and how to name it."""

    name: str
    properties: tuple[str, ...]
    internal_names: bool
    internal_values: bool
    list_id: str | None


@dataclass
class ExportFile:
    """A finished export file: its bytes and content type."""

    body: bytes
    content_type: str
    rows: int = field(default=0)


@dataclass
class ExportTask:
    """One export: its request, how often its status was read, and its file once made."""

    task_id: str
    request: ExportRequest
    requested_ms: int
    cancel: bool
    polls: int = 0
    status: str = "PENDING"
    completed_ms: int | None = None
    file_key: str | None = None
    file: ExportFile | None = None
    built: threading.Event = field(default_factory=threading.Event)


class ExportsApi:
    """The exports routes over one store. ``register`` puts them in a router."""

    def __init__(
        self,
        store: HubSpotStore,
        listing_cut: ListingCut,
        row_limit: int = ROW_LIMIT,
        polls_to_complete: int = 3,
    ) -> None:
        self.row_limit = row_limit
        self.polls_to_complete = polls_to_complete
        self.files: dict[str, ExportFile] = {}
        self._store = store
        self._listing_cut = listing_cut
        self._tasks: dict[str, ExportTask] = {}
        self._to_cancel = 0
        self._lock = threading.Lock()
        self._next_id = itertools.count(88_000_001)

    def register(self, router: Router) -> None:
        routes: list[tuple[str, Callable[[Request], Response]]] = [
            (START_ROUTE, self.start),
            (STATUS_ROUTE, self.status),
            (DOWNLOAD_ROUTE, self.download),
        ]
        for route, handler in routes:
            method, template = route.split(" ", 1)
            router.add(method, template, _guarded(handler))

    def cancel_next(self, count: int) -> None:
        """End the next ``count`` exports CANCELED (HubSpot's status for an export it gave up)."""
        with self._lock:
            self._to_cancel = count

    def started(self) -> int:
        """How many exports were started."""
        with self._lock:
            return len(self._tasks)

    # -- routes ----------------------------------------------------------------------------

    def start(self, request: Request) -> Response:
        """``POST /crm/v3/exports/export/async`` → 202 ``{id, links}``."""
        export = _export_request(_json_body(request))
        with self._store.transaction():
            if export.list_id is not None and self._store.list_record(export.list_id) is None:
                raise _not_found(f"List does not exist with id: {export.list_id}")
            now = self._store.now_ms()
        with self._lock:
            task_id = str(next(self._next_id))
            cancel, self._to_cancel = self._to_cancel > 0, max(self._to_cancel - 1, 0)
            task = self._tasks[task_id] = ExportTask(task_id, export, now, cancel)
        threading.Thread(target=self._build, args=(task,), daemon=True).start()
        host = request.headers.get("Host", "")
        status = f"http://{host}/crm/v3/exports/export/async/tasks/{task_id}/status"
        return json_response(202, {"id": task_id, "links": {"status": status}})

    def status(self, request: Request) -> Response:
        """``GET .../tasks/{taskId}/status``: PENDING, PROCESSING, then COMPLETE with the
        file's URL in ``result`` (or CANCELED), from the ``polls_to_complete``-th poll on once
        the file is built (that poll waits up to ``BUILD_WAIT_SECONDS`` for it)."""
        with self._lock:
            task = self._tasks.get(request.params["taskId"])
            if task is None:
                raise _not_found(f"Export task {request.params['taskId']} does not exist")
            task.polls += 1
            due = task.status in RUNNING and task.polls >= self.polls_to_complete
        if due:
            task.built.wait(BUILD_WAIT_SECONDS)
        with self._lock:
            if task.status in RUNNING:
                if due and task.built.is_set():
                    self._complete(task)
                else:
                    task.status = "PROCESSING" if task.polls > 1 else "PENDING"
            return json_response(200, _status_body(task, request.headers.get("Host", "")))

    def download(self, request: Request) -> Response:
        """The finished file at its link; 404 for an unknown key (sandbox text)."""
        found = self.files.get(request.params["fileKey"])
        if found is None:
            raise ApiError(Response(status=404, body=b"Not Found", content_type="text/plain"))
        return Response(status=200, body=found.body, content_type=found.content_type)

    # -- the file --------------------------------------------------------------------------

    def _build(self, task: ExportTask) -> None:
        """Make the task's file in the background, as HubSpot does while the task runs: the
        contacts as they are now (under the store's lock), then the CSV text (outside it)."""
        try:
            if task.cancel:
                return
            with self._store.transaction():
                header, rows = self._table(task.request, list(self._records(task.request)))
            task.file = _export_file(task.request.name, header, rows, self.row_limit)
        finally:
            task.built.set()

    def _complete(self, task: ExportTask) -> None:
        """Publish a built task's file under a fresh link (or end it CANCELED). Holds
        ``_lock``."""
        task.completed_ms = self._store.now_ms()
        if task.file is None:
            task.status = "CANCELED"
            return
        task.file_key = uuid.uuid4().hex
        self.files[task.file_key] = task.file
        task.status = "COMPLETE"

    def _records(self, export: ExportRequest) -> Iterator[ContactRecord]:
        """The live contacts the export covers, in id order, cut like every listing."""
        live: Iterable[ContactRecord] = self._store.contacts_from(0, archived=False)
        if self._listing_cut.after is not None:
            live = itertools.islice(live, self._listing_cut.after)
        if export.list_id is None:
            yield from live
            return
        listed = self._store.list_record(export.list_id)
        members = listed.members if listed is not None else {}
        yield from (record for record in live if record.id in members)

    def _table(
        self, export: ExportRequest, records: list[ContactRecord]
    ) -> tuple[list[str], list[list[str]]]:
        """The header and rows: ``Record ID``, then each requested property that exists."""
        definitions = {name: self._store.property(name) for name in export.properties}
        names = [name for name, found in definitions.items() if found is not None]
        header = [ID_HEADER] + [
            name if export.internal_names else str(definitions[name]["label"])  # type: ignore[index]
            for name in names
        ]
        rows = [
            [str(record.id)]
            + [
                _cell(record.value(name), definitions[name], export.internal_values)  # type: ignore[arg-type]
                for name in names
            ]
            for record in records
        ]
        return header, rows


def _cell(value: str | None, definition: dict[str, Any], internal_values: bool) -> str:
    """A value as an export writes it: empty when unset, option labels unless ``VALUES``."""
    if value is None:
        return ""
    if internal_values or definition.get("type") != "enumeration":
        return value
    labels = {option["value"]: option["label"] for option in definition.get("options") or ()}
    return ";".join(labels.get(part, part) for part in value.split(";"))


def _export_file(
    name: str, header: list[str], rows: list[list[str]], row_limit: int
) -> ExportFile:
    """One CSV, or a zip of CSVs of at most ``row_limit`` rows each when there are more."""
    if len(rows) <= row_limit:
        return ExportFile(_csv_bytes(header, rows), "text/csv;charset=utf-8", len(rows))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, first in enumerate(range(0, len(rows), row_limit), start=1):
            chunk = rows[first:first + row_limit]
            archive.writestr(f"{name}-{part}.csv", _csv_bytes(header, chunk))
    return ExportFile(buffer.getvalue(), "application/zip", len(rows))


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def _status_body(task: ExportTask, host: str) -> dict[str, Any]:
    """The status answer. ``startedAt`` and ``completedAt`` are required by the spec (and by
    the SDK's model), so an unfinished task carries its request time in both."""
    requested = iso_from_ms(task.requested_ms)
    body: dict[str, Any] = {
        "status": task.status,
        "requestedAt": requested,
        "startedAt": requested,
        "completedAt": iso_from_ms(task.completed_ms) if task.completed_ms else requested,
    }
    if task.file_key is not None:
        body["result"] = f"http://{host}/sandbox/export-files/{task.file_key}"
    return body


def _export_request(body: Any) -> ExportRequest:
    """The body checked field by field; the first problem is HubSpot's 400."""
    if not isinstance(body, dict):
        raise _validation("Invalid input JSON: an export request must be a JSON object")
    export_type = _one_of(body, "exportType", EXPORT_TYPES)
    fmt = _one_of(body, "format", FORMATS)
    if fmt != "CSV":
        raise _validation(f"format {fmt}: the sandbox writes CSV exports only")
    _one_of(body, "language", LANGUAGES)
    name = body.get("exportName")
    if not isinstance(name, str) or not name.strip():
        raise _validation("Invalid input JSON: 'exportName' is required")
    object_type = body.get("objectType")
    if not isinstance(object_type, str) or object_type.upper() not in CONTACT_TYPES:
        raise _validation(f"objectType {object_type!r}: the sandbox exports contacts only")
    properties = _strings(body, "objectProperties")
    if not properties:
        raise _validation("Invalid input JSON: 'objectProperties' must name at least one property")
    options = _strings(body, "exportInternalValuesOptions")
    if any(option not in INTERNAL_OPTIONS for option in options):
        raise _validation(
            f"exportInternalValuesOptions must be among {list(INTERNAL_OPTIONS)}, not {options}"
        )
    _strings(body, "associatedObjectType")
    for flag in FLAGS:
        if flag in body and not isinstance(body[flag], bool):
            raise _validation(f"Invalid input JSON: '{flag}' must be a boolean")
    list_id = body.get("listId")
    if export_type == "LIST" and not (isinstance(list_id, str) and list_id.isdigit()):
        raise _validation("A LIST export needs the 'listId' of the list to export")
    return ExportRequest(
        name=name,
        properties=tuple(dict.fromkeys(properties)),
        internal_names="NAMES" in options,
        internal_values="VALUES" in options,
        list_id=list_id if export_type == "LIST" else None,
    )


def _one_of(body: dict[str, Any], key: str, allowed: Iterable[str]) -> str:
    value = body.get(key)
    if not isinstance(value, str) or value not in allowed:
        raise _validation(f"Invalid input JSON: '{key}' must be one of {sorted(allowed)}, "
                          f"not {value!r}")
    return value


def _strings(body: dict[str, Any], key: str) -> list[str]:
    """An optional array of strings (absent: empty)."""
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _validation(f"Invalid input JSON: '{key}' must be an array of strings")
    return value
