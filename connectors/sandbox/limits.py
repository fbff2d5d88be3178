"""Rate limiting and fault injection for the sandbox CRM.

A connector is only as good as its behaviour under refusal: the sandbox therefore enforces
HubSpot's limits for real (when asked to) and lets a test make the next few requests fail the
way HubSpot's edge fails, so retry and back-off code is exercised against the same status
codes, bodies and headers it will meet in production.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, get_args

PROFESSIONAL_TEN_SECONDLY = 190
"""Private-app burst limit of a Professional account, reported when no limit is set."""

PROFESSIONAL_DAILY = 625_000
"""Private-app daily limit of a Professional account, reported when no limit is set."""

TEN_SECONDS = 10.0
SEARCH_WINDOW = 1.0

Policy = Literal["TEN_SECONDLY_ROLLING", "DAILY", "SECONDLY"]


@dataclass(frozen=True)
class SandboxLimits:
    """The limits the sandbox enforces; ``None`` means "report HubSpot's numbers, never refuse".

    ``search_per_second`` is always enforced: HubSpot's search bucket (5 requests a second per
    account) is separate from the 10-second one and every search client must live within it.
    """

    ten_secondly: int | None = None
    daily: int | None = None
    search_per_second: int = 5


@dataclass(frozen=True)
class Usage:
    """What one request may do, and the figures HubSpot reports in its rate-limit headers."""

    refused_by: Policy | None
    max: int
    remaining: int
    daily: int
    daily_remaining: int

    def headers(self) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers HubSpot sends on every non-search response."""
        return {
            "X-HubSpot-RateLimit-Max": str(self.max),
            "X-HubSpot-RateLimit-Remaining": str(self.remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(TEN_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Daily": str(self.daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(self.daily_remaining),
        }


class RateLimiter:
    """Counts requests in a rolling 10-second window, a rolling 1-second search window and a day.

    Refused requests are not counted: a client that backs off correctly must see the window
    drain. The day is the UTC day (HubSpot resets at midnight in the account's time zone; the
    sandbox's account lives in UTC). Searches do not count towards the 10-second window
    (HubSpot's separate search bucket); they do count towards the day (a sandbox assumption:
    HubSpot does not say).
    """

    def __init__(
        self,
        limits: SandboxLimits,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._today = today
        self._lock = threading.Lock()
        self._burst: deque[float] = deque()
        self._search: deque[float] = deque()
        self._day = today()
        self._daily_used = 0

    def admit(self, search: bool) -> Usage:
        """Decide on one request and, when it is admitted, count it."""
        with self._lock:
            now = self._clock()
            self._roll_day()
            _drop_older_than(self._burst, now - TEN_SECONDS)
            _drop_older_than(self._search, now - SEARCH_WINDOW)
            refused = self._refusal(search)
            if refused is None:
                self._daily_used += 1
                (self._search if search else self._burst).append(now)
            return self._usage(refused)

    def peek(self) -> Usage:
        """Current figures without counting a request (for a 429 the sandbox makes up)."""
        with self._lock:
            now = self._clock()
            self._roll_day()
            _drop_older_than(self._burst, now - TEN_SECONDS)
            return self._usage(None)

    def _refusal(self, search: bool) -> Policy | None:
        limits = self._limits
        if limits.daily is not None and self._daily_used >= limits.daily:
            return "DAILY"
        if search:
            return "SECONDLY" if len(self._search) >= limits.search_per_second else None
        if limits.ten_secondly is not None and len(self._burst) >= limits.ten_secondly:
            return "TEN_SECONDLY_ROLLING"
        return None

    def _usage(self, refused: Policy | None) -> Usage:
        limits = self._limits
        burst_max = (PROFESSIONAL_TEN_SECONDLY if limits.ten_secondly is None
                     else limits.ten_secondly)
        daily_max = PROFESSIONAL_DAILY if limits.daily is None else limits.daily
        return Usage(
            refused_by=refused,
            max=burst_max,
            remaining=max(0, burst_max - len(self._burst)),
            daily=daily_max,
            daily_remaining=max(0, daily_max - self._daily_used),
        )

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._day:
            self._day = today
            self._daily_used = 0


def _drop_older_than(window: deque[float], horizon: float) -> None:
    while window and window[0] <= horizon:
        window.popleft()


GarbledAnswer = Literal["empty_answer", "html_answer", "partial_answer"]
"""A request carried out whose 200 answer does not say so: ``{}``, an HTML page, or a batch
answer whose ``results`` lack some of the records written."""

GARBLED_ANSWERS: frozenset[GarbledAnswer] = frozenset(get_args(GarbledAnswer))

FaultStatus = int | Literal["disconnect"] | GarbledAnswer

SUPPORTED_FAULTS: frozenset[FaultStatus] = frozenset(
    {429, 500, 502, 503, 504, 520, 521, 522, 523, 524, *GARBLED_ANSWERS}
)
"""HubSpot's: its rate limit, the application's 500 and its edges' 502-504 and 52x, and
answers that confirm less than was done."""


@dataclass
class Fault:
    """A pending failure: the next ``remaining`` requests matching ``route`` get ``status``.

    ``policy`` names the limit a 429 reports (None: the one the request's route would hit).
    ``after_commit`` models the nastiest production case: the CRM carried the request out, but
    the answer was lost on the way back (a gateway timeout or a dropped connection).
    """

    status: FaultStatus
    remaining: int
    route: str | None
    policy: Policy | None
    after_commit: bool


class FaultInjector:
    """Holds the faults a test asked for and hands them out to matching requests, oldest first.

    ``supported`` are the statuses the CRM is known to produce (HubSpot's by default), so a
    test cannot inject a failure the real API never shows.
    """

    def __init__(self, supported: Collection[FaultStatus] = SUPPORTED_FAULTS) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._supported = frozenset(supported)

    def add(self, fault: Fault) -> None:
        """Queue a fault; validated here so a typo fails in the test, not as a silent no-op."""
        if fault.status != "disconnect" and fault.status not in self._supported:
            raise ValueError(
                f"unsupported fault status {fault.status!r}: use 'disconnect' or one of "
                f"{sorted(self._supported, key=str)}"
            )
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def take(self, route: str) -> Fault | None:
        """The fault that applies to this request, if any, using up one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.route is None or fault.route == route:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None


class ListingCut:
    """A contact listing that ends early: the page reaching record ``after`` stops there and
    carries no next link, as a broken proxy, a timeout swallowed by a gateway, or a CRM bug
    can end a listing. The API itself says nothing is wrong, so only a client that compares
    what it read with the CRM's own count can tell. ``None`` lists everything again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._after: int | None = None

    def set(self, after: int | None) -> None:
        if after is not None and after < 0:
            raise ValueError("a listing cannot end before its first record")
        with self._lock:
            self._after = after

    @property
    def after(self) -> int | None:
        with self._lock:
            return self._after
