"""CRM values made fit to show: one line of printable text, of a bounded length.

Category values come from the CRM and are untrusted text: a value may hold control
characters or run to 100 KB. Where one becomes part of a name (a cluster's name, and so a CRM
list name and a select option) or of a reason a sales rep reads, it goes through
``printable`` first, so a stray value can neither break a request nor overflow a field.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"

_ESCAPE_SEQUENCES = re.compile(
    r"""
      \x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?  # OSC (hyperlinks, titles): to BEL or ST
    | \x1b[P^_X][^\x1b\x9c]*(?:\x1b\\|\x9c)?       # DCS, PM, APC, SOS strings
    | \x1b\[[0-?]*[ -/]*[@-~]                      # CSI (colours, cursor movement)
    | \x1b[ -/]*[0-~]                              # any other escape
    | \x9d[^\x07\x1b\x9c]*(?:\x07|\x9c)?           # OSC, 8-bit
    | \x9b[0-?]*[ -/]*[@-~]                        # CSI, 8-bit
    """,
    re.VERBOSE,
)
_LINE_CONTROLS = re.compile(r"[\t\n\v\f\r\x85\u2028\u2029]")
_OTHER_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(value: object, *, lines: bool = False) -> str:
    """``value`` as one line of text (or, with ``lines``, as its lines), without escape
    sequences (a terminal's colours, OSC 8 links, titles) or control characters: line breaks
    and tabs become spaces, so a value cannot forge a line of output, and the bidirectional
    overrides that reorder how a line reads are dropped."""
    if lines:
        return "\n".join(plain(line) for line in str(value).split("\n"))
    line = _LINE_CONTROLS.sub(" ", _ESCAPE_SEQUENCES.sub("", str(value)))
    return _OTHER_CONTROLS.sub("", line)


def printable(text: str, max_length: int) -> str:
    """``text`` as ``plain`` text with every other non-printable character read as a space,
    runs of spaces as one, and cut to ``max_length`` characters, the last of them "…" when it
    was cut."""
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    spaced = "".join(char if char.isprintable() else " " for char in plain(text))
    clean = " ".join(spaced.split())
    if len(clean) <= max_length:
        return clean
    return clean[: max_length - 1].rstrip() + ELLIPSIS
