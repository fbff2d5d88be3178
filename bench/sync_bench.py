"""A whole sync of N contacts against the sandbox HubSpot at a set rate limit.

Run: .venv/bin/python bench/sync_bench.py [contacts | --contacts N] [--rate R] [--workers W]
[--sample M]   (default: 100,000 contacts at 190 requests per 10 s; 2000 is a smoke check)
or:  .venv/bin/python bench/sync_bench.py --latency [MS ...] [--contacts N]   (default: 50, 100
and 200 ms on 100,000 contacts, issue #14's figure, ~15 minutes; ``--contacts 10000`` is a
quick look)

The sandbox enforces ``--rate`` requests per rolling 10 s (by default HubSpot Professional's
190; on a 2-core machine the client and the in-process sandbox share the CPU and top out near
250) and the connector is told the same limit, as a configured one would be. ``--workers``
overrides the connector's ``max_concurrency``, to compare with one call at a time.

``--latency`` adds milliseconds to every request, as a round trip to the real API does
(loopback answers in milliseconds), and prints wall/floor at each latency for a first full run
and a forced full run (``--full``) with nothing to write, each on a fresh portal: the runs a
client that waits on the latency one call at a time would fall behind on.

Three runs on one portal: a full run; an hour later, after people changed 1% of the contacts,
an incremental run that also re-reads every contact the full run wrote (segsync's own writes
bump ``lastmodifieddate``): the settling run; another hour and 1% later, the incremental run
the targets are about. The portal's clock is moved on by hand between them. Then the naive
baseline, one record per call and one call at a time, measured on a sample and scaled.

Every figure comes from the sandbox's call log; nothing is asserted. Definitions:

- minimum calls = pages to read the contacts that need reading (full: every contact, 100 a
  page, or 200 a page when the pull also searched id ranges, as if all were searched;
  incremental: those people changed, 200 a search page) + the plan's write calls
  (ceil(writes / 100) batch updates, one call per 1,000 list members added or removed per list,
  one per missing field, one per list to create) + setup: reading the field list, looking up
  each segment's list by name, and the property group when fields are created + the safety
  calls, shown apart in the "Safety" column: a full pull's count of the contacts before and
  after it (a pull that missed contacts replaces no state) and an incremental run's read of the
  contacts deleted since the last run (pages of the archive, never inferred from a pull).
  A full run that read every list (a forced one) also needs each list's member pages: 250 a
  page of the members the list held when the run began.
- floor = the least time the calls take at the rate limit. The non-search calls run under the
  rolling 10 s window and the searches under HubSpot's separate rolling bucket of 5 a second;
  the two buckets drain side by side, but a run's writes wait for its reads. So the calls are
  cut where the first write goes out, and each part takes as long as its slower bucket. A
  rolling window lets its first ``capacity`` requests through at once, and each later
  ``capacity`` a window after them: n calls need window * floor((n - 1) / capacity) seconds,
  not n / rate. So each run starts once the previous run's calls have left the windows, as a
  scheduled run does.
- naive estimate = the sample's calls that do not depend on the contacts (field list, list
  lookups and creations, fields) as measured, plus its per-contact calls (reads, record writes,
  membership changes) scaled to the contacts; seconds per call as measured, but never under
  the estimate's floor.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Run as a script, this file's directory comes first on the path, and its name hides the
# ``sync`` package.
sys.path = [entry for entry in sys.path if Path(entry).resolve() != Path(__file__).parent.resolve()]

from pydantic import SecretStr
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.table import Table

from connectors.hubspot import HubSpotConnector, HubSpotSettings
from connectors.hubspot.pulls import SEARCH_PAGE_SIZE
from connectors.sandbox import HubSpotSandbox, SandboxLimits
from connectors.sandbox.base import CallRecord
from connectors.sandbox.timestamps import wall_clock_ms
from sync.config import SegmentConfig, Settings, SyncOptions
from sync.names import list_name
from sync.outcome import SyncOutcome
from sync.pipeline import run_sync
from sync.progress import RichProgress

TOKEN = "bench-token"
SEARCH_ROUTE = "POST /crm/v3/objects/contacts/search"
SEARCH_PER_SECOND = 5
SEARCH_WINDOW_SECONDS = 1.0
TEN_SECONDS = 10.0
FULL_PULL_COUNTS = 2
"""A full pull counts the contacts (by search) before and after it: the absence guardrail."""
CHANGED_SHARE = 0.01
LATENCIES_MS = (50.0, 100.0, 200.0)
LATENCY_CONTACTS = 100_000
"""The latency table's default portal: small enough for ``make bench``."""
HOUR_MS = 3_600_000
SEGMENTS = [
    {
        "name": "Healthcare accounts",
        "priority": 100,
        "rule": 'industry in ("Healthcare", "Biotechnology") and employees >= 50',
    },
    {
        "name": "Key customers",
        "priority": 90,
        "rule": 'lifecyclestage = "customer" and total_revenue >= 50000',
    },
    {
        "name": "Engaged prospects",
        "priority": 50,
        "holdout": 0.1,
        "rule": 'lifecyclestage in ("lead", "marketingqualifiedlead") and hs_email_open >= 5',
    },
    {"name": "Small business", "priority": 10, "rule": "employees < 50"},
]


