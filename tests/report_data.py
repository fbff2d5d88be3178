"""A ``ReportInput`` from generated contacts, segmented by segment_core, for the report tests.

Some config and CRM text is hostile on purpose (markup in a segment name, a description, a
field label and a category) so the tests can check none of it reaches the page as markup.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd

from connectors.sandbox import generate_contacts
from connectors.sandbox.hubspot.schema import PROPERTIES
from segment_core import coerce_frame, membership_table, parse_segments, resolve
from sync.report import (
    ClusterModelStatus,
    ClusterProfile,
    ClusterRuleFigures,
    Conversion,
    ReportInput,
    rule_definitions,
)
from tests.support.holdout import planted_record

NOW = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)
CONTACTS = 3000
SEED = 11

SECTIONS = (
    "overview",
    "sizes",
    "trends",
    "overlap",
    "clusters",
    "segments",
    "lift",
    "completeness",
    "history",
)
"""The report's sections, in page order, as this data fills them (no moves: no migration)."""

SCRIPT_NAME = 'Launch <script>alert("name")</script>'
SCRIPT_DESCRIPTION = "Imported by <img src=x onerror=alert(1)> from the old CRM"
SCRIPT_LABEL = "Industry <b onmouseover=alert(2)>"
SCRIPT_CATEGORY = "<script>alert('category')</script>"

SEGMENTS = [
    {
        "name": "Healthcare accounts",
        "priority": 100,
        "description": "Healthcare and life-science companies of 200+ people.",
        "rule": {
            "all": [
                {"field": "industry", "op": "in", "value": ["Healthcare", "Biotechnology"]},
                {"field": "employees", "op": ">=", "value": 200},
            ]
        },
    },
    {
        "name": "Key customers",
        "priority": 90,
        "rule": 'lifecyclestage = "customer" and total_revenue >= 50000',
    },
    {
        "name": "Engaged prospects",
        "priority": 50,
        "rule": 'lifecyclestage in ("lead", "marketingqualifiedlead") and hs_email_open >= 5',
    },
    {"name": "Small business", "priority": 10, "rule": "employees < 50"},
    {
        "name": SCRIPT_NAME,
        "priority": 5,
        "description": SCRIPT_DESCRIPTION,
        "rule": 'country = "Germany"',
    },
    {
        "name": "Power users",  # stands in for a clustering result
        "priority": 1,
        "rule": "hs_email_open >= 15 and num_purchases >= 1",
    },
]
CLUSTER = "Power users"
CLUSTER_FEATURES = ("hs_email_open", "num_purchases", "employees", "annualrevenue")

CHANGES = {"Healthcare accounts": 12, "Key customers": -7, "Engaged prospects": 0}
"""Change since the last run per segment; the others are new since then."""

STATUSES = ["succeeded"] * 9 + ["failed", "aborted", "succeeded"]

LIFT_SEGMENT = "Engaged prospects"
LIFT_LISTED = (400, 80)
LIFT_HELD_OUT = (100, 8)
LIFT_CONVERTED_ON_ENTRY = 12
"""A planted lift: 20% of the list converted since entering against 8% of the holdout."""
SHORT_LISTED = (20, 2)
SHORT_HELD_OUT = (3, 0)
"""Too little data for the hostile-named segment's holdout."""


def contacts_frame() -> pd.DataFrame:
    rows = generate_contacts(CONTACTS, seed=SEED, reference_date=NOW.date())
    frame = pd.DataFrame.from_records(
        rows, index=pd.Index([str(101 + i) for i in range(len(rows))], name="id")
    ).astype(object)
    frame.loc[frame["industry"] == "Retail", "industry"] = SCRIPT_CATEGORY
    return frame.drop(columns=["email", "firstname", "lastname"])


def cluster_profile(data: pd.DataFrame, members: pd.Series) -> ClusterProfile:
    means = pd.DataFrame(
        {
            "cluster": data.loc[members, list(CLUSTER_FEATURES)].mean(),
            "overall": data[list(CLUSTER_FEATURES)].mean(),
        }
    )
    size = int(members.sum())
    top = {  # shares of the whole cluster, contacts without a value included
        field: [
            (str(value), count / size)
            for value, count in data.loc[members, field].value_counts().head(3).items()
        ]
        for field in ("lifecyclestage", "industry")
    }
    return ClusterProfile(
        CLUSTER, size, float(members.mean()), means=means, top_categories=top, rule=CLUSTER_RULE
    )


