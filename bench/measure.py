"""Timing a benchmark's stages, each with its peak resident set size.

Memory is the peak resident set size of the whole process (numpy, pandas and scikit-learn
buffers included), not tracemalloc, which slowed coercion, features and rules by half again at
300,000 contacts and would distort the timings beside it. Per stage it is Linux's VmHWM, reset
before the stage through ``/proc/self/clear_refs``; where that is unavailable each stage shows
the process peak so far (``ru_maxrss``).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def _reset_peak_rss() -> bool:
    """Restart Linux's peak-RSS counter (VmHWM); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # macOS counts bytes, Linux KiB


@dataclass
class Stage:
    label: str
    seconds: float
    peak_bytes: int
    counted: bool


class Meter:
    """Times stages and records each one's peak RSS (see the module docstring).

    ``peak_bytes`` is the largest peak of the stages that count towards it (``in_peak``): a
    peer measured beside the subject, such as DuckDB, leaves it out.
    """

    def __init__(self) -> None:
        self.stages: list[Stage] = []
        self.peak_bytes = _peak_rss_bytes()  # imports
        self.per_stage = True

    def measure(
        self,
        label: str,
        action: Callable[[], T],
        counted: bool = True,
        best_of: int = 1,
        in_peak: bool = True,
    ) -> T:
        """``action()``'s result, recording its fastest time of ``best_of`` runs and its peak."""
        self.per_stage = _reset_peak_rss() and self.per_stage
        times = []
        for _ in range(best_of):
            started = time.perf_counter()
            result = action()
            times.append(time.perf_counter() - started)
        peak = _peak_rss_bytes()
        if in_peak:
            self.peak_bytes = max(self.peak_bytes, peak)
        self.stages.append(Stage(label, min(times), peak, counted))
        return result

    @property
    def total_seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages if stage.counted)
