"""Salesforce record ids: 15 case-sensitive characters plus a 3-character case checksum.

A connector that stores ids, compares them or sends them back must meet real ones: the first
three characters name the object (``003`` Contact, ``00Q`` Lead, ``701`` Campaign ...), the 18
character form is what the API returns, and either form is accepted on input. Ids are issued
in ascending order, and because the base-62 digits ``0-9A-Za-z`` sort the same way in ASCII,
ordering ids as text orders them by creation, as on a real org.
"""

from __future__ import annotations

import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
POD = "5g"
"""Characters 4-5 of an id: the pod (server instance) that created the record."""

_ID = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")


def checksum(id15: str) -> str:
    """The 3-character suffix that encodes which of the 15 characters are upper case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start:start + 5]) if "A" <= ch <= "Z")
        suffix += CHECKSUM_ALPHABET[bits]
    return suffix


def make_id(prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record with key prefix ``prefix``."""
    digits = ""
    for _ in range(6):
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    id15 = f"{prefix}{POD}0000{digits}"
    return id15 + checksum(id15)


def normalise(text: str) -> str | None:
    """The 18-character form of a 15- or 18-character id; None when ``text`` is not an id
    (wrong length, characters outside base 62, or an 18-character id whose checksum is off)."""
    if not _ID.match(text):
        return None
    id18 = text[:15] + checksum(text[:15])
    return id18 if len(text) == 15 or text == id18 else None