@dataclasses.dataclass(frozen=True)
class Figures:
    """One run as the sandbox saw it, against what it had to do."""

    label: str
    calls: int
    minimum: int
    seconds: float
    floor: float
    rate_limited: int | None
    searches: int = 0
    contact_calls: int = 0
    """The calls whose number grows with the contacts: reads, record writes, membership changes."""
    safety: int = 0
    """Calls of ``minimum`` that safety requires (contact counts, the deleted-contacts read)."""
    steps: dict[str, float] = dataclasses.field(default_factory=dict)
    """Seconds each long step took (pull, writes, lists)."""

    def scaled(self, label: str, factor: float, minimum: int, rate: int) -> Figures:
        """An estimate of the same run ``factor`` times the size: the per-contact calls scaled,
        the others as measured; seconds per call as measured, or the floor when that is more (a
        small sample fits in the windows' free requests). 429s are not estimated."""
        calls = self.calls - self.contact_calls + round(self.contact_calls * factor)
        floor = floor_seconds(calls, self.searches, rate)
        return Figures(
            label,
            calls,
            minimum,
            max(self.seconds / self.calls * calls, floor),
            floor,
            None,
            self.searches,
            calls - (self.calls - self.contact_calls),
            self.safety,
        )

    def over_floor(self) -> str:
        """Wall time / floor; "n/a" when every call fits in the windows' first free requests."""
        return f"{self.seconds / self.floor:.2f}" if self.floor else "n/a"

    def step_line(self) -> str:
        steps = " · ".join(
            f"{step.lower()} {seconds:.1f} s" for step, seconds in self.steps.items()
        )
        in_steps = sum(self.steps.values())
        rest = self.seconds - in_steps
        line = f"{self.label}: {steps} · the rest (planning, state store) {rest:.1f} s"
        if not self.floor:
            return line
        return f"{line}; the steps alone {in_steps / self.floor:.2f} of the floor"


