"""Holdout records with planted counts, as the report reads them (``lift.RECORD_COLUMNS``)."""

from __future__ import annotations

import pandas as pd

from sync.report.lift import RECORD_COLUMNS


def planted_record(
    segment: str,
    listed: tuple[int, int],
    held_out: tuple[int, int],
    converted_on_entry: int = 0,
    first_id: int = 1,
) -> pd.DataFrame:
    """Rows for ``segment``: ``listed`` and ``held_out`` are (contacts, converted since
    entering); ``converted_on_entry`` more contacts had converted before they entered."""
    rows: list[tuple[str, str, bool, bool, bool]] = []
    for held, (contacts, converted) in ((False, listed), (True, held_out)):
        rows += [
            (segment, str(first_id + len(rows) + i), held, False, i < converted)
            for i in range(contacts)
        ]
    rows += [
        (segment, str(first_id + len(rows) + i), False, True, True)
        for i in range(converted_on_entry)
    ]
    return pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
