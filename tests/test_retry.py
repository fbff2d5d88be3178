"""The retry policy: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import pytest

from connectors.base import AuthFailed, RateLimited, Transient
from sync.retry import RetryPolicy


class Flaky:
    """Raises the given errors in order, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def policy(waits: list[float], attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, initial_wait=0.01, max_wait=30, sleep=waits.append)


def test_transient_errors_and_rate_limits_are_retried_honouring_the_server_wait() -> None:
    waits: list[float] = []
    seen: list[BaseException] = []
    flaky = Flaky(Transient("502"), RateLimited("429", retry_after=7.5, scope="ten_secondly"))
    assert policy(waits).call(flaky, on_retry=seen.append) == "done"
    assert flaky.calls == 3
    assert [type(e) for e in seen] == [Transient, RateLimited]
    assert waits[0] < 1.0
    assert waits[1] >= 7.5


def test_the_daily_limit_and_auth_failures_are_not_retried() -> None:
    waits: list[float] = []
    daily = Flaky(RateLimited("daily", retry_after=3600, scope="daily"))
    with pytest.raises(RateLimited):
        policy(waits).call(daily)
    auth = Flaky(AuthFailed("401"))
    with pytest.raises(AuthFailed):
        policy(waits).call(auth)
    assert (daily.calls, auth.calls, waits) == (1, 1, [])


def test_attempts_are_bounded_and_the_last_error_surfaces() -> None:
    waits: list[float] = []
    flaky = Flaky(*[Transient(f"failure {n}") for n in range(10)])
    with pytest.raises(Transient, match="failure 3"):
        policy(waits, attempts=4).call(flaky)
    assert flaky.calls == 4
    assert len(waits) == 3
