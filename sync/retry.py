"""The one retry policy of segsync: tenacity around every connector call.

Connectors decide what a failure means (``RateLimited``, ``Transient`` ...); this module only
decides how long to wait. The server's own wait (Retry-After, the 10-second window) is a floor;
exponential backoff with jitter grows past it on repeated failures, up to a cap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from connectors.base import RateLimited, RateLimitStatus, Transient
from sync.pacing import BudgetExhausted, Pacer

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """Transient failures and rate limits that reset within the run (not the daily limit)."""
    if isinstance(exc, RateLimited):
        return exc.scope != "daily"
    return isinstance(exc, Transient)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per call and the backoff curve in seconds."""

    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(
            multiplier=self.initial_wait, max=self.max_wait, jitter=self.initial_wait
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None) or 0.0
        return max(backoff, min(asked, self.max_wait))

    def call(
        self,
        fn: Callable[..., T],
        *args: object,
        on_retry: Callable[[BaseException], None] | None = None,
    ) -> T:
        """Run ``fn`` until it succeeds, a non-retryable error occurs, or attempts run out."""

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            if on_retry is not None and error is not None:
                on_retry(error)

        retrying = Retrying(
            retry=retry_if_exception(is_retryable),
            wait=self._wait,
            stop=stop_after_attempt(self.attempts),
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn, *args)


class Retrier:
    """One run's gateway to the CRM: every call is paced, retried under the policy, and counted.

    ``observe`` is called after every attempt (successful or not) so the pacer can read the
    rate-limit figures the CRM just sent. Safe to call from several threads at once.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        pacer: Pacer | None = None,
        observe: Callable[[], RateLimitStatus] | None = None,
    ) -> None:
        self.policy = policy
        self.pacer = pacer
        self.observe = observe
        self.attempts = 0
        self.retries = 0
        self._lock = threading.Lock()

    def call(self, fn: Callable[..., T], *args: object, requests: int = 1) -> T:
        """Call ``fn(*args)`` under the retry policy, counting attempts and retries.

        ``requests`` is how many requests one call of ``fn`` may make, so the pacer can keep
        room for all of them.
        """

        def attempt() -> T:
            if self.pacer is not None:
                self.pacer.acquire(requests)
            self._count_attempt()
            try:
                return fn(*args)
            finally:
                if self.pacer is not None:
                    self.pacer.release(requests)
                    if self.observe is not None:
                        self.pacer.observe(self.observe())

        try:
            return self.policy.call(attempt, on_retry=self._count_retry)
        except RateLimited as exc:
            if exc.scope == "daily":  # resets at the account's midnight: end the run cleanly
                raise BudgetExhausted(f"the CRM's daily request limit is used up ({exc})") from exc
            raise

    def _count_attempt(self) -> None:
        with self._lock:
            self.attempts += 1

    def _count_retry(self, _exc: BaseException) -> None:
        with self._lock:
            self.retries += 1
