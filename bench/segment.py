"""Segmenting 1,000,000 contacts end to end: coerce, RFM, 20 rules, one cluster set, resolve.

Run: .venv/bin/python bench/segment.py [contacts]   (default 1,000,000; 20000 runs in seconds;
``make bench`` runs 1,000,000 and 2,000,000)

The contacts are generated (seeded) as a CRM delivers them and ``sync.pull`` hands them over:
an object frame of text and None, one distinct ``str`` per cell. The pipeline is the usual flow
of ``segment_core``, each step of its ``Segmenter`` timed on its own: coerce, add features
(RFM), fit the cluster set, match (20 rule segments + the cluster set) and resolve. Each stage
prints its time and its peak RSS, and the total is checked against the targets for a 2-core
machine: under 20 s and 2.5 GB (10^9 bytes).

Memory is the peak resident set size of the whole process (see ``measure``). The run's peak is
the largest of segsync's stages, generation included.

The speedup compares evaluating the 20 rules vectorised (``membership_table`` over every
contact) with two row-by-row baselines in plain Python over each contact as a dict of typed
values, rule values coerced once: an interpreter walking the parsed rule AST per contact, and
the same ASTs compiled once into closures specialised to each operator and value (what
hand-written predicates would be, the stricter baseline). Row by row is measured on a sample
(the first 20,000 contacts; the data are i.i.d.) and scaled linearly to every contact; both
baselines' results are asserted equal to the vectorised ones on the sample, so the ratios
compare the same answers. These three timings are the best of 3 runs, as they are short and
the ratio is sensitive to whatever else the machine is doing.

The SQL comparison runs the same 20 rules and the priority resolution (each contact's primary
segment and its segments) in DuckDB over the same typed contacts, loaded once beforehand, as a
warehouse user would have them (``sql_rules``; the bench extra, ``pip install -e '.[bench]'``).
Both answers are checked equal for every contact before the best-of-3 times and their ratio
print. DuckDB's own memory is left out of the run's peak.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial

import numpy as np
import pandas as pd
from measure import Meter
from rich.console import Console
from rich.table import Table
from row_by_row import Predicate, compile_rule, interpret, prepare, python_rows
from sql_rules import INSTALL_HINT, DuckDBPeer, resolution_sql

from segment_core import (
    CoercedFrame,
    FieldType,
    Segmenter,
    iter_conditions,
)

SEED = 7
SAMPLE = 20_000
BEST_OF = 3
NOW = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
TARGET_CONTACTS = 1_000_000
TIME_TARGET_S = 20.0
MEMORY_TARGET_GB = 2.5
SPEEDUP_TARGET = 50.0
SQL_RATIO_TARGET = 2.0
FALLBACK = "Other"

FIELD_TYPES: dict[str, FieldType] = {
    "email": "string",
    "jobtitle": "string",
    "country": "enumeration",
    "industry": "enumeration",
    "lifecyclestage": "enumeration",
    "interests": "multi_enumeration",
    "employees": "number",
    "lead_score": "number",
    "hs_email_open": "number",
    "num_purchases": "number",
    "total_revenue": "number",
    "createdate": "datetime",
    "last_activity": "datetime",
    "recent_deal_close_date": "date",
    "opted_in": "bool",
}
"""Only fields the rules, features and clusters read: what a sync pulls."""

FEATURES = {
    "rfm": {
        "recency": "recent_deal_close_date",
        "frequency": "num_purchases",
        "monetary": "total_revenue",
    }
}

SEGMENTS = [
    {"name": name, "priority": priority, "rule": rule}
    for name, priority, rule in (
        ("Enterprise US", 100, 'country = "US" and employees >= 1000'),
        (
            "Enterprise Healthcare",
            95,
            'industry in ("Healthcare", "Biotech") and employees >= 1000',
        ),
        ("Champions", 90, 'rfm_segment = "Champions"'),
        (
            "At-risk customers",
            85,
            'rfm_segment in ("At risk", "Cannot lose them") and lifecyclestage = "customer"',
        ),
        (
            "Executives",
            80,
            'jobtitle starts with "chief" or jobtitle starts with "VP" '
            'or jobtitle contains "head of"',
        ),
        (
            "Big spenders",
            75,
            "total_revenue > 10000 or (num_purchases >= 10 and total_revenue >= 5000)",
        ),
        ("Recent buyers", 70, "recent_deal_close_date within 30 days"),
        (
            "Lapsed buyers",
            65,
            'recent_deal_close_date before "2023-06-01" and num_purchases >= 2',
        ),
        ("Engineers", 60, 'jobtitle contains "engineer" and not jobtitle contains "manager"'),
        ("New sign-ups", 55, 'createdate after "2024-05-01T00:00:00Z"'),
        (
            "Mid-market abroad",
            50,
            'employees between 100 and 999 and country not in ("US", "CA")',
        ),
        ("Engaged this quarter", 45, "last_activity within 90 days and hs_email_open > 5"),
        ("Small business", 40, "employees < 50 and lead_score > 60 and industry is set"),
        ("Analytics buyers", 35, 'interests contains "Analytics" and num_purchases >= 1'),
        (
            "Dormant",
            30,
            'last_activity is empty or last_activity < "2023-06-01T00:00:00Z"',
        ),
        ("Marketing stack", 25, 'interests in ("email", "ads") and not interests = "crm"'),
        (
            "Never bought",
            20,
            'num_purchases = 0 and lifecyclestage != "subscriber" and lead_score <= 30',
        ),
        (
            "Signed up in 2023",
            15,
            'createdate between "2023-01-01T00:00:00Z" and "2023-12-31T23:59:59Z"',
        ),
        (
            "Consumer email, opted in",
            10,
            'opted_in = true and (email contains "@gmail." or email contains "@yahoo." '
            'or email contains "@hotmail.")',
        ),
        (
            "Unreachable",
            5,
            "email is empty or (opted_in != true "
            'and not lifecyclestage in ("customer", "evangelist"))',
        ),
    )
]
"""Every operator family: = < <= > >= between on numbers; < and between on a datetime; = != in
not in on enumerations (two of them read the derived RFM segment); = in contains on a
multi-select; contains and starts with on text; = != on a bool; is set, is empty; within N days
on a date and a datetime, before on a date, after on a datetime; and / or / not nested."""

CLUSTERS = [
    {
        "name": "Personas",
        "priority": 1,
        "numeric": ["employees", "lead_score", "hs_email_open", "rfm_monetary_score"],
        "categorical": ["industry", "lifecyclestage"],
        "n_clusters": 6,
        "n_init": 3,
    }
]

COUNTRIES = ["US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "JP"]
INDUSTRIES = ["Software", "Healthcare", "Biotech", "Retail", "Finance", "Energy", "Education"]
STAGES = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
]
TITLES = [
    "Chief Executive Officer",
    "Chief Technology Officer",
    "VP Sales",
    "vp of engineering",
    "Head of Marketing",
    "Head of Data",
    "Software Engineer",
    "Senior Software Engineer",
    "Engineering Manager",
    "Data Engineer",
    "Product Manager",
    "Account Executive",
    "Marketing Manager",
    "Analyst",
    "Founder",
]
DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "acme.com", "initech.io", "globex.de"]
INTERESTS = ["analytics", "automation", "crm", "email", "ads", "social"]


# --- data ---------------------------------------------------------------------------------


def crm_contacts(n: int) -> pd.DataFrame:
    """``n`` contacts as ``sync.pull`` returns them: text or None, indexed by contact id."""
    rng = np.random.default_rng(SEED)

    def text(values: np.ndarray, missing: float = 0.0) -> np.ndarray:
        cells = np.asarray(values).astype(str).astype(object)  # one str object per cell
        cells[rng.random(n) < missing] = None
        return cells

    def choice(options: list[str], missing: float, p: list[float] | None = None) -> np.ndarray:
        return text(np.asarray(options)[rng.choice(len(options), n, p=p)], missing)

    def instants(days_ago: np.ndarray, unit: str, missing: float) -> np.ndarray:
        seconds = (days_ago * 86_400).astype("int64")
        moments = np.datetime64(NOW.replace(tzinfo=None), "s") - seconds.astype("timedelta64[s]")
        formatted = np.datetime_as_string(moments, unit=unit)
        return text(np.char.add(formatted, "Z") if unit != "D" else formatted, missing)

    purchases = rng.poisson(rng.choice([0.3, 2.0, 8.0], n, p=[0.5, 0.35, 0.15]))
    bought = purchases > 0
    revenue = np.round(purchases * rng.gamma(2.0, 350.0, n), 2)
    close_days = np.minimum(rng.exponential(250.0, n), 1_500)
    emails = np.char.add(np.char.add("user", np.arange(n).astype(str)), "@")
    selections = [";".join(o for i, o in enumerate(INTERESTS) if m >> i & 1) for m in range(64)]
    raw = {
        "email": text(np.char.add(emails, np.asarray(DOMAINS)[rng.integers(0, 6, n)]), 0.02),
        "jobtitle": choice(TITLES, 0.15),
        "country": choice(
            COUNTRIES, 0.03, [0.4, 0.12, 0.1, 0.08, 0.08, 0.05, 0.05, 0.05, 0.04, 0.03]
        ),
        "industry": choice(INDUSTRIES, 0.1),
        "lifecyclestage": choice(STAGES, 0.02, [0.2, 0.25, 0.12, 0.08, 0.08, 0.22, 0.05]),
        "interests": text(np.asarray(selections)[rng.integers(1, 64, n)], 0.3),
        "employees": text(np.round(rng.lognormal(4.5, 1.6, n)).astype(np.int64), 0.05),
        "lead_score": text(rng.integers(0, 101, n), 0.01),
        "hs_email_open": text(rng.poisson(4.0, n)),
        "num_purchases": text(purchases, 0.01),
        "total_revenue": text(revenue, 0.01),
        "createdate": instants(rng.uniform(0, 3 * 365, n), "ms", 0.0),
        "last_activity": instants(rng.exponential(120.0, n), "s", 0.1),
        "recent_deal_close_date": instants(close_days, "D", 0.0),
        "opted_in": choice(["true", "false", "TRUE"], 0.05, [0.6, 0.35, 0.05]),
    }
    raw["recent_deal_close_date"][~bought] = None  # no purchase, no close date
    ids = pd.Index(np.char.add("c", np.arange(n).astype(str)).astype(object), name="id")
    return pd.DataFrame(raw, index=ids, dtype=object)


# --- the run ------------------------------------------------------------------------------


def main(n: int) -> None:
    meter = Meter()
    raw = meter.measure("generate CRM text (not counted)", lambda: crm_contacts(n), counted=False)

    segmenter = Segmenter.parse(
        {"features": FEATURES, "segments": SEGMENTS, "clusters": CLUSTERS}, FIELD_TYPES
    )
    segments = segmenter.segments
    (clusters,) = segmenter.cluster_sets

    frame = meter.measure("coerce_frame (15 fields)", partial(segmenter.coerce, raw))
    del raw  # what a sync keeps from here on is the typed frame
    frame = meter.measure("add_features (RFM)", lambda: segmenter.derive(frame, NOW))
    personas = meter.measure(
        f"cluster fit (k = {clusters.params['n_clusters']})",
        lambda: segmenter.fit_clusters(frame, {}),
    )
    memberships = meter.measure(
        f"membership_table ({len(segments)} rules, clusters)",
        lambda: segmenter.match(frame, NOW, personas),
    )
    assignments = meter.measure(
        "resolve", lambda: segmenter.assign(memberships, personas, fallback=FALLBACK)
    )

    vectorised = meter.measure(
        f"{len(segments)} rules alone (best of {BEST_OF}; not counted)",
        lambda: segmenter.match(frame, NOW),
        counted=False,
        best_of=BEST_OF,
    )
    seconds = {"vectorised": meter.stages[-1].seconds}
    sample = min(n, SAMPLE)
    expected = vectorised.iloc[:sample]
    assert expected.equals(memberships.iloc[:sample, : len(segments)])
    rows = python_rows(CoercedFrame(frame.data.iloc[:sample], frame.field_types, frame.problems))
    types = frame.field_types
    operands = {
        id(condition): prepare(condition, types[condition.field], NOW)
        for segment in segments
        for condition in iter_conditions(segment.rule)
    }
    baselines: dict[str, list[Predicate]] = {
        "interpreter": [
            lambda row, rule=segment.rule: interpret(rule, row, operands, types)
            for segment in segments
        ],
        "compiled": [compile_rule(segment.rule, types, NOW) for segment in segments],
    }
    for name, tests in baselines.items():
        by_row = meter.measure(
            f"row by row, {name} (sample, best of {BEST_OF}; not counted)",
            lambda tests=tests: [[test(row) for row in rows] for test in tests],
            counted=False,
            best_of=BEST_OF,
        )
        seconds[name] = meter.stages[-1].seconds
        for segment, matches in zip(segments, by_row, strict=False):
            assert matches == expected[segment.name].tolist(), (name, segment.name)

    versus_sql = _versus_sql(meter, segmenter, frame, vectorised)

    console = Console()
    console.print(_stage_table(n, meter))
    console.print(_speedup_table(n, sample, seconds))
    if versus_sql:
        console.print(_sql_table(n, versus_sql))
    else:
        console.print(INSTALL_HINT, style="red", markup=False)
    in_use = assignments["primary"].nunique()
    console.print(
        f"Both row-by-row baselines give the vectorised memberships on the {sample:,}-contact "
        f"sample, for all {len(segments)} rules. Primary segments in use: {in_use} of "
        f"{memberships.shape[1]}. Unreadable cells: {len(frame.problems):,}."
    )


def _versus_sql(
    meter: Meter, segmenter: Segmenter, frame: CoercedFrame, memberships: pd.DataFrame
) -> dict[str, float] | None:
    """Seconds for the 20 rules and resolution in segsync and as SQL in DuckDB (see
    ``sql_rules``), once both answers are checked equal for every contact; None without DuckDB."""
    assignments = meter.measure(
        f"{len(SEGMENTS)} rules + resolve (best of {BEST_OF}; not counted)",
        lambda: segmenter.assign(segmenter.match(frame, NOW), fallback=FALLBACK),
        counted=False,
        best_of=BEST_OF,
    )
    seconds = {"segsync": meter.stages[-1].seconds}
    try:
        peer = meter.measure(
            "load into DuckDB (not counted)", lambda: DuckDBPeer(frame), False, in_peak=False
        )
    except ImportError:
        return None
    query = resolution_sql(segmenter.segments, dict(frame.field_types), NOW, FALLBACK)
    meter.measure(
        f"the same in DuckDB, {peer.threads} threads (best of {BEST_OF}; not counted)",
        lambda: peer.run(query),
        counted=False,
        best_of=BEST_OF,
        in_peak=False,
    )
    seconds["DuckDB"] = meter.stages[-1].seconds
    peer.check_agrees(segmenter.segments, memberships, assignments)
    peer.close()
    return seconds


def _sql_table(n: int, seconds: Mapping[str, float]) -> Table:
    ratio = seconds["segsync"] / seconds["DuckDB"]
    table = Table(
        title=f"The {len(SEGMENTS)} rules and priority resolution: segsync vs SQL (DuckDB)",
        caption=f"Both give every one of the {n:,} contacts the same memberships, primary "
        "segment and segments. DuckDB has the contacts loaded and writes its result table; "
        f"segsync builds its pandas result. Target: segsync within {SQL_RATIO_TARGET:.0f}x.",
    )
    for column in ("engine", "time (s)", "segsync / DuckDB"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    table.add_row("segsync", f"{seconds['segsync']:.2f}", "")
    table.add_row(
        "DuckDB", f"{seconds['DuckDB']:.2f}", _verdict(ratio <= SQL_RATIO_TARGET, f"{ratio:.2f}x")
    )
    return table


def _stage_table(n: int, meter: Meter) -> Table:
    peak_label = "peak RSS (GB)" if meter.per_stage else "process peak RSS so far (GB)"
    table = Table(title=f"Segmenting {n:,} contacts (seed {SEED}, now {NOW:%Y-%m-%d})")
    table.add_column("stage")
    table.add_column("time (s)", justify="right")
    table.add_column(peak_label, justify="right")
    for stage in meter.stages:
        style = None if stage.counted else "dim"
        table.add_row(
            stage.label, f"{stage.seconds:.2f}", f"{stage.peak_bytes / 1e9:.2f}", style=style
        )
    total, peak = meter.total_seconds, meter.peak_bytes / 1e9
    table.add_section()
    table.add_row("total (counted), process peak", f"{total:.2f}", f"{peak:.2f}", style="bold")
    if n <= TARGET_CONTACTS:  # the targets hold for up to a million contacts
        table.add_row(
            f"target at {TARGET_CONTACTS:,} contacts, 2 cores",
            _verdict(total < TIME_TARGET_S, f"< {TIME_TARGET_S:.0f}"),
            _verdict(peak < MEMORY_TARGET_GB, f"< {MEMORY_TARGET_GB}"),
        )
    return table


def _speedup_table(n: int, sample: int, seconds: Mapping[str, float]) -> Table:
    table = Table(
        title=f"The {len(SEGMENTS)} rules: vectorised vs row by row in plain Python",
        caption=f"Row by row is measured on the first {sample:,} contacts and scaled linearly. "
        "Interpreter: the rule AST walked for each contact. Compiled: each rule turned into "
        f"closures once, like hand-written predicates. Target: >= {SPEEDUP_TARGET:.0f}x.",
    )
    for column in ("evaluation", "contacts", "time (s)", f"at {n:,} (s)", "speedup"):
        table.add_column(column, justify="left" if column == "evaluation" else "right")
    vectorised = seconds["vectorised"]
    table.add_row("vectorised", f"{n:,}", f"{vectorised:.2f}", f"{vectorised:.2f}", "")
    for name in ("interpreter", "compiled"):
        scaled = seconds[name] * n / sample
        ratio = scaled / vectorised
        table.add_row(
            f"row by row, {name}",
            f"{sample:,}",
            f"{seconds[name]:.2f}",
            f"{scaled:.1f} scaled",
            _verdict(ratio >= SPEEDUP_TARGET, f"{ratio:,.0f}x"),
        )
    return table


def _verdict(met: bool, figure: str) -> str:
    return f"[green]{figure} met[/]" if met else f"[red]{figure} missed[/]"


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
