"""Scheduling: cron as people write it, one run per sync at a time, and a clean stop."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler

from sync.schedule import ScheduledSync, build_scheduler, cron_trigger

NEVER = "0 0 1 1 *"
"""New Year's midnight: far enough away that only the tests' own firings happen."""

WAIT = 20.0
"""A safety bound on waiting for a thread or a process; never an expectation of speed."""

# -- cron expressions ------------------------------------------------------------------------


def next_fire_times(cron: str, start: datetime, count: int) -> list[str]:
    trigger = cron_trigger(ScheduledSync("nightly", cron))
    times: list[str] = []
    previous, now = None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        times.append(fire.strftime("%a %Y-%m-%d %H:%M:%S"))
        previous, now = fire, fire + timedelta(seconds=1)
    return times


MONDAY_NOON = datetime(2025, 6, 30, 12, tzinfo=UTC)


def test_weekdays_are_numbered_as_in_crontab() -> None:
    assert next_fire_times("0 6 * * 1-5", MONDAY_NOON, 5) == [
        "Tue 2025-07-01 06:00:00",
        "Wed 2025-07-02 06:00:00",
        "Thu 2025-07-03 06:00:00",
        "Fri 2025-07-04 06:00:00",
        "Mon 2025-07-07 06:00:00",
    ]
    assert next_fire_times("30 2 * * 0", MONDAY_NOON, 2) == [
        "Sun 2025-07-06 02:30:00",
        "Sun 2025-07-13 02:30:00",
    ]
    assert next_fire_times("0 0 * * 7", MONDAY_NOON, 1) == ["Sun 2025-07-06 00:00:00"]
    assert next_fire_times("0 0 * * */2", MONDAY_NOON, 4) == [  # Sunday, Tuesday, ...
        "Tue 2025-07-01 00:00:00",
        "Thu 2025-07-03 00:00:00",
        "Sat 2025-07-05 00:00:00",
        "Sun 2025-07-06 00:00:00",
    ]


def test_day_of_month_or_day_of_week_as_in_crontab() -> None:
    assert next_fire_times("0 0 1 * mon", MONDAY_NOON, 3) == [
        "Tue 2025-07-01 00:00:00",
        "Mon 2025-07-07 00:00:00",
        "Mon 2025-07-14 00:00:00",
    ]


def test_six_fields_put_seconds_first() -> None:
    assert next_fire_times("*/20 * * * * *", MONDAY_NOON, 4) == [
        "Mon 2025-06-30 12:00:00",
        "Mon 2025-06-30 12:00:20",
        "Mon 2025-06-30 12:00:40",
        "Mon 2025-06-30 12:01:00",
    ]


def test_timezone_is_the_syncs() -> None:
    trigger = cron_trigger(ScheduledSync("berlin", "0 6 * * *", timezone="Europe/Berlin"))
    fire = trigger.get_next_fire_time(None, MONDAY_NOON)
    assert fire.astimezone(UTC) == datetime(2025, 7, 1, 4, tzinfo=UTC)  # CEST is UTC+2


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        (
            "0 6 * *",
            (
                "sync 'nightly': bad cron expression '0 6 * *': "
                "expected 5 fields (or 6 with seconds first), got 4"
            ),
        ),
        (
            "61 6 * * *",
            (
                "sync 'nightly': bad cron expression '61 6 * * *': Error validating expression "
                "'61': the last value (61) is higher than the maximum value (59)"
            ),
        ),
        (
            "0 6 * * 8",
            "sync 'nightly': bad cron expression '0 6 * * 8': '8' is not a weekday (0-7 or sun-sat)",
        ),
        (
            "0 6 * * 5-1",
            (
                "sync 'nightly': bad cron expression '0 6 * * 5-1': "
                "day-of-week '5-1' is not a cron weekday range"
            ),
        ),
        (
            "@daily",
            (
                "sync 'nightly': bad cron expression '@daily': "
                "expected 5 fields (or 6 with seconds first), got 1"
            ),
        ),
        (
            "0 six * * *",
            (
                "sync 'nightly': bad cron expression '0 six * * *': "
                'Unrecognized expression "six" for field "hour"'
            ),
        ),
    ],
)
def test_bad_cron_names_the_sync_and_the_expression(cron: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        cron_trigger(ScheduledSync("nightly", cron))
    assert str(error.value) == message


def test_bad_timezone_names_the_sync() -> None:
    with pytest.raises(ValueError) as error:
        cron_trigger(ScheduledSync("nightly", "0 6 * * *", timezone="Mars/Olympus"))
    assert str(error.value) == (
        "sync 'nightly': unknown timezone 'Mars/Olympus' "
        "(expected an IANA name such as Europe/Berlin)"
    )


def test_one_bad_sync_fails_the_whole_build() -> None:
    jobs = [ScheduledSync("fine", NEVER), ScheduledSync("broken", "every day")]
    with pytest.raises(ValueError, match="^sync 'broken': bad cron expression 'every day'"):
        build_scheduler(jobs, lambda name: 0)


def test_duplicate_names_are_refused() -> None:
    jobs = [ScheduledSync("nightly", NEVER), ScheduledSync("nightly", "0 6 * * *")]
    with pytest.raises(ValueError, match="^sync names must be unique to be scheduled: nightly$"):
        build_scheduler(jobs, lambda name: 0)


# -- firing ---------------------------------------------------------------------------------


class Runs:
    """A ``run_sync_once`` stand-in: records names, and holds each run until ``release``."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.started = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, name: str) -> int:
        self.names.append(name)
        self.started.release()
        assert self.release.wait(WAIT)
        return 0


