"""Pacing: stay under the CRM's rate limits before it has to say 429.

The budget's ``per_window`` requests per ``window_seconds`` is kept as the CRM keeps it, as a
rolling window, corrected by what the CRM's own headers say is left. A run may spend at most a
configured share of the daily budget; past it the run stops cleanly (``BudgetExhausted``) and
the next run picks up the remaining work.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from connectors.base import RateLimitStatus, RequestBudget


class BudgetExhausted(Exception):
    """This run spent its share of the daily request budget; the rest waits for the next run."""


@dataclass
class Pacer:
    """Admits requests, from any number of threads, at no more than the budget's rate.

    A request holds a place in the window from its admission (``acquire``) until
    ``window_seconds`` after its answer came back (``release``). The CRM counts it at some
    moment in between, so no window of the CRM's can hold more than ``per_window`` of our
    requests, whatever their latencies and however many are in flight. A call that may make
    several requests holds a place for each. When the CRM reports fewer requests left than the
    pacer has free (another client shares the limit), the difference is taken as spent now.
    """

    budget: RequestBudget
    daily_share: float = 0.5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._released: deque[float] = deque()  # answer times within the window, oldest first
        self._in_flight = 0
        self._observed: RateLimitStatus | None = None
        self.calls = 0
        self._window: tuple[int, float] | None = None
        if self.budget.per_window and self.budget.window_seconds:
            self._window = (self.budget.per_window, self.budget.window_seconds)
        self._daily_max = self.budget.daily
        self._daily_remaining: int | None = None
        self._first_remaining: int | None = None

    def acquire(self, requests: int = 1) -> None:
        """Block until a call of up to ``requests`` requests may start; raise BudgetExhausted
        when the run's share is spent.

        Waiting happens outside the lock, so other threads can release and observe meanwhile.
        """
        places = self._places(requests)
        while True:
            with self._lock:
                self._check_daily()
                wait = self._wait(self.clock(), places)
                if wait <= 0:
                    self._in_flight += places
                    self.calls += places
                    return
            self.sleep(wait)

    def release(self, requests: int = 1) -> None:
        """The call admitted by ``acquire(requests)`` is over, answered or failed."""
        places = self._places(requests)
        with self._lock:
            self._in_flight -= places
            if self._window is not None:
                self._released.extend([self.clock()] * places)

    def observe(self, status: RateLimitStatus) -> None:
        """Correct the window and the daily figures with the CRM's own headers.

        A report already applied is skipped: a connector keeps its last report through answers
        that carry none (HubSpot's searches, errors), and counting its deficit again each time
        would keep the window full long after the requests it counted have left it.
        """
        with self._lock:
            if status is self._observed:
                return
            self._observed = status
            self._adopt_lower_window(status)
            if status.window_remaining is not None and self._window is not None:
                now = self.clock()
                free = self._window[0] - self._used(now)
                self._released.extend([now] * max(0, free - status.window_remaining))
            if status.daily_max is not None:
                self._daily_max = status.daily_max
            if status.daily_remaining is not None:
                if self._first_remaining is None:
                    self._first_remaining = status.daily_remaining + 1  # before our 1st call
                self._daily_remaining = status.daily_remaining

    def _adopt_lower_window(self, status: RateLimitStatus) -> None:
        """Take the CRM's window when it allows a lower rate than the one being kept."""
        if self._window is None or not status.window_max or status.window_max < 1:
            return
        seconds = status.window_seconds or self._window[1]
        if status.window_max / seconds < self._window[0] / self._window[1]:
            self._window = (status.window_max, seconds)

    def _used(self, now: float) -> int:
        """Places held: requests in flight and answers younger than the window."""
        assert self._window is not None
        horizon = now - self._window[1]
        while self._released and self._released[0] <= horizon:
            self._released.popleft()
        return len(self._released) + self._in_flight

    def _places(self, requests: int) -> int:
        """Places a call holds: one per request, never more than the window has."""
        return min(requests, self._window[0]) if self._window is not None else requests

    def _wait(self, now: float, places: int) -> float:
        """Seconds until ``places`` places are free (> 0), or 0 when they are free ``now``."""
        if self._window is None:
            return 0.0
        limit, seconds = self._window
        missing = self._used(now) + places - limit
        if missing <= 0:
            return 0.0
        if missing > len(self._released):  # the places are held by calls in flight
            return seconds / limit
        return self._released[missing - 1] + seconds - now

    def _check_daily(self) -> None:
        if self._daily_remaining is not None and self._daily_remaining <= 0:
            raise BudgetExhausted("the CRM's daily request limit is used up")
        spent = self._spent()
        if self._daily_max is not None and spent >= self._daily_max * self.daily_share:
            raise BudgetExhausted(
                f"this run used {spent:,} requests, its share ({self.daily_share:.0%}) of "
                f"the daily limit of {self._daily_max:,}"
            )

    def _spent(self) -> int:
        """Requests this run made: by the CRM's own daily counter when it reports one (a
        connector call may take several requests), else by the places admitted here."""
        if self._first_remaining is not None and self._daily_remaining is not None:
            return max(self.calls, self._first_remaining - self._daily_remaining)
        return self.calls
