"""Salesforce records in and out: JSON and CSV rows to ``Contact``, writes to sObject rows.

Segsync sees every value as text (``Contact`` documents why), while Salesforce's REST API
sends numbers and booleans as JSON numbers and booleans, and Bulk API 2.0 sends CSV, where an
empty cell is null: both are turned into the same text, so a pull reads alike either way.
Field names in SOQL are case-insensitive and Salesforce answers with each field's own
spelling, so values are looked up case-insensitively and returned under the name asked for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.base import Contact, FieldType, PropertyWrite

MODIFIED_FIELD = "SystemModstamp"
"""System-maintained modification time; ``LastModifiedDate`` can be set on import."""
BULK_CLEAR = "#N/A"
"""Bulk API 2.0 ignores an empty CSV cell; this is how a CSV update clears a field."""


def to_text(value: Any) -> str | None:
    """One REST value as segsync text: integral numbers without ".0", booleans in lower case.

    Dates and datetimes already arrive as ISO 8601 text; compound fields (addresses) as JSON.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return json.dumps(value, sort_keys=True)


def parse_datetime(text: str | None) -> datetime | None:
    """A Salesforce datetime ("2024-05-01T10:00:00.000+0000") as an aware datetime."""
    return datetime.fromisoformat(text) if text else None


def contact_from_json(record: Mapping[str, Any], fields: Sequence[str]) -> Contact:
    """A record of a REST query result (its ``attributes`` entry is ignored)."""
    values = {name.lower(): value for name, value in record.items()}
    return Contact(
        id=str(values["id"]),
        properties={field: to_text(values.get(field.lower())) for field in fields},
        modified_at=parse_datetime(values.get(MODIFIED_FIELD.lower())),
    )


def csv_to_text(cell: str, field_type: FieldType) -> str | None:
    """One Bulk API 2.0 CSV cell as the REST API's text would read: an empty cell is null,
    numbers lose the ".0" CSV gives integral values, datetimes end "+0000" rather than "Z"."""
    if cell == "":
        return None
    if field_type == "number":
        return to_text(float(cell))
    if field_type == "datetime" and cell.endswith("Z"):
        return cell[:-1] + "+0000"
    return cell


def contact_from_csv(
    row: Mapping[str, str], fields: Sequence[str], types: Mapping[str, FieldType]
) -> Contact:
    """A row of a Bulk API 2.0 query result; ``types`` maps lower-case field names to types."""
    values = {name.lower(): value for name, value in row.items()}
    return Contact(
        id=values["id"],
        properties={
            field: csv_to_text(values.get(field.lower(), ""), types.get(field.lower(), "string"))
            for field in fields
        },
        modified_at=parse_datetime(values.get(MODIFIED_FIELD.lower())),
    )


def sobject_row(sobject: str, write: PropertyWrite) -> dict[str, Any]:
    """One record of an sObject Collections update; an empty string clears (JSON null)."""
    row: dict[str, Any] = {"attributes": {"type": sobject}, "id": write.contact_id}
    row.update({name: value if value != "" else None for name, value in write.values.items()})
    return row


def bulk_row(write: PropertyWrite) -> dict[str, str]:
    """One CSV row of a Bulk API 2.0 update; an empty string clears (``#N/A``).

    Fields other writes of the job set are left out of this row: DictWriter writes an
    empty cell for them, which Bulk API 2.0 leaves unchanged.
    """
    row = {"Id": write.contact_id}
    row.update({name: value if value != "" else BULK_CLEAR for name, value in write.values.items()})
    return row
