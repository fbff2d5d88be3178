"""Progress reporting, kept behind a tiny protocol so the engine never imports a UI."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class ProgressSink(Protocol):
    """Receives progress of long steps; ``total`` None means the size is not known yet."""

    def start(self, step: str, total: int | None) -> None: ...

    def advance(self, step: str, amount: int = 1) -> None: ...

    def finish(self, step: str) -> None: ...


class SilentProgress:
    """Progress that goes nowhere (library use, JSON output)."""

    def start(self, step: str, total: int | None) -> None:
        pass

    def advance(self, step: str, amount: int = 1) -> None:
        pass

    def finish(self, step: str) -> None:
        pass


class RichProgress:
    """Rich progress bars, one per step, on the given console."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, step: str, total: int | None) -> None:
        self._tasks[step] = self._progress.add_task(step, total=total)

    def advance(self, step: str, amount: int = 1) -> None:
        self._progress.advance(self._tasks[step], amount)

    def finish(self, step: str) -> None:
        task = self._tasks[step]
        completed = self._progress.tasks[task].completed
        self._progress.update(task, total=completed, completed=completed)
