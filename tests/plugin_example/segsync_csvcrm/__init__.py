"""An example segsync connector: contacts in ``contacts.csv``, segsync's writes in ``crm.json``.

It exists to show plugin authors the whole contract in one small file: a class that declares
the model of its config section (``settings_model``), has a ``from_settings`` classmethod
(``connectors.base.ConnectorFactory``) and implements ``connectors.base.Connector``. Its tests
(``tests/test_csvcrm_contract.py``) run segsync's test kit, ``connectors.testing``.

``contacts.csv`` has an ``id`` column of whole numbers and may have a ``modified_at`` column
(ISO 8601): people edit the file while segsync runs, so every read opens it afresh.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import (
    ConnectorLimits,
    Contact,
    ContactPage,
    FieldInfo,
    FieldType,
    IdPage,
    ListRef,
    MembershipChange,
    NotFound,
    PropertyWrite,
    RateLimitStatus,
    RequestBudget,
    SegmentField,
    WriteResult,
)

PAGE_SIZE = 50
FIELD_TYPES: dict[str, FieldType] = {
    "single_select": "enumeration",
    "multi_select": "multi_enumeration",
    "text": "string",
}
"""How segsync's fields read, by the kind segsync asked for."""
COLUMN_TYPES: dict[str, FieldType] = {"employees": "number", "modified_at": "datetime"}
"""The columns of contacts.csv that are not text."""


def modified_at(row: dict[str, str]) -> datetime | None:
    """When a person last edited the row, by its ``modified_at`` column (a time without a zone
    is UTC); None when the row does not say or says something that is no time."""
    try:
        when = datetime.fromisoformat(row.get("modified_at") or "")
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class CsvCrmSettings(BaseModel):
    """The ``[csvcrm]`` section of segsync's config (``SEGSYNC_CSVCRM__DIRECTORY`` overrides it)."""

    model_config = ConfigDict(extra="forbid")

    directory: Path = Field(description="The folder of contacts.csv and crm.json.")


class CsvCrmConnector:
    """A folder CRM: read-only contacts from CSV, fields and lists segsync manages in JSON."""

    name = "csvcrm"
    settings_model = CsvCrmSettings
    limits = ConnectorLimits(
        read_page_size=PAGE_SIZE,
        write_batch_size=100,
        list_read_page_size=PAGE_SIZE,
        list_change_batch_size=500,
        budget=RequestBudget(per_window=None, window_seconds=None, daily=None),
    )

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._contacts_path = directory / "contacts.csv"
        self._state_path = directory / "crm.json"
        self._state = (
            json.loads(self._state_path.read_text())
            if self._state_path.exists()
            else {"fields": {}, "values": {}, "lists": {}}
        )

    @classmethod
    def from_settings(cls, settings: CsvCrmSettings) -> CsvCrmConnector:
        return cls(settings.directory)

    def _save(self) -> None:
        self._state_path.write_text(json.dumps(self._state, indent=1, sort_keys=True))

    def _columns(self) -> list[str]:
        with self._contacts_path.open(newline="") as handle:
            return list(csv.DictReader(handle).fieldnames or [])

    def _rows(self) -> dict[str, dict[str, str]]:
        """The contacts as the file holds them now, by id."""
        with self._contacts_path.open(newline="") as handle:
            return {row["id"]: row for row in csv.DictReader(handle)}

    def describe_fields(self) -> list[FieldInfo]:
        typed = [FieldInfo(c, c, COLUMN_TYPES.get(c, "string")) for c in self._columns()]
        managed = [  # created by segsync (ensure_segment_field): the folder says so
            FieldInfo(name, name, FIELD_TYPES[field["kind"]], tuple(field["options"]), "segsync")
            for name, field in self._state["fields"].items()
        ]
        return typed + managed

    def _page(
        self, rows: Iterable[dict[str, str]], fields: Sequence[str], cursor: str | None
    ) -> ContactPage:
        """One page of ``rows`` in id order; the cursor is the position of the next page."""
        ordered = sorted(rows, key=lambda row: int(row["id"]))
        start = int(cursor or 0)
        contacts = [
            Contact(row["id"], {f: self._value(row, f) for f in fields}, modified_at(row))
            for row in ordered[start : start + PAGE_SIZE]
        ]
        more = start + PAGE_SIZE < len(ordered)
        return ContactPage(contacts, str(start + PAGE_SIZE) if more else None)

    def _value(self, row: dict[str, str], field: str) -> str | None:
        written = self._state["values"].get(row["id"], {})
        return written.get(field, row.get(field))

    def read_contacts_page(self, fields: Sequence[str], cursor: str | None) -> ContactPage:
        return self._page(self._rows().values(), fields, cursor)

    def read_changed_contacts_page(
        self, fields: Sequence[str], since: datetime, cursor: str | None
    ) -> ContactPage:
        """Rows modified at or after ``since``; a row with no readable ``modified_at`` is
        always read, since nothing says it is unchanged."""
        changed = (row for row in self._rows().values() if (modified_at(row) or since) >= since)
        return self._page(changed, fields, cursor)

    def ensure_segment_field(self, spec: SegmentField) -> None:
        field = self._state["fields"].setdefault(spec.name, {"kind": spec.kind, "options": []})
        options = field["options"]
        options.extend(o for o in spec.options if o not in options)
        self._save()

    def write_properties(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        rows, results = self._rows(), []
        for write in writes:
            if write.contact_id not in rows:
                results.append(WriteResult(write.contact_id, False, "NOT_FOUND", "no such id"))
                continue
            self._state["values"].setdefault(write.contact_id, {}).update(write.values)
            results.append(WriteResult(write.contact_id, True))
        self._save()
        return results

    def find_list(self, name: str) -> ListRef | None:
        return ListRef(name, name) if name in self._state["lists"] else None

    def create_list(self, name: str) -> ListRef:
        self._state["lists"].setdefault(name, [])
        self._save()
        return ListRef(name, name)

    def read_list_members_page(self, list_ref: ListRef, cursor: str | None) -> IdPage:
        if list_ref.id not in self._state["lists"]:
            raise NotFound(f"no list {list_ref.name!r}")
        return IdPage(list(self._state["lists"][list_ref.id]), None)

    def add_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        return self._change_members(list_ref, contact_ids, add=True)

    def remove_list_members(
        self, list_ref: ListRef, contact_ids: Iterable[str]
    ) -> MembershipChange:
        return self._change_members(list_ref, contact_ids, add=False)

    def _change_members(
        self, list_ref: ListRef, contact_ids: Iterable[str], *, add: bool
    ) -> MembershipChange:
        """Change a list's members; ids with no row are reported missing, as a CRM would."""
        ids, rows = list(contact_ids), self._rows()
        missing = [i for i in ids if i not in rows]
        wanted = {i for i in ids if i in rows}
        before = set(self._state["lists"][list_ref.id])
        after = before | wanted if add else before - wanted
        self._state["lists"][list_ref.id] = sorted(after, key=int)
        self._save()
        changed = tuple(sorted(after ^ before, key=int))
        return MembershipChange(changed=changed, missing=tuple(missing))

    def rate_limit_status(self) -> RateLimitStatus:
        return RateLimitStatus()

    def close(self) -> None:
        pass
