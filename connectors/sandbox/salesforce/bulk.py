"""Bulk API 2.0: ingest jobs (CSV in, per-row results out) and query jobs (CSV pages).

What simple-salesforce's ``sf.bulk2.<Object>`` sends: ``POST /jobs/ingest`` (JSON job),
``PUT /jobs/ingest/{id}/batches`` (CSV, answered 201 with no body), ``PATCH /jobs/ingest/{id}``
``{"state": "UploadComplete"}``, then ``GET /jobs/ingest/{id}`` until ``JobComplete``, and
``GET .../successfulResults`` / ``failedResults`` / ``unprocessedrecords``; for queries ``POST
/jobs/query``, ``GET /jobs/query/{id}`` and ``GET /jobs/query/{id}/results?maxRecords=&
locator=`` with ``Sforce-Locator`` (``null`` on the last page) and ``Sforce-NumberOfRecords``.

Jobs advance one state per status poll (UploadComplete → InProgress → JobComplete), so a
client meets every state Salesforce documents without the sandbox sleeping. Rows are saved
through the same ``RecordWriter`` as REST, so every record rule applies; an empty cell leaves
a field unchanged and ``#N/A`` clears it. Job JSON follows Salesforce's documented examples;
result CSVs follow captured files (``"sf__Id","sf__Error",`` then the uploaded header, every
value quoted). An unknown column fails the whole job with Bulk API's "InvalidBatch : Field name
not found" message.
"""

from __future__ import annotations

import base64
import csv
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.limits import ListingCut
from connectors.sandbox.salesforce.errors import (
    RecordError,
    RecordFailure,
    RestError,
    not_found,
)
from connectors.sandbox.salesforce.query import bind, cut_short
from connectors.sandbox.salesforce.rest import DATA, guarded, json_body
from connectors.sandbox.salesforce.schema import ObjectSchema
from connectors.sandbox.salesforce.store import SalesforceStore
from connectors.sandbox.salesforce.values import (
    ValueProblem,
    format_datetime,
    from_csv,
    to_csv,
)
from connectors.sandbox.salesforce.writes import DecodedRecord, RecordWriter
from connectors.sandbox.server import Request, Response, Router, json_response

JOBS = f"{DATA}/jobs"
CSV_CONTENT_TYPE = "text/csv"
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^",
              "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete")
QUERY_OPERATIONS = ("query", "queryAll")
JOB_PREFIX = "750"


@dataclass
class _Job:
    """One job. Ingest jobs keep their upload and per-row outcomes; query jobs their rows."""

    id: str
    kind: str
    operation: str
    sobject: str
    version: str
    created_ms: int
    delimiter: str
    line_ending: str
    state: str
    modified_ms: int = 0
    external_id: str | None = None
    query: str = ""
    header_line: str = ""
    rows: list[list[str]] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    error_message: str | None = None

    def info(self, full: bool) -> dict[str, Any]:
        """The job JSON: the short form answers create and PATCH, the full one GET."""
        info: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.sobject,
            "createdById": "", "createdDate": format_datetime(self.created_ms),
            "systemModstamp": format_datetime(self.modified_ms or self.created_ms),
            "state": self.state, "concurrencyMode": "Parallel", "contentType": "CSV",
            "apiVersion": float(self.version.lstrip("v")),
        }
        if self.external_id:
            info["externalIdFieldName"] = self.external_id
        if self.kind == "ingest":
            info["contentUrl"] = f"services/data/{self.version}/jobs/ingest/{self.id}/batches"
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.delimiter
        if full:
            info["jobType"] = "V2Ingest" if self.kind == "ingest" else "V2Query"
            info["numberRecordsProcessed"] = (len(self.successes) + len(self.failures)
                                              if self.kind == "ingest" else len(self.rows))
            if self.kind == "ingest":
                info["numberRecordsFailed"] = len(self.failures)
            info.update(retries=0, totalProcessingTime=0, apiActiveProcessingTime=0,
                        apexProcessingTime=0)
            if self.error_message:
                info["errorMessage"] = self.error_message
        return info


