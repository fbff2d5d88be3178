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

from rich.markup import escape
from rich.text import Text

from segment_core.text import plain

__all__ = ["escaped", "plain", "text"]


def text(value: object) -> Text:
    """``value`` as a Rich ``Text``: printed as it reads, whatever brackets it holds."""
    return Text(plain(value))


def escaped(value: object, *, lines: bool = False) -> str:
    """``value`` for a Rich markup string: ``plain``, with markup escaped."""
    return escape(plain(value, lines=lines))
