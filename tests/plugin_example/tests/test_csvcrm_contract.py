"""The csvcrm connector passes segsync's connector contract, as the built-in connectors do.

segsync's test kit (``connectors.testing``, installed with ``pip install 'segsync[testing]'``)
brings the tests; this file says how to build the connector and how to seed and read the CRM
behind it: a folder holding ``contacts.csv`` (people's contacts) and ``crm.json`` (what the
connector wrote), worked on directly, never through the connector.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from segsync_csvcrm import CsvCrmConnector, CsvCrmSettings

from connectors.testing import ConnectorContract

COLUMNS = ["id", "email", "title", "employees", "modified_at"]
TITLES = ["CEO", "Buyer", "Engineer", "Head of Sales", "Analyst"]
SEEDED_BEFORE = datetime(2025, 1, 1, tzinfo=UTC)
"""Seeded contacts are existing data: last modified in the year before this."""


class CrmFolder:
    """The contract's view of a csvcrm folder: a person edits contacts.csv."""

    text_field = "title"
    segment_field = "segsync_segment"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._write_rows([])

    def _read_rows(self) -> list[dict[str, str]]:
        with (self.directory / "contacts.csv").open(newline="") as handle:
            return list(csv.DictReader(handle))

    def _write_rows(self, rows: list[dict[str, str]]) -> None:
        with (self.directory / "contacts.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def _written(self) -> dict[str, Any]:
        state = self.directory / "crm.json"
        return json.loads(state.read_text()) if state.exists() else {"values": {}, "lists": {}}

    def seed(self, count: int, seed: int) -> list[str]:
        rng, rows = random.Random(seed), self._read_rows()
        first = max((int(row["id"]) for row in rows), default=0) + 1
        new = [
            {
                "id": str(n),
                "email": f"person{n}@example.com",
                "title": rng.choice(TITLES),
                "employees": str(rng.randint(1, 50_000)),
                "modified_at": (SEEDED_BEFORE - timedelta(days=rng.randint(1, 365))).isoformat(),
            }
            for n in range(first, first + count)
        ]
        self._write_rows(rows + new)
        return [row["id"] for row in new]

    def values(self, contact_id: str) -> dict[str, str | None]:
        row = next(row for row in self._read_rows() if row["id"] == contact_id)
        return row | self._written()["values"].get(contact_id, {})

    def edit(self, contact_id: str, values: dict[str, str]) -> None:
        now = datetime.now(UTC).isoformat()
        rows = self._read_rows()
        for row in rows:
            if row["id"] == contact_id:
                row.update(values, modified_at=now)
        self._write_rows(rows)

    def list_members(self, list_name: str) -> set[str] | None:
        members = self._written()["lists"].get(list_name)
        return set(members) if members is not None else None

    def missing_contact_id(self) -> str:
        return "999999999"

    def delete(self, contact_id: str) -> None:
        self._write_rows([row for row in self._read_rows() if row["id"] != contact_id])


class TestCsvCrmContract(ConnectorContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> CrmFolder:
        return CrmFolder(tmp_path)

    @pytest.fixture
    def connector(self, backend: CrmFolder) -> Iterator[CsvCrmConnector]:
        connector = CsvCrmConnector.from_settings(CsvCrmSettings(directory=backend.directory))
        yield connector
        connector.close()
