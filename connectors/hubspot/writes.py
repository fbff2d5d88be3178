"""Writing segsync's properties on HubSpot contacts, 100 a batch, and reading from HubSpot's
answer which records it confirmed: only those count as written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import (
    UNCONFIRMED,
    BatchRejected,
    PropertyWrite,
    RequestRejected,
    Transient,
    WriteResult,
)
from connectors.hubspot.calls import HubSpotCalls

RETRYABLE_RECORD_CATEGORIES = ("RATE_LIMITS", "LOCKED")
PROPERTY_PROBLEMS = ("PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE")
"""Whole-batch refusals about a property, not a value: every batch writing it fails alike, so
splitting the batch to find a culprit record would only spend requests."""


def answer_ids(values: Any) -> list[str]:
    """The non-empty ids of a JSON list (HubSpot's 207 may name ``[""]``); [] otherwise."""
    if not isinstance(values, list):
        return []
    return [str(value) for value in values if isinstance(value, (str, int)) and str(value)]


def write_contacts(
    calls: HubSpotCalls, batch_api: Any, writes: Sequence[PropertyWrite]
) -> list[WriteResult]:
    """One batch update; one result per record, as HubSpot's answer confirms it."""
    body = {"inputs": [{"id": w.contact_id, "properties": w.values} for w in writes]}
    action = "batch update contacts"
    try:
        answer = calls.call_for_answer(action, batch_api.update_with_http_info, body)
    except RequestRejected as exc:
        if exc.status != 400 or exc.code in PROPERTY_PROBLEMS:
            raise
        # One invalid value anywhere refuses the whole batch (VALIDATION_ERROR).
        raise BatchRejected(str(exc), exc.status, exc.code) from exc
    return confirmed_writes(writes, answer, action)


def confirmed_writes(
    writes: Sequence[PropertyWrite], answer: Any, action: str
) -> list[WriteResult]:
    """One result per input, read from HubSpot's batch answer (200 or 207).

    A record is written only when its id is in ``results``; a 207's errors name the refused
    ones in ``context.ids``. An input the answer neither confirms nor names is unconfirmed: a
    retryable failure, never a success. An answer without ``results`` is no batch answer at
    all (an empty body, a proxy's HTML page with 200): ``Transient``, so the batch is resent.
    """
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise Transient(f"HubSpot {action}: the answer is not a batch result; nothing confirmed")
    confirmed = set(answer_ids([row.get("id") for row in results if isinstance(row, dict)]))
    refused: dict[str, WriteResult] = {}
    for error in answer.get("errors") or ():
        if not isinstance(error, dict):
            continue
        category = str(error.get("category") or "ERROR")
        for record_id in answer_ids((error.get("context") or {}).get("ids")):
            refused[record_id] = WriteResult(
                record_id,
                ok=False,
                code=category,
                message=str(error.get("message") or ""),
                retryable=category in RETRYABLE_RECORD_CATEGORIES,
                missing=category == "OBJECT_NOT_FOUND",
            )
    return [_write_outcome(w.contact_id, confirmed, refused) for w in writes]


def _write_outcome(
    contact_id: str, confirmed: set[str], refused: Mapping[str, WriteResult]
) -> WriteResult:
    if contact_id in refused:
        return refused[contact_id]
    if contact_id in confirmed:
        return WriteResult(contact_id, ok=True)
    message = "HubSpot's answer neither confirmed nor refused this record"
    return WriteResult(contact_id, ok=False, code=UNCONFIRMED, message=message, retryable=True)