class BulkApi:
    """Bulk API 2.0 handlers over one store and writer."""

    def __init__(self, store: SalesforceStore, writer: RecordWriter,
                 listing_cut: ListingCut | None = None) -> None:
        self._store = store
        self._writer = writer
        self._listing_cut = listing_cut or ListingCut()
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    def register(self, router: Router) -> None:
        """Add the job routes (``unprocessedRecords`` is simple-salesforce's spelling of the
        documented ``unprocessedrecords``)."""
        ingest, query = f"{JOBS}/ingest", f"{JOBS}/query"
        routes: list[tuple[str, str, Callable[[Request], Response]]] = [
            ("POST", ingest, self.create_ingest),
            ("GET", f"{ingest}/{{jobId}}", self.get_job),
            ("PATCH", f"{ingest}/{{jobId}}", self.set_state),
            ("DELETE", f"{ingest}/{{jobId}}", self.delete_job),
            ("PUT", f"{ingest}/{{jobId}}/batches", self.upload),
            ("GET", f"{ingest}/{{jobId}}/successfulResults", self.successful_results),
            ("GET", f"{ingest}/{{jobId}}/failedResults", self.failed_results),
            ("GET", f"{ingest}/{{jobId}}/unprocessedrecords", self.unprocessed_records),
            ("GET", f"{ingest}/{{jobId}}/unprocessedRecords", self.unprocessed_records),
            ("POST", query, self.create_query),
            ("GET", f"{query}/{{jobId}}", self.get_job),
            ("PATCH", f"{query}/{{jobId}}", self.set_state),
            ("DELETE", f"{query}/{{jobId}}", self.delete_job),
            ("GET", f"{query}/{{jobId}}/results", self.query_results),
        ]
        for method, template, handler in routes:
            router.add(method, template, guarded(handler))

    # -- jobs ------------------------------------------------------------------------------

    def create_ingest(self, request: Request) -> Response:
        """``POST /jobs/ingest`` → 200 with the job, state ``Open``."""
        body = self._job_body(request)
        operation = body.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise _invalid_job(f"operation must be one of {list(INGEST_OPERATIONS)}")
        schema = self._store.schema(str(body.get("object", "")))
        if schema is None:
            raise _invalid_job(f"sObject type '{body.get('object')}' is not supported")
        external = body.get("externalIdFieldName")
        if operation == "upsert" and str(external or "Id").lower() != "id":
            raise _invalid_job("the sandbox upserts by Id only")
        job = self._new_job(request, body, "ingest", operation, schema.name, "Open")
        job.external_id = "Id" if operation == "upsert" else None
        return json_response(200, job.info(full=False))

    def create_query(self, request: Request) -> Response:
        """``POST /jobs/query`` → 200 with the job, state ``UploadComplete``. The query is
        checked now (an unknown field is the REST API's 400; COUNT() is refused as Bulk
        API 2.0 refuses aggregates; wording of the latter: sandbox text)."""
        body = self._job_body(request)
        operation = body.get("operation")
        if operation not in QUERY_OPERATIONS:
            raise _invalid_job(f"operation must be one of {list(QUERY_OPERATIONS)}")
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            raise _invalid_job("a query job needs a query")
        with self._store.transaction():
            bound = bind(text, self._store)
        if bound.count:
            raise _invalid_job("Aggregate queries are not supported by Bulk API 2.0")
        job = self._new_job(request, body, "query", operation, bound.sobject, "UploadComplete")
        job.query = text
        return json_response(200, job.info(full=False))

    def get_job(self, request: Request) -> Response:
        """``GET /jobs/{ingest|query}/{id}``: each poll moves a submitted job on one state."""
        job = self._job(request)
        with self._lock:  # two polls must not both carry the job out
            if job.state == "UploadComplete":
                job.state = "InProgress"
            elif job.state == "InProgress":
                self._run(job)
            job.modified_ms = self._store.now_ms()
            return json_response(200, job.info(full=True))

    def set_state(self, request: Request) -> Response:
        """``PATCH`` ``{"state": "UploadComplete" | "Aborted"}``."""
        job = self._job(request)
        body = json_body(request)
        state = body.get("state") if isinstance(body, dict) else None
        allowed = (state == "UploadComplete" and job.kind == "ingest" and job.state == "Open") \
            or (state == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"))
        if not allowed:  # sandbox text
            raise RestError(409, "INVALIDJOBSTATE",
                            f"Cannot change the state of a {job.state} job to {state}")
        job.state = str(state)
        job.modified_ms = self._store.now_ms()
        if state == "Aborted":
            job.unprocessed = list(job.rows) if job.kind == "ingest" else []
        return json_response(200, job.info(full=False))

    def delete_job(self, request: Request) -> Response:
        """``DELETE`` → 204."""
        job = self._job(request)
        with self._lock:
            del self._jobs[job.id]
        return Response(status=204)

    # -- ingest ----------------------------------------------------------------------------

    def upload(self, request: Request) -> Response:
        """``PUT /jobs/ingest/{id}/batches`` → 201, empty body; one upload per job."""
        job = self._job(request)
        if job.state != "Open" or job.header_line:  # sandbox text
            raise RestError(409, "INVALIDJOBSTATE", "Data can be uploaded once, while the job "
                            "is Open")
        text = request.body.decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline=""),
                                  delimiter=DELIMITERS[job.delimiter]))
        if not records:
            raise RestError(400, "INVALIDBATCH", "InvalidBatch : the upload is empty")
        job.header_line = text.splitlines()[0]
        job.rows = records[1:]
        return Response(status=201)

    def successful_results(self, request: Request) -> Response:
        """``"sf__Id","sf__Created",<uploaded header>`` and one quoted row per saved record."""
        job = self._job(request)
        return self._result_csv(job, '"sf__Id","sf__Created",', job.successes)

    def failed_results(self, request: Request) -> Response:
        """``"sf__Id","sf__Error",<uploaded header>`` and one quoted row per failed record."""
        job = self._job(request)
        return self._result_csv(job, '"sf__Id","sf__Error",', job.failures)

    def unprocessed_records(self, request: Request) -> Response:
        """The uploaded header and the rows never processed (an aborted or failed job)."""
        job = self._job(request)
        return self._result_csv(job, "", job.unprocessed)

    def _run(self, job: _Job) -> None:
        """Carry the job out and complete it (or fail it for an unusable header)."""
        if job.kind == "query":
            with self._store.transaction():
                bound = bind(job.query, self._store)
                include_deleted = job.operation == "queryAll"
                rows = cut_short(self._listing_cut, bound, bound.run(include_deleted),
                                 include_deleted)
                job.header_line = _csv_line([".".join(c.path) for c in bound.columns], job)
                job.rows = [[to_csv(c.definition, c.read(self._store, r))
                             for c in bound.columns] for r in rows]
            job.state = "JobComplete"
            return
        schema = self._store.known_schema(job.sobject)
        header = next(csv.reader([job.header_line], delimiter=DELIMITERS[job.delimiter]), [])
        problem = self._header_problem(schema, header, job.operation)
        if problem is not None:
            job.state, job.error_message, job.unprocessed = "Failed", problem, list(job.rows)
            return
        with self._store.transaction():
            for row in job.rows:
                self._ingest_row(job, schema, header, row)
        job.state = "JobComplete"

    def _header_problem(self, schema: ObjectSchema, header: list[str],
                        operation: str) -> str | None:
        if not header:
            return "InvalidBatch : No data was uploaded"  # sandbox text
        if operation == "delete" and [h.lower() for h in header] != ["id"]:
            return "InvalidBatch : The 'delete' batch must contain only 'Id'"
        for name in header:
            definition = schema.field(name)
            if name.lower() != "id" and (
                    definition is None
                    or not self._store.field_visible(schema.name, definition.name)):
                return f"InvalidBatch : Field name not found : {name}"
        return None

    def _ingest_row(self, job: _Job, schema: ObjectSchema, header: list[str],
                    row: list[str]) -> None:
        cells = dict(zip(header, row, strict=False))
        record_id = next((v for k, v in cells.items() if k.lower() == "id" and v), None)
        values: dict[str, Any] = {}
        error: RecordError | None = None
        for name, cell in cells.items():
            definition = schema.field(name)
            if name.lower() == "id" or cell == "" or definition is None:
                continue
            try:
                values[definition.name] = from_csv(definition, cell)
            except ValueProblem:
                error = error or RecordError(  # code real; wording as commonly reported
                    "INVALID_TYPE_ON_FIELD_IN_RECORD",
                    f"{definition.label}: value not of required type: {cell}",
                    (definition.name,))
        decoded = DecodedRecord(schema, record_id, values, error)
        creating = job.operation == "insert" or (job.operation == "upsert" and not record_id)
        try:
            if job.operation == "delete":
                saved = self._writer.delete(schema, record_id or "")
            elif creating:
                saved = self._writer.create(decoded)
            else:
                saved = self._writer.update(decoded)
        except RecordFailure as failure:
            known = self._store.get(record_id) if record_id else None
            job.failures.append([known.id if known else "", failure.error.as_bulk_text(), *row])
            return
        job.successes.append([saved, "true" if creating else "false", *row])

    def _result_csv(self, job: _Job, prefix: str, rows: list[list[str]]) -> Response:
        text = prefix + job.header_line + LINE_ENDINGS[job.line_ending]
        text += "".join(_csv_line(row, job) + LINE_ENDINGS[job.line_ending] for row in rows)
        return Response(status=200, body=text.encode(), content_type=CSV_CONTENT_TYPE)

    # -- query results ---------------------------------------------------------------------

    def query_results(self, request: Request) -> Response:
        """``GET /jobs/query/{id}/results?maxRecords=&locator=``: one CSV page. The locator
        is opaque (here: the next row's offset, base64 without padding); ``null`` at the end."""
        job = self._job(request)
        if job.kind != "query" or job.state != "JobComplete":  # sandbox text
            raise RestError(409, "INVALIDJOBSTATE", "Results are available once the query job "
                            "is JobComplete")
        offset = _offset(request.query_value("locator"))
        if offset is None or offset > len(job.rows):
            raise RestError(400, "INVALIDLOCATOR", "Invalid locator")  # sandbox text
        limit_text = request.query_value("maxRecords") or ""
        limit = int(limit_text) if limit_text.isdigit() and int(limit_text) > 0 else len(job.rows)
        page = job.rows[offset:offset + limit]
        end = offset + len(page)
        ending = LINE_ENDINGS[job.line_ending]
        text = job.header_line + ending + "".join(_csv_line(r, job) + ending for r in page)
        locator = "null" if end >= len(job.rows) else \
            base64.b64encode(str(end).encode()).decode().rstrip("=")
        return Response(status=200, body=text.encode(), content_type=CSV_CONTENT_TYPE,
                        headers={"Sforce-Locator": locator,
                                 "Sforce-NumberOfRecords": str(len(page))})

    # -- helpers ---------------------------------------------------------------------------

    def _job_body(self, request: Request) -> dict[str, Any]:
        body = json_body(request)
        if not isinstance(body, dict):
            raise _invalid_job("the job must be a JSON object")
        if body.get("contentType", "CSV") != "CSV":
            raise _invalid_job("contentType must be CSV")
        if body.get("columnDelimiter", "COMMA") not in DELIMITERS or \
                body.get("lineEnding", "LF") not in LINE_ENDINGS:
            raise _invalid_job("unknown columnDelimiter or lineEnding")
        return body

    def _new_job(self, request: Request, body: dict[str, Any], kind: str, operation: str,
                 sobject: str, state: str) -> _Job:
        job = _Job(self._store.new_id(JOB_PREFIX), kind, operation, sobject,
                   request.params["version"], self._store.now_ms(),
                   body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF"), state)
        with self._lock:
            self._jobs[job.id] = job
        return job

    def _job(self, request: Request) -> _Job:
        with self._lock:
            job = self._jobs.get(request.params["jobId"])
        kind = "ingest" if "/jobs/ingest/" in request.path else "query"
        if job is None or job.kind != kind:
            raise not_found()
        return job


def _csv_line(values: list[str], job: _Job) -> str:
    """One row with every value quoted, as Bulk API 2.0 writes its CSV."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=DELIMITERS[job.delimiter], quoting=csv.QUOTE_ALL,
               lineterminator="").writerow(values)
    return buffer.getvalue()


def _offset(locator: str | None) -> int | None:
    if not locator:
        return 0
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _invalid_job(message: str) -> RestError:
    """400 for a job Salesforce would not create (code real; wording sandbox text)."""
    return RestError(400, "INVALIDJOB", f"InvalidJob : {message}")

