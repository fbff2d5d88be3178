"""CRM-derived text for the terminal: shown as the text it is, never as markup or escapes.

Values from the CRM are untrusted: a job title can hold Rich markup (``[/]`` makes a print
raise, ``[link=...]`` makes a link) or terminal escape sequences (ANSI colours, an OSC 8
hyperlink, a window title), and they reach the terminal through segment and cluster names,
reasons, audit examples and error messages. Everything segsync prints that may contain such
text goes through one of these:

- ``plain``: escape sequences and control characters removed (line breaks and tabs become
  spaces, so a value cannot forge a line of output), and so are the bidirectional overrides
  that reorder how a line reads; ``lines=True`` keeps the line breaks of a message segsync
  wrote on several lines (a rule error with a caret under it);
- ``text``: ``plain`` as a Rich ``Text``, which Rich prints as is (no markup, no emoji codes,
  no highlighting): for whole lines and table cells;
- ``escaped``: ``plain`` escaped for a Rich markup string segsync styles itself.
"""

from __future__ import annotations

import re

from rich.markup import escape
from rich.text import Text

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
    sequences or control characters."""
    if lines:
        return "\n".join(plain(line) for line in str(value).split("\n"))
    line = _LINE_CONTROLS.sub(" ", _ESCAPE_SEQUENCES.sub("", str(value)))
    return _OTHER_CONTROLS.sub("", line)


def text(value: object) -> Text:
    """``value`` as a Rich ``Text``: printed as it reads, whatever brackets it holds."""
    return Text(plain(value))


def escaped(value: object, *, lines: bool = False) -> str:
    """``value`` for a Rich markup string: ``plain``, with markup escaped."""
    return escape(plain(value, lines=lines))
