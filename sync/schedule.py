"""``segsync schedule``: every sync on its own cron timetable, in one long-lived process.

APScheduler does the timekeeping. What this module adds is the policy a CRM sync needs:

- never two runs of one sync at once: a firing while the previous run is still going is
  skipped (``max_instances=1``), and firings missed while the process was busy or asleep
  collapse into one (``coalesce``);
- cron as people know it: ``0 6 * * 1-5`` means weekdays, whatever APScheduler 3's own
  numbering (Monday = 0) says, and a restricted day-of-month *or* day-of-week fires on either,
  as in cron(8);
- a clean stop: on SIGTERM (systemd, Kubernetes) or SIGINT (Ctrl-C) no new run starts, the
  running ones finish, and the process exits 0, so a deploy never cuts a sync in half.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from sync.stop_signals import STOP_SIGNALS, caught_stop_signals

log = logging.getLogger(__name__)

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
"""Cron's weekday numbers: 0 (and 7) is Sunday."""


@dataclass(frozen=True)
class ScheduledSync:
    """One sync and when it runs.

    ``cron`` has five fields (minute hour day-of-month month day-of-week, as in crontab) or six,
    with a seconds field first (``*/30 * * * * *``: every 30 seconds). ``timezone`` is an IANA
    name; the default, UTC, does not shift with daylight saving.
    """

    name: str
    cron: str
    timezone: str = "UTC"


def cron_trigger(sync: ScheduledSync) -> BaseTrigger:
    """The trigger for ``sync.cron``; ``ValueError`` naming the sync and the expression if bad."""
    try:
        return _trigger(sync.cron.split(), sync.timezone)
    except KeyError:  # zoneinfo's ZoneInfoNotFoundError
        raise ValueError(
            f"sync {sync.name!r}: unknown timezone {sync.timezone!r} "
            "(expected an IANA name such as Europe/Berlin)"
        ) from None
    except ValueError as error:
        raise ValueError(
            f"sync {sync.name!r}: bad cron expression {sync.cron!r}: {error}"
        ) from None


def build_scheduler(
    jobs: Sequence[ScheduledSync], run: Callable[[str], int]
) -> BackgroundScheduler:
    """A scheduler (not started) that calls ``run(name)`` at each firing of each sync.

    Every expression is checked before anything is scheduled, so a typo in the last sync stops
    the process at start, not at three in the morning. Each sync gets its own worker thread, so
    a long sync never delays another one's firing.
    """
    names = [job.name for job in jobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"sync names must be unique to be scheduled: {', '.join(duplicates)}")
    triggers = {job.name: cron_trigger(job) for job in jobs}
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(jobs)))},
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        timezone="UTC",
    )
    for job in jobs:
        scheduler.add_job(
            _fire, triggers[job.name], args=(run, job.name), id=job.name, name=job.name
        )
    return scheduler


def run_until_stopped(
    scheduler: BackgroundScheduler, stop_signals: Sequence[signal.Signals] = STOP_SIGNALS
) -> int:
    """Start ``scheduler`` and block until one of ``stop_signals``; then stop gracefully.

    No run starts after the signal; the running ones finish before this returns 0. A second
    signal gets its usual effect (Ctrl-C twice stops at once). Call it from the main thread.
    """
    with caught_stop_signals(stop_signals) as wait_for_signal:
        scheduler.start()
        for job in scheduler.get_jobs():
            log.info("Sync %r scheduled; next run at %s", job.name, job.next_run_time)
        received = wait_for_signal()
    log.info("%s received: stopping once the running syncs finish", received.name)
    scheduler.shutdown(wait=True)
    log.info("Scheduler stopped")
    return 0


def _fire(run: Callable[[str], int], name: str) -> None:
    """One firing: the sync's run, bracketed by log lines an operator can grep."""
    log.info("Sync %r started", name)
    code = run(name)
    log.info("Sync %r finished with exit code %d", name, code)


def _trigger(fields: list[str], timezone: str) -> BaseTrigger:
    if len(fields) not in (5, 6):
        raise ValueError(f"expected 5 fields (or 6 with seconds first), got {len(fields)}")
    *seconds, minute, hour, day, month, weekday = fields
    second = seconds[0] if seconds else "0"
    weekday = _weekday_names(weekday)

    def cron(day: str, day_of_week: str) -> CronTrigger:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=timezone,
        )

    if day != "*" and weekday != "*":  # cron(8): either day matches
        return OrTrigger([cron(day, "*"), cron("*", weekday)])
    return cron(day, weekday)


def _weekday_names(field: str) -> str:
    """A cron day-of-week field as APScheduler weekday names (``1-5/2`` → ``mon,wed,fri``).

    APScheduler 3 numbers weekdays from Monday = 0 where cron has Sunday = 0, so numbers are
    expanded here and passed on as names, which both read the same way.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        span, _, step = item.partition("/")
        if span == "*":
            first, last = 0, 6
        else:
            start, dash, end = span.partition("-")
            first = _weekday_number(start)
            last = _weekday_number(end) if dash else (6 if step else first)
        if step and (not step.isdigit() or int(step) == 0) or first > last:
            raise ValueError(f"day-of-week {item!r} is not a cron weekday range")
        days.update(day % 7 for day in range(first, last + 1, int(step or 1)))
    return ",".join(WEEKDAYS[day] for day in sorted(days))


def _weekday_number(text: str) -> int:
    """0-7 or a three-letter name; 7 is Sunday too."""
    if text in WEEKDAYS:
        return WEEKDAYS.index(text)
    if text.isdigit() and int(text) <= 7:
        return int(text)
    raise ValueError(f"{text!r} is not a weekday (0-7 or sun-sat)")