def window_seconds(calls: int, capacity: int, window: float) -> float:
    """The least time ``calls`` requests take under a rolling window of ``capacity`` requests
    per ``window`` seconds: the first ``capacity`` go at once, each next ``capacity`` a window
    after them."""
    return window * ((calls - 1) // capacity) if calls else 0.0


def floor_seconds(calls: int, searches: int, rate: int) -> float:
    """The least time a run of ``calls`` (``searches`` of them searches) takes at ``rate``
    requests per 10 s and HubSpot's search bucket, one bucket after the other (a run whose
    calls are not logged: the naive estimate)."""
    return window_seconds(calls - searches, rate, TEN_SECONDS) + window_seconds(
        searches, SEARCH_PER_SECOND, SEARCH_WINDOW_SECONDS
    )


def logged_floor_seconds(log: list[CallRecord], rate: int) -> float:
    """The least time the logged calls take at ``rate``: reads, then writes, each part as long
    as its slower bucket (see the module's docstring)."""
    first_write = next(
        (at for at, record in enumerate(log) if is_write(record)), len(log)
    )
    return sum(
        max(
            window_seconds(len(part) - searches, rate, TEN_SECONDS),
            window_seconds(searches, SEARCH_PER_SECOND, SEARCH_WINDOW_SECONDS),
        )
        for part in (log[:first_write], log[first_write:])
        for searches in [sum(record.route == SEARCH_ROUTE for record in part)]
    )


def is_write(record: CallRecord) -> bool:
    """Whether a call changes the CRM (a search is a POST that reads)."""
    return record.method != "GET" and record.route != SEARCH_ROUTE


class StepTimes:
    """Rich progress bars that also note how long each step took."""

    def __init__(self, bars: RichProgress) -> None:
        self.bars = bars
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def start(self, step: str, total: int | None) -> None:
        self.started[step] = time.perf_counter()
        self.bars.start(step, total)

    def advance(self, step: str, amount: int = 1) -> None:
        self.bars.advance(step, amount)

    def finish(self, step: str) -> None:
        self.seconds[step] = time.perf_counter() - self.started[step]
        self.bars.finish(step)


class PortalClock:
    """The sandbox portal's clock, which the bench moves on by hand.

    The bench compresses hours of a portal's life into minutes, but an incremental pull re-reads
    everything modified within 5 minutes (plus its own duration) of the newest change it saw:
    edits an hour apart must carry times an hour apart, and segsync's writes after them later
    times still.
    """

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return wall_clock_ms() + self.offset_ms


class Bench:
    """One sandbox portal at one rate limit and latency, and the connector syncing it."""

    def __init__(self, crm: HubSpotSandbox, state: Path, rate: int, workers: int | None) -> None:
        self.crm = crm
        self.rate = rate
        self.settings = Settings(
            hubspot=HubSpotSettings(
                base_url=crm.base_url, token=SecretStr(TOKEN), requests_per_ten_seconds=rate
            ),
            sync=SyncOptions(state_dir=state),
            segments=[SegmentConfig(**segment) for segment in SEGMENTS],
        )
        self.connector = HubSpotConnector(self.settings.hubspot)
        self.read_by_search = False
        """Whether the last full pull read id ranges by search (200 a page) or listed pages."""
        self.last_run_ended: float | None = None
        if workers is not None:
            self.connector.limits = dataclasses.replace(
                self.connector.limits, max_concurrency=workers
            )

    def run(
        self,
        label: str,
        console: Console,
        needs_reading: int | None = None,
        *,
        full: bool = False,
    ) -> Figures:
        """One sync; ``needs_reading`` is how many contacts people changed (incremental runs);
        ``full`` forces a full run."""
        console.rule(label)
        self.wait_for_empty_windows()
        member_pages = self.member_pages()
        before = len(self.crm.call_log)
        started = time.perf_counter()
        with RichProgress(console) as bars:
            steps = StepTimes(bars)
            outcome = run_sync(
                self.connector, self.settings, dry_run=False, progress=steps, full=full
            )
        seconds = time.perf_counter() - started
        self.last_run_ended = time.perf_counter()
        log = self.crm.call_log[before:]
        searches = sum(record.route == SEARCH_ROUTE for record in log)
        safety = self.safety_calls(outcome, log)
        # A full pull's only searches are its two counts, unless it read id ranges by search.
        self.read_by_search = outcome.mode == "full" and searches > FULL_PULL_COUNTS
        return Figures(
            label=f"{label} ({outcome.mode})",
            calls=len(log),
            minimum=self.minimum(outcome, needs_reading)
            + safety
            + (member_pages if outcome.mode == "full" else 0),
            seconds=seconds,
            floor=logged_floor_seconds(log, self.rate),
            rate_limited=sum(record.status == 429 for record in log),
            searches=searches,
            contact_calls=self.contact_calls(outcome, needs_reading),
            safety=safety,
            steps=steps.seconds,
        )

    def wait_for_empty_windows(self) -> None:
        """Let the CRM's rate windows empty after the previous run, as they have when a
        scheduled run starts: the floor counts from empty windows, and a run started at once
        would first wait out the last one's calls."""
        if self.last_run_ended is not None:
            time.sleep(max(0.0, self.last_run_ended + TEN_SECONDS - time.perf_counter()))

    def member_pages(self) -> int:
        """Pages that read the members of the segments' lists as they are now (a full run
        reads every list that exists)."""
        page = self.connector.limits.list_read_page_size
        options = self.settings.sync
        segments = [str(segment["name"]) for segment in SEGMENTS]
        segments += [options.fallback_segment] if options.fallback_segment else []
        records = (
            self.crm.store.list_by_name(list_name(options.list_name_pattern, segment))
            for segment in segments
        )
        return sum(
            -(-len(self.crm.store.list_members(str(record["listId"]))) // page)
            for record in records
            if record is not None
        )

    def reads(self, outcome: SyncOutcome, needs_reading: int | None) -> int:
        """The pages that read the contacts needing it (see the module's docstring)."""
        if needs_reading is None:
            page = SEARCH_PAGE_SIZE if self.read_by_search else self.connector.limits.read_page_size
            return -(-len(outcome.assignments) // page)
        return max(1, -(-needs_reading // SEARCH_PAGE_SIZE))

    def contact_calls(self, outcome: SyncOutcome, needs_reading: int | None) -> int:
        """The least calls that grow with the contacts: reads, record writes, member changes."""
        limits = self.connector.limits
        writes = -(-len(outcome.plan.writes) // limits.write_batch_size)
        members = sum(
            -(-len(change.add) // limits.list_change_batch_size)
            + -(-len(change.remove) // limits.list_change_batch_size)
            for change in outcome.plan.list_changes
        )
        return self.reads(outcome, needs_reading) + writes + members

    def minimum(self, outcome: SyncOutcome, needs_reading: int | None) -> int:
        """The calls this run could not have done without (see the module's docstring)."""
        limits = self.connector.limits
        reads = self.reads(outcome, needs_reading)
        setup = 1 + len(outcome.targets) + (1 if outcome.plan.fields else 0)
        return reads + outcome.plan.batch_count(limits) + setup

    @staticmethod
    def safety_calls(outcome: SyncOutcome, log: list[CallRecord]) -> int:
        """The full pull's two contact counts; the pages of the deleted-contacts read."""
        counts = FULL_PULL_COUNTS if outcome.mode == "full" else 0
        return counts + sum("archived=true" in record.query.lower() for record in log)


def change_contacts(
    crm: HubSpotSandbox, clock: PortalClock, ids: list[str], rng: random.Random
) -> int:
    """An hour of people's edits: 1% of the contacts gain email opens, at times spread over it."""
    changed = rng.sample(ids, max(1, int(len(ids) * CHANGED_SHARE)))
    start = clock.offset_ms
    for done, contact_id in enumerate(changed, 1):
        clock.offset_ms = start + done * HOUR_MS // len(changed)
        opens = float(crm.store.contact(contact_id).get("hs_email_open") or 0)
        crm.store.set_properties(contact_id, {"hs_email_open": str(int(opens) + rng.randint(1, 6))})
    return len(changed)


@contextmanager
def portal(
    contacts: int, rate: int, latency: float, workers: int | None
) -> Iterator[tuple[Bench, list[str], PortalClock]]:
    """A seeded sandbox enforcing ``rate`` per 10 s, and a fresh state store, for one bench."""
    limits = SandboxLimits(ten_secondly=rate, daily=None)
    with (
        HubSpotSandbox(TOKEN, limits, latency=latency) as crm,
        tempfile.TemporaryDirectory() as state,
    ):
        clock = PortalClock()
        crm.store._clock_ms = clock  # the store's clock hook: time passes between the runs
        ids = crm.seed_contacts(contacts, seed=1)
        bench = Bench(crm, Path(state), rate, workers)
        try:
            yield bench, ids, clock
        finally:
            bench.connector.close()


def naive(console: Console, sample: int, rate: int, latency: float) -> Figures:
    """The same first sync with one record per call and one call at a time."""
    with portal(sample, rate, latency, workers=1) as (bench, _, _):
        bench.connector.limits = dataclasses.replace(
            bench.connector.limits, write_batch_size=1, list_change_batch_size=1
        )
        return bench.run(f"Naive, {sample:,} measured", console)


def table(rows: list[Figures]) -> Table:
    grid = Table(title="segsync against the sandbox HubSpot", title_justify="left", box=SIMPLE_HEAD)
    grid.add_column("Run", no_wrap=True)
    columns = ("Calls", "Minimum", "Safety", "Calls/min", "Wall s", "Floor s", "Wall/floor", "429s")
    for name in columns:
        grid.add_column(name, justify="right")
    for row in rows:
        grid.add_row(
            row.label,
            f"{row.calls:,}",
            f"{row.minimum:,}",
            f"{row.safety:,}",
            f"{row.calls / row.minimum:.3f}",
            f"{row.seconds:,.1f}",
            f"{row.floor:,.1f}",
            row.over_floor(),
            "n/a" if row.rate_limited is None else f"{row.rate_limited:,}",
        )
    return grid


def latency_table(rows: list[tuple[Figures, Figures]], latencies: list[float]) -> Table:
    """Wall/floor of the first and the forced full run at each latency (issue #14's table)."""
    grid = Table(
        title="Wall time / rate-limit floor by latency", title_justify="left", box=SIMPLE_HEAD
    )
    grid.add_column("Run", no_wrap=True)
    for ms in latencies:
        grid.add_column(f"{ms:g} ms", justify="right")
    grid.add_row("first full run", *(first.over_floor() for first, _ in rows))
    grid.add_row(
        "forced full run with nothing to write", *(forced.over_floor() for _, forced in rows)
    )
    return grid


def by_latency(
    console: Console, contacts: int, rate: int, latencies: list[float], workers: int | None
) -> None:
    """A first and a forced full run on a fresh portal at each latency, and their table."""
    runs: list[tuple[Figures, Figures]] = []
    for ms in latencies:
        with portal(contacts, rate, ms / 1000, workers) as (bench, _, _):
            console.print(f"{contacts:,} contacts, {rate} requests per 10 s, {ms:g} ms a request")
            first = bench.run(f"First run, {ms:g} ms", console)
            forced = bench.run(f"Forced full run, {ms:g} ms", console, full=True)
        runs.append((first, forced))
    console.width = max(console.width, 100)
    console.print(table([figures for pair in runs for figures in pair]))
    console.print(latency_table(runs, latencies))
    for figures in (figures for pair in runs for figures in pair):
        console.print(figures.step_line())
    console.print("Target: wall/floor <= 1.15 at 50, 100 and 200 ms.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contacts", nargs="?", type=int, help="contacts (default 100,000)")
    parser.add_argument("--contacts", type=int, dest="contacts_option", help="the same")
    parser.add_argument("--rate", type=int, default=190, help="requests per 10 s (default 190)")
    latency_help = "ms per request: a first and a forced full run at each (default 50 100 200)"
    parser.add_argument("--latency", type=float, nargs="*", metavar="MS", help=latency_help)
    parser.add_argument("--workers", type=int, help="calls in flight (default: the connector's)")
    parser.add_argument(
        "--sample", type=int, help="contacts of the naive run (default: a tenth, at most 1,000)"
    )
    args = parser.parse_args()
    console = Console()
    contacts = args.contacts_option or args.contacts
    if args.latency is not None:
        latencies = args.latency or list(LATENCIES_MS)
        by_latency(console, contacts or LATENCY_CONTACTS, args.rate, latencies, args.workers)
        return
    args.contacts = contacts or 100_000
    rng = random.Random(1)
    with portal(args.contacts, args.rate, 0.0, args.workers) as (bench, ids, clock):
        console.print(
            f"{args.contacts:,} contacts, {args.rate} requests per 10 s, "
            f"{bench.connector.limits.max_concurrency} write calls in flight at most"
        )
        full = bench.run("First run", console)
        changed = change_contacts(bench.crm, clock, ids, rng)
        settling = bench.run("Settling run", console, changed)
        changed = change_contacts(bench.crm, clock, ids, rng)
        incremental = bench.run("1% run", console, changed)
    tenth = min(1000, max(1, args.contacts // 10))
    sample = min(args.sample, args.contacts) if args.sample else tenth
    measured = naive(console, sample, args.rate, 0.0)
    estimate = measured.scaled(
        f"Naive, {args.contacts:,} estimated", args.contacts / sample, full.minimum, bench.rate
    )
    console.width = max(console.width, 100)  # the bars are done: room for the table
    console.print(table([full, settling, incremental, measured, estimate]))
    for figures in (full, settling, incremental):
        console.print(figures.step_line())
    console.print(
        f"People changed {changed:,} contacts before each incremental run; the settling run "
        "also re-read every contact the first run wrote.\n"
        f"First run: calls/minimum {full.calls / full.minimum:.3f} (target <= 1.02), "
        f"wall/floor {full.over_floor()} (target <= 1.15), "
        f"429s {full.rate_limited} (target 0).\n"
        f"1% run: {incremental.calls:,} calls, {incremental.calls / full.calls:.1%} of the first "
        f"run's (target <= 3%); the settling run: {settling.calls / full.calls:.1%}.\n"
        f"Naive baseline: {estimate.calls / full.calls:.0f}x the calls and "
        f"{estimate.seconds / full.seconds:.0f}x the wall time of the first run (estimate: "
        f"{sample:,} contacts measured, per-contact calls scaled, seconds per call held, at "
        "least the floor)."
    )


if __name__ == "__main__":
    main()