CLUSTER_RULE = ClusterRuleFigures(
    f'hs_email_open > 12 and industry != "{SCRIPT_CATEGORY}"', precision=0.934, recall=0.871
)
"""The cluster as a rule; CRM text in it is text on the page, never markup."""

CLUSTER_MODEL = ClusterModelStatus(
    set_name="Behaviour",
    fitted_at=NOW - timedelta(days=30, hours=2),
    refitted=False,
    reason="stored model kept: distance +4%, share shift 2%",
    distance_increase=0.04,
    share_shift=0.02,
    refit_every=timedelta(days=90),
)
"""A model trained 30 days before the report, kept by this run, refit every quarter."""


def run_history() -> list[dict[str, object]]:
    runs = []
    for number, status in enumerate(STATUSES, start=1):
        started = NOW - timedelta(days=len(STATUSES) - number, minutes=30)
        runs.append(
            {
                "id": number,
                "started_at": started.isoformat(),
                "finished_at": (started + timedelta(seconds=95 + number)).isoformat(),
                "status": status,
                "contacts": CONTACTS,
                "writes": 0 if status == "aborted" else 40 * number,
                "list_adds": 0 if status == "aborted" else 25 + number,
                "list_removes": 0 if status == "aborted" else 10 + number,
                "failures": 9 if status == "failed" else number % 3,
                "api_calls": 60 + 3 * number,
            }
        )
    return runs


def size_history(sizes: pd.Series) -> pd.DataFrame:
    """Each segment's size at the runs that got through, growing towards today's; the
    hostile-named segment is new since the eighth of them."""
    started = [NOW - timedelta(days=len(STATUSES) - n, minutes=30) for n in range(1, 13)]
    done = [time for time, status in zip(started, STATUSES, strict=True) if status == "succeeded"]
    history = pd.DataFrame(
        {
            name: [int(size) - 5 * (len(done) - 1 - i) for i in range(len(done))]
            for name, size in sizes.items()
        },
        index=pd.DatetimeIndex(done, name="started_at"),
    )
    history.loc[history.index[:7], SCRIPT_NAME] = float("nan")
    return history


def holdout_record() -> pd.DataFrame:
    return pd.concat(
        [
            planted_record(LIFT_SEGMENT, LIFT_LISTED, LIFT_HELD_OUT, LIFT_CONVERTED_ON_ENTRY),
            planted_record(SCRIPT_NAME, SHORT_LISTED, SHORT_HELD_OUT, first_id=10_000),
        ],
        ignore_index=True,
    )


def build_report_input() -> ReportInput:
    types = {prop["name"]: prop["type"] for prop in PROPERTIES}
    raw = contacts_frame()
    typed = coerce_frame(raw, {name: types[name] for name in raw.columns})
    segments = parse_segments(SEGMENTS, types)
    membership = membership_table(segments, typed, NOW)
    assignments = resolve(membership, segments, fallback="Everyone else")
    definitions = [
        (
            replace(
                definition,
                kind="cluster",
                definition="Clustered on email opens and purchases (k-means, 6 clusters)",
            )
            if definition.name == CLUSTER
            else definition
        )
        for definition in rule_definitions(segments)
    ]
    sizes = membership.sum()
    labels = {prop["name"]: prop["label"] for prop in PROPERTIES} | {"industry": SCRIPT_LABEL}
    return ReportInput(
        contacts=typed.data,
        membership=membership,
        assignments=assignments,
        segments=definitions,
        clusters=[cluster_profile(typed.data, membership[CLUSTER])],
        cluster_models=[CLUSTER_MODEL],
        previous_sizes={name: int(sizes[name]) - change for name, change in CHANGES.items()},
        run_history=run_history(),
        conversion=Conversion("lifecyclestage", frozenset({"customer", "evangelist"})),
        revenue_field="total_revenue",
        field_labels=labels,
        size_history=size_history(sizes),
        holdouts={LIFT_SEGMENT: 0.2, SCRIPT_NAME: 0.1},
        holdout_record=holdout_record(),
        title="Acme CRM segments",
        generated_at=NOW,
    )
