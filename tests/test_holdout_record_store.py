"""The holdout record in the state store, on each backend: entries kept with the cursor, a
conversion marked once and only on entries still open, and forgetting a contact."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.state.holdouts import HoldoutEntry, HoldoutUpdate
from sync.state.store import StateStore

ENTERED = datetime(2026, 3, 2, 9, tzinfo=UTC)
LATER = datetime(2026, 3, 9, 9, tzinfo=UTC)
LAST = datetime(2026, 3, 16, 9, tzinfo=UTC)


def entry(segment: str, contact_id: str, *, held_out: bool, on_entry: bool = False) -> HoldoutEntry:
    return HoldoutEntry(segment, contact_id, 1, ENTERED, held_out, on_entry)


def test_entries_conversions_and_forgetting_on_each_backend(state_url: str) -> None:
    store = StateStore(state_url, "lift")
    try:
        entries = (
            entry("A", "1", held_out=False),
            entry("A", "2", held_out=True),
            entry("A", "3", held_out=False, on_entry=True),
            entry("B", "1", held_out=True),
        )
        store.save_cursor(ENTERED, 3, holdouts=HoldoutUpdate(entries, frozenset({"3"}), ENTERED))
        store.save_cursor(LATER, 3, holdouts=HoldoutUpdate((), frozenset({"1", "3"}), LATER))
        store.save_cursor(LAST, 3, holdouts=HoldoutUpdate((), frozenset({"1", "2"}), LAST))
        assert store.cursor() == (LAST, 3)
        assert store.holdout_entries() == [
            HoldoutEntry("A", "1", 1, ENTERED, False, False, LATER),  # the first sighting counts
            HoldoutEntry("A", "2", 1, ENTERED, True, False, LAST),
            HoldoutEntry("A", "3", 1, ENTERED, False, True, None),  # converted before entering
            HoldoutEntry("B", "1", 1, ENTERED, True, False, LATER),
        ]
        store.forget_contacts(["1"])
        assert store.holdout_recorded() == {"A": {"2", "3"}}
        assert store.forget_person("2") >= 1
        assert store.holdout_recorded() == {"A": {"3"}}
    finally:
        store.close()