@pytest.fixture
def runs() -> Iterator[Runs]:
    recorder = Runs()
    yield recorder
    recorder.release.set()  # never leave a worker thread waiting


def fire_now(scheduler: BackgroundScheduler, name: str) -> None:
    """Make the sync's next firing due now, as its cron time arriving would."""
    scheduler.modify_job(name, next_run_time=datetime.now(UTC))


def test_a_firing_runs_the_sync_by_name(runs: Runs) -> None:
    scheduler = build_scheduler(
        [ScheduledSync("hubspot", NEVER), ScheduledSync("salesforce", NEVER)], runs
    )
    runs.release.set()
    scheduler.start()
    try:
        fire_now(scheduler, "salesforce")
        assert runs.started.acquire(timeout=WAIT)
    finally:
        scheduler.shutdown(wait=True)
    assert runs.names == ["salesforce"]


def test_a_firing_during_a_run_of_the_same_sync_is_skipped(runs: Runs) -> None:
    scheduler = build_scheduler([ScheduledSync("hubspot", NEVER)], runs)
    skipped: queue.Queue[JobExecutionEvent] = queue.Queue()
    scheduler.add_listener(skipped.put, EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    try:
        fire_now(scheduler, "hubspot")
        assert runs.started.acquire(timeout=WAIT)  # the first run is now in progress
        fire_now(scheduler, "hubspot")
        assert skipped.get(timeout=WAIT).job_id == "hubspot"
        runs.release.set()
    finally:
        scheduler.shutdown(wait=True)
    assert runs.names == ["hubspot"]


def test_jobs_never_overlap_and_collapse_missed_firings() -> None:
    scheduler = build_scheduler([ScheduledSync("hubspot", "0 6 * * *")], lambda name: 0)
    scheduler.start(paused=True)  # job defaults apply when the scheduler starts
    job = scheduler.get_job("hubspot")
    scheduler.shutdown()
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)


# -- stopping -------------------------------------------------------------------------------

SCHEDULE_SCRIPT = """
import logging, sys, time
from pathlib import Path
from sync.schedule import ScheduledSync, build_scheduler, run_until_stopped

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s: %(message)s")
release = Path(sys.argv[1])

def run(name):
    print(f"run {name} started", flush=True)
    while not release.exists():
        time.sleep(0.01)
    print(f"run {name} finished", flush=True)
    return 0

sys.exit(run_until_stopped(build_scheduler([ScheduledSync("tick", "* * * * * *")], run)))
"""


def read_until(lines: queue.Queue[str], text: str, seen: list[str]) -> None:
    """Collect the process's lines into ``seen`` until one contains ``text``."""
    while True:
        line = lines.get(timeout=WAIT)
        seen.append(line)
        if text in line:
            return


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_lets_the_running_sync_finish_then_exits_0(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    script = tmp_path / "schedule.py"
    script.write_text(SCHEDULE_SCRIPT)
    release = tmp_path / "release"
    seen: list[str] = []
    with subprocess.Popen(
        [sys.executable, str(script), str(release)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).parent.parent,
    ) as process:
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda: [lines.put(line.rstrip()) for line in process.stdout]
        )
        reader.start()
        try:
            read_until(lines, "run tick started", seen)
            process.send_signal(stop_signal)
            read_until(lines, "received: stopping once the running syncs finish", seen)
            release.touch()  # only now may the run end: the signal came in the middle of it
            assert process.wait(timeout=WAIT) == 0
        finally:
            process.kill()
            reader.join(timeout=WAIT)
    while not lines.empty():
        seen.append(lines.get())
    stopping = f"sync.schedule: {stop_signal.name} received: stopping once the running syncs finish"
    after_signal = seen[seen.index(stopping) + 1 :]
    assert [line for line in after_signal if not line.startswith("apscheduler")] == [
        "run tick finished",
        "sync.schedule: Sync 'tick' finished with exit code 0",
        "sync.schedule: Scheduler stopped",
    ]
    assert [line for line in seen if line.startswith("run ")] == [
        "run tick started",
        "run tick finished",
    ]
