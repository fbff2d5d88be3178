"""Tables that never lose a column at the terminal's edge.

A Rich table wider than the terminal squeezes its columns until their text ends in "…", and
the last columns are the first to go: on an 80-column terminal the run summary lost its list
removals. Every table segsync prints is built with ``narrow_table`` and printed with
``print_table``:

- columns are separated by one space, without edges or padding, so that more fit;
- a ``number_column`` never wraps: a count is read whole or not at all; a ``text_column``
  wraps on words and folds a word longer than its width (a long segment name), so nothing is
  cut;
- when even so the numbers, and the words of text columns (up to ``MIN_TEXT_WIDTH``), do not
  fit the terminal, each row is printed as a block of "column  value" lines instead: every
  column, whole, at any width.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

COLUMN_GAP = 1
"""Characters between two columns: the box's one divider, no padding."""

MIN_TEXT_WIDTH = 12
"""The narrowest a column of words gets before the table is stacked: narrower, a name would
be folded every few letters."""


def narrow_table(title: str | Text) -> Table:
    """An empty table of the compact style every segsync table uses."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
        pad_edge=False,
    )


def text_column(table: Table, header: str) -> None:
    """A column of words (names, messages): wraps, and folds what does not fit."""
    table.add_column(header, overflow="fold")


def number_column(table: Table, header: str) -> None:
    """A right-aligned column of short values (counts, flags) that never wraps; write a long
    header on two lines ("API\\ncalls") so that it takes no more room than its numbers."""
    table.add_column(header, justify="right", no_wrap=True)


def print_table(console: Console, table: Table) -> None:
    """``table`` as a table when it fits ``console``'s width, else as blocks of lines."""
    if needed_width(console, table) <= console.width:
        console.print(table)
    else:
        console.print(stacked(table))


def needed_width(console: Console, table: Table) -> int:
    """The narrowest ``table`` reads well: numbers whole, text columns as wide as their
    longest word (up to ``MIN_TEXT_WIDTH``: longer words fold), one space between columns."""
    columns = table.columns
    return sum(_column_width(console, column) for column in columns) + COLUMN_GAP * (
        len(columns) - 1
    )


def stacked(table: Table) -> Table:
    """``table``'s rows one under the other, each cell on a line of its own after its
    column's header, a blank line between rows: two columns, so it fits any width."""
    grid = Table.grid(padding=(0, 2))
    grid.title = table.title
    grid.title_justify = "left"
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    columns = table.columns
    headers = [Text(str(column.header).replace("\n", " ")) for column in columns]
    for index, row in enumerate(zip(*(column.cells for column in columns), strict=True)):
        if index:
            grid.add_row("", "")
        for header, cell in zip(headers, row, strict=True):
            grid.add_row(header, cell)
    return grid


def _column_width(console: Console, column: Column) -> int:
    cells: list[RenderableType] = [column.header, *column.cells]
    sizes = [Measurement.get(console, console.options, cell) for cell in cells]
    if column.no_wrap:
        return max(size.maximum for size in sizes)
    return min(max(size.minimum for size in sizes), MIN_TEXT_WIDTH)
