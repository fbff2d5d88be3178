"""Where a full pull's two readers meet: the list endpoint's cursor from the lowest ids up, and
searches over ``hs_object_id`` ranges from the highest down.

HubSpot counts searches in a bucket of their own (5 a second), so a pull that reads some
contacts by the list endpoint (the 10-second bucket) and the others by search uses both at
once. Neither reader may miss a contact, and no contact may come from both:

* Each range has one reader. A range is searched only if, when its turn comes (``claim``),
  the cursor has neither kept a contact of it nor passed into it; the search then reads all
  of it. The cursor keeps a contact unless its range was claimed (``keep``).
* The cursor stops once it has passed the lowest range of the unbroken run of claimed ranges
  at the top: every contact above is being searched.

Passing into a range and stopping rest on the list endpoint handing contacts out by ascending
id, which HubSpot does but does not promise. So ``keep`` checks it on every page: a page out
of order ends the cursor's right to stop early or to rule ranges out by position; it then reads
to the end and keeps what lies in no claimed range. Calls may then be spent on contacts the
cursor drops; no contact is missed or read by both.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence

LISTING = "listing"
"""The part read by the list endpoint's cursor."""


class IdRanges:
    """The ranges of one full pull, which of them searches took, and how far the cursor got.

    ``lows`` are each range's lowest id (the first None: open below); each range ends where
    the next begins, the last is open above. Thread-safe: the cursor and the searches run on
    the pull's threads.
    """

    def __init__(self, lows: Sequence[int | None]) -> None:
        self.lows = list(lows)
        self._bounds = [low for low in lows[1:] if low is not None]
        self._claimed = [False] * len(lows)
        self._kept = [False] * len(lows)
        """Ranges the cursor has kept a contact of: its own from then on."""
        self._listed_to: int | None = None
        """The highest id the cursor has read."""
        self._in_order = True
        self._lock = threading.Lock()

    def claim(self, index: int) -> bool:
        """Whether range ``index`` is to be searched: yes, unless the cursor has kept a contact
        of it or, reading in order, has reached it (it then reads the range itself)."""
        with self._lock:
            if self._kept[index] or (self._in_order and self._reached(self.lows[index])):
                return False
            self._claimed[index] = True
            return True

    def keep(self, ids: Sequence[int]) -> tuple[list[bool], bool]:
        """For a page of the cursor's ids: which to keep (those of no claimed range), and
        whether the cursor is done (everything above it is being searched)."""
        with self._lock:
            if ids:
                ascending = all(a < b for a, b in zip(ids, ids[1:], strict=False))
                after_last = self._listed_to is None or ids[0] > self._listed_to
                self._in_order = self._in_order and ascending and after_last
                self._listed_to = max(ids[-1] if ascending else max(ids), self._listed_to or 0)
            kept = []
            for contact_id in ids:
                index = self._index_of(contact_id)
                keep = not self._claimed[index]
                self._kept[index] = self._kept[index] or keep
                kept.append(keep)
            return kept, self._in_order and self._past_claimed_top()

    def _index_of(self, contact_id: int) -> int:
        """The range ``contact_id`` falls in (ids below the first range's low fall in it)."""
        return bisect_right(self._bounds, contact_id)

    def _past_claimed_top(self) -> bool:
        """Whether the cursor has reached the low of the unbroken claimed run at the top."""
        lowest = len(self._claimed)
        while lowest > 0 and self._claimed[lowest - 1]:
            lowest -= 1
        return lowest < len(self._claimed) and self._reached(self.lows[lowest])

    def _reached(self, low: int | None) -> bool:
        """Whether the cursor has read an id at or above ``low`` (None: below every id)."""
        listed_to = self._listed_to
        return listed_to is not None and (low is None or listed_to >= low)
