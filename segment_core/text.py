"""CRM values made fit to show: one line of printable text, of a bounded length.

Category values come from the CRM and are untrusted text: a value may hold control
characters or run to 100 KB. Where one becomes part of a name (a cluster's name, and so a CRM
list name and a select option) or of a reason a sales rep reads, it goes through
``printable`` first, so a stray value can neither break a request nor overflow a field.
"""

from __future__ import annotations

ELLIPSIS = "…"


def printable(text: str, max_length: int) -> str:
    """``text`` with every non-printable character (control characters, line breaks, format
    characters) read as a space, runs of spaces as one, and cut to ``max_length`` characters,
    the last of them "…" when it was cut."""
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    spaced = "".join(char if char.isprintable() else " " for char in text)
    clean = " ".join(spaced.split())
    if len(clean) <= max_length:
        return clean
    return clean[: max_length - 1].rstrip() + ELLIPSIS
