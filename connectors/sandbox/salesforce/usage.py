"""The org's daily API request allowance, as ``Sforce-Limit-Info`` and ``/limits`` report it.

Salesforce counts API requests over a rolling 24 hours for the whole org and reports
``Sforce-Limit-Info: api-usage=N/M`` on every REST response (simple-salesforce parses it into
``sf.api_usage``). With a configured limit the sandbox refuses requests beyond it with 403
``REQUEST_LIMIT_EXCEEDED``; without one it reports an Enterprise-sized allowance and never
refuses. Refused requests are not counted, so a client that waits sees usage fall.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 24 * 3600.0
REPORTED_ALLOWANCE = 100_000
"""Reported when no limit is set: the base daily allowance of an Enterprise Edition org."""


@dataclass(frozen=True)
class Usage:
    """Requests used in the window and the allowance; ``refused`` when over it."""

    used: int
    allowance: int
    refused: bool

    def header(self) -> dict[str, str]:
        """``Sforce-Limit-Info``, in Salesforce's format (``api-usage=18/5000``)."""
        return {"Sforce-Limit-Info": f"api-usage={self.used}/{self.allowance}"}


class ApiUsage:
    """Counts requests in a rolling 24-hour window against an optional daily limit."""

    def __init__(self, daily_limit: int | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if daily_limit is not None and daily_limit < 1:
            raise ValueError("daily_limit must be at least 1")
        self._limit = daily_limit
        self._clock = clock
        self._lock = threading.Lock()
        self._times: deque[float] = deque()

    def admit(self) -> Usage:
        """Decide on one request and count it when admitted."""
        with self._lock:
            self._expire()
            allowance = self._limit if self._limit is not None else REPORTED_ALLOWANCE
            refused = self._limit is not None and len(self._times) >= self._limit
            if not refused:
                self._times.append(self._clock())
            return Usage(len(self._times), allowance, refused)

    def peek(self) -> Usage:
        """Current figures without counting a request."""
        with self._lock:
            self._expire()
            allowance = self._limit if self._limit is not None else REPORTED_ALLOWANCE
            return Usage(len(self._times), allowance, False)

    def _expire(self) -> None:
        horizon = self._clock() - WINDOW_SECONDS
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
