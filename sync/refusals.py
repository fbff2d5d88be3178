"""Records the CRM refused: when to give up on them, and when to try them again.

A refused record is retried on later runs up to ``max_record_attempts`` (at once, when the CRM
said its refusal was for good). Giving up must not be for ever: the cause is often fixed in the
CRM (a person corrects the contact, restores a field's option), so each refusal is remembered
with what it depended on, and its count starts again when that may have changed: the contact
was modified since, the segsync fields' options differ, or the run is ``--full``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from connectors.base import FieldInfo, SegmentField, WriteResult
from sync.state.failures import RecordFailure


def options_digest(
    fields: Mapping[str, FieldInfo], names: Sequence[str], ensured: Sequence[SegmentField] = ()
) -> str:
    """A digest of the options of the fields ``names``: those the CRM listed in ``fields``
    plus those a plan ensures (``ensured``), i.e. the options its writes will meet. Order does
    not count: HubSpot keeps options in the order they were added."""
    added = {spec.name: spec.options for spec in ensured}
    options = {
        name: sorted({*(fields[name].options if name in fields else ()), *added.get(name, ())})
        for name in names
    }
    return hashlib.sha1(json.dumps(options, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class RefusalContext:
    """What one run knows of the causes of refusals.

    ``modified`` holds the modification time of each contact this run pulled (by id);
    ``options`` the digest of the segsync fields' options: as the run found them when it
    decides what to retry, as its writes meet them (with the plan's) when it records a
    refusal. ``full`` is ``--full``, which retries every refused record.
    """

    modified: pd.Series
    options: str
    full: bool = False

    def modified_at(self, contact_id: str) -> datetime | None:
        """When the contact last changed, if this run pulled it."""
        moment = self.modified.get(contact_id)
        return None if moment is None or pd.isna(moment) else pd.Timestamp(moment).to_pydatetime()

    def may_have_gone(self, failure: RecordFailure) -> bool:
        """Whether the cause of a refusal may be gone, so the record deserves fresh attempts.

        A refusal with no time remembered (an older store, or refused without being pulled)
        counts as changed once the contact is pulled: retried once, then remembered.
        """
        if self.full:
            return True
        if failure.options_digest is not None and failure.options_digest != self.options:
            return True
        seen = self.modified_at(failure.contact_id)
        if seen is None:
            return False
        if failure.contact_modified_at is None:
            return True
        return seen > datetime.fromisoformat(failure.contact_modified_at)

    def failure(self, result: WriteResult, run_id: int) -> RecordFailure:
        """A refusal to remember, with what it depended on."""
        seen = self.modified_at(result.contact_id)
        return RecordFailure(
            result.contact_id,
            run_id,
            result.code,
            result.message,
            result.retryable,
            0,
            seen.isoformat() if seen is not None else None,
            self.options,
        )


def given_up(failure: RecordFailure, max_attempts: int) -> bool:
    """A refusal for good (the CRM said retrying will not help), or one refused too often."""
    return not failure.retryable or failure.attempts >= max_attempts
