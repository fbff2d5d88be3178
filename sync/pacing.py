"""Pacing: stay under the CRM's rate limits before it has to say 429.

A token bucket is set from the connector's documented budget and corrected by what the CRM's
own headers say is left. A run may spend at most a configured share of the daily budget; past
it the run stops cleanly (``BudgetExhausted``) and the next run picks up the remaining work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from connectors.base import RateLimitStatus, RequestBudget


class BudgetExhausted(Exception):
    """This run spent its share of the daily request budget; the rest waits for the next run."""


@dataclass
class Pacer:
    """Admits one request at a time at no more than the budget's rate.

    ``per_window`` requests per ``window_seconds`` become a bucket of ``per_window`` tokens
    refilled continuously; when the CRM reports fewer remaining requests in its window than the
    bucket holds, the bucket shrinks to match (another client may share the limit).
    """

    budget: RequestBudget
    daily_share: float = 0.5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = float(self.budget.per_window or 0)
        self._updated = self.clock()
        self.calls = 0
        self._daily_max = self.budget.daily
        self._daily_remaining: int | None = None
        self._first_remaining: int | None = None

    @property
    def _rate(self) -> float | None:
        if not (self.budget.per_window and self.budget.window_seconds):
            return None
        return self.budget.per_window / self.budget.window_seconds

    def acquire(self) -> None:
        """Block until a request may be sent; raise BudgetExhausted when the run's share is spent."""
        with self._lock:
            self._check_daily()
            rate = self._rate
            if rate is not None:
                self._refill(rate)
                if self._tokens < 1:
                    wait = (1 - self._tokens) / rate
                    self.sleep(wait)
                    self._refill(rate)
                self._tokens -= 1
            self.calls += 1

    def observe(self, status: RateLimitStatus) -> None:
        """Correct the bucket and the daily figures with the CRM's own headers."""
        with self._lock:
            if status.window_remaining is not None:
                self._tokens = min(self._tokens, float(status.window_remaining))
            if status.daily_max is not None:
                self._daily_max = status.daily_max
            if status.daily_remaining is not None:
                if self._first_remaining is None:
                    self._first_remaining = status.daily_remaining + 1  # before our 1st call
                self._daily_remaining = status.daily_remaining

    def _refill(self, rate: float) -> None:
        now = self.clock()
        capacity = float(self.budget.per_window or 0)
        self._tokens = min(capacity, self._tokens + (now - self._updated) * rate)
        self._updated = now

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
        connector call may take several requests), else by the calls admitted here."""
        if self._first_remaining is not None and self._daily_remaining is not None:
            return max(self.calls, self._first_remaining - self._daily_remaining)
        return self.calls
