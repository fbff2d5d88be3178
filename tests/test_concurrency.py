"""Batches in parallel: bounded, within the rate limit, and each acknowledged one recorded once.

The executor sends independent batches on up to ``limits.max_concurrency`` threads through a
sandbox that takes ``latency`` seconds a request, as the real API does. What is checked is
behaviour, never timing: how many calls were in flight at once, what the sandbox refused, what
it holds afterwards, and what the checkpoint heard, from which thread.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from connectors.base import (
    AuthFailed,
    ListRef,
    MembershipChange,
    PropertyWrite,
    RateLimitStatus,
    RequestBudget,
    WriteResult,
)
from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox, SandboxLimits
from connectors.sandbox import limits as sandbox_limits
from sync.effect import BatchEffect
from sync.execute import Executor
from sync.pacing import Pacer
from sync.plan import ListChange, Plan
from sync.progress import SilentProgress
from sync.retry import Retrier
from tests.conftest import TOKEN, hubspot_settings
from tests.expectations import FAST_RETRY

T = TypeVar("T")
WRITE_ROUTE = "POST /crm/v3/objects/contacts/batch/update"
LATENCY = 0.02


class InFlight:
    """A real connector whose batch calls are counted while they run (the client's view)."""

    def __init__(self, connector: HubSpotConnector) -> None:
        self._connector = connector
        self._lock = threading.Lock()
        self._running = 0
        self.peak = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connector, name)

    def _track(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            self._running += 1
            self.peak = max(self.peak, self._running)
        try:
            return fn(*args)
        finally:
            with self._lock:
                self._running -= 1

    def write_properties(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        return self._track(self._connector.write_properties, writes)

    def add_list_members(self, list_ref: ListRef, ids: Iterable[str]) -> MembershipChange:
        return self._track(self._connector.add_list_members, list_ref, ids)

    def remove_list_members(self, list_ref: ListRef, ids: Iterable[str]) -> MembershipChange:
        return self._track(self._connector.remove_list_members, list_ref, ids)


class FailsOnFifthWrite(InFlight):
    """The fifth batch write fails for good (a revoked token) while others are in flight."""

    writes = 0

    def write_properties(self, writes: Sequence[PropertyWrite]) -> list[WriteResult]:
        with self._lock:
            self.writes += 1
            fifth = self.writes == 5
        if fifth:
            raise AuthFailed("the token was revoked")
        return super().write_properties(writes)


class Recorder:
    """A checkpoint that notes each batch's ids and the thread that reported it."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, str, frozenset[str]]] = []
        self.threads: set[int] = set()

    def batch_done(self, effect: BatchEffect) -> None:
        self.threads.add(threading.get_ident())
        ids = frozenset(effect.written) | frozenset(effect.added) | frozenset(effect.removed)
        failed = {f.contact_id for f in effect.failures}
        self.batches.append((effect.kind, effect.target, ids | failed))

    def ids(self, kind: str) -> Counter[str]:
        return Counter(i for k, _, ids in self.batches if k == kind for i in ids)


def executor(connector: Any, checkpoint: Recorder) -> Executor:
    """An executor with the run's pacing and retries, as ``SyncRun`` builds it."""
    pacer = Pacer(connector.limits.budget)
    retrier = Retrier(FAST_RETRY, pacer, connector.rate_limit_status)
    return Executor(connector, retrier, SilentProgress(), checkpoint)


def title_writes(ids: Sequence[str]) -> tuple[PropertyWrite, ...]:
    return tuple(PropertyWrite(i, {"jobtitle": f"title {i}"}) for i in ids)


def limit(connector: HubSpotConnector, **limits: Any) -> None:
    connector.limits = dataclasses.replace(connector.limits, **limits)


def test_batches_run_in_parallel_up_to_the_limit_and_each_is_recorded_once_here() -> None:
    with HubSpotSandbox(TOKEN, latency=LATENCY) as crm:
        ids = crm.seed_contacts(1200, seed=1)
        real = HubSpotConnector(hubspot_settings(crm))
        kept = real.create_list("segsync: Kept")
        real.add_list_members(kept, ids[600:900])
        limit(real, max_concurrency=4, write_batch_size=50, list_change_batch_size=100)
        connector = InFlight(real)
        checkpoint = Recorder()
        plan = Plan(
            fields=(),
            writes=title_writes(ids),
            list_changes=(
                ListChange("New", "segsync: New", None, add=tuple(ids[:600]), remove=()),
                ListChange(
                    "Kept", kept.name, kept, add=tuple(ids[900:1000]), remove=tuple(ids[600:750])
                ),
            ),
        )
        result = executor(connector, checkpoint).run(plan)
        real.close()

        assert 1 < connector.peak <= 4
        assert checkpoint.threads == {threading.get_ident()}
        assert checkpoint.ids("write") == Counter(ids)  # every record, in exactly one batch
        assert checkpoint.ids("list_add") == Counter(ids[:600] + ids[900:1000])
        assert checkpoint.ids("list_remove") == Counter(ids[600:750])
        assert len(checkpoint.batches) == 24 + 6 + 1 + 2 + 1  # and "segsync: New" created
        assert result.written == set(ids)
        assert all(crm.store.contact(i)["jobtitle"] == f"title {i}" for i in ids)
        new = crm.store.list_by_name("segsync: New")
        assert new is not None and crm.store.list_members(new["listId"]) == set(ids[:600])
        assert crm.store.list_members(kept.id) == set(ids[750:1000])
        assert crm.calls[WRITE_ROUTE] == 24
        assert not [r for r in crm.call_log if r.status == 429]


@contextmanager
def titles_written_at_eight_a_second(
    monkeypatch: pytest.MonkeyPatch, *, portal_limit: int, contacts: int
) -> Iterator[tuple[HubSpotSandbox, list[str], Recorder]]:
    """Every contact's title written in batches of 10, 4 at a time, by a connector configured
    for 8 requests a second, into a portal allowing ``portal_limit`` a second (a 1-second
    window instead of HubSpot's 10: several windows in a short test)."""
    monkeypatch.setattr(sandbox_limits, "TEN_SECONDS", 1.0)
    with HubSpotSandbox(TOKEN, SandboxLimits(ten_secondly=portal_limit), latency=LATENCY) as crm:
        ids = crm.seed_contacts(contacts, seed=portal_limit)
        connector = HubSpotConnector(hubspot_settings(crm))
        limit(
            connector,
            max_concurrency=4,
            write_batch_size=10,
            budget=RequestBudget(per_window=8, window_seconds=1.0, daily=None),
        )
        checkpoint = Recorder()
        executor(connector, checkpoint).run(Plan((), title_writes(ids), ()))
        connector.close()
        yield crm, ids, checkpoint


def test_a_known_rate_limit_is_never_overrun_by_parallel_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with titles_written_at_eight_a_second(monkeypatch, portal_limit=8, contacts=240) as (
        crm,
        ids,
        checkpoint,
    ):
        assert crm.calls[WRITE_ROUTE] == 24  # three windows' worth
        assert [r.status for r in crm.call_log] == [200] * 24
        assert checkpoint.ids("write") == Counter(ids)
        assert all(crm.store.contact(i)["jobtitle"] == f"title {i}" for i in ids)


def test_a_lower_limit_reported_by_the_crm_wins_over_the_configured_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Configured for 8 a second; the portal allows 4 and says so in its headers.
    with titles_written_at_eight_a_second(monkeypatch, portal_limit=4, contacts=120) as (
        crm,
        ids,
        checkpoint,
    ):
        assert [r.status for r in crm.call_log] == [200] * 12
        assert checkpoint.ids("write") == Counter(ids)


def test_a_failure_stops_new_batches_and_those_in_flight_are_still_recorded() -> None:
    with HubSpotSandbox(TOKEN, latency=LATENCY) as crm:
        ids = crm.seed_contacts(1000, seed=3)
        real = HubSpotConnector(hubspot_settings(crm))
        limit(real, max_concurrency=4, write_batch_size=50)
        connector = FailsOnFifthWrite(real)
        checkpoint = Recorder()
        with pytest.raises(AuthFailed):
            executor(connector, checkpoint).run(Plan((), title_writes(ids), ()))
        real.close()

        done = {i for i in ids if crm.store.contact(i)["jobtitle"] == f"title {i}"}
        assert checkpoint.ids("write") == Counter(done)  # acknowledged = recorded, once each
        assert crm.calls[WRITE_ROUTE] == len(checkpoint.batches) < 20
        assert checkpoint.threads == {threading.get_ident()}


class FakeTime:
    """A clock that moves only when the pacer sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def pacer(per_window: int, fake: FakeTime) -> Pacer:
    return Pacer(RequestBudget(per_window, 10.0, None), clock=fake.clock, sleep=fake.sleep)


def test_a_place_is_held_from_admission_until_a_window_after_the_answer() -> None:
    fake = FakeTime()
    paced = pacer(2, fake)
    paced.acquire()
    fake.now = 1
    paced.acquire()
    fake.now = 3
    paced.release()  # the first answer: its place frees at 13
    fake.now = 4
    paced.release()  # the second: at 14
    fake.now = 5
    paced.acquire()
    paced.acquire()
    assert fake.slept == [8.0, 1.0]


def test_a_call_of_several_requests_holds_a_place_for_each() -> None:
    fake = FakeTime()
    paced = pacer(3, fake)
    paced.acquire(requests=3)
    paced.release(requests=3)
    fake.now = 2
    paced.acquire()
    assert fake.slept == [8.0]


def test_the_crms_remaining_count_shrinks_the_window() -> None:
    fake = FakeTime()
    paced = pacer(10, fake)
    paced.acquire()
    paced.release()
    paced.observe(RateLimitStatus(window_remaining=2))  # another client spent 7 of our 10
    paced.acquire()
    paced.acquire()
    fake.now = 1
    paced.acquire()
    assert fake.slept == [9.0]


def test_the_crms_lower_window_is_adopted_for_the_rest_of_the_run() -> None:
    fake = FakeTime()
    paced = pacer(190, fake)
    paced.observe(RateLimitStatus(window_max=2, window_seconds=10.0))
    paced.acquire()
    paced.release()
    paced.acquire()
    paced.release()
    paced.observe(RateLimitStatus(window_max=500, window_seconds=10.0))  # higher: not taken
    paced.acquire()
    assert fake.slept == [10.0]


def test_a_report_seen_again_is_not_counted_again() -> None:
    fake = FakeTime()
    paced = pacer(10, fake)
    paced.acquire()
    paced.release()
    report = RateLimitStatus(window_remaining=5)
    paced.observe(report)
    fake.now = 11  # everything counted so far has left the window
    paced.observe(report)  # the same report, kept through answers without headers
    for _ in range(10):
        paced.acquire()
    assert fake.slept == []
