"""Speed of the analytical steps at scale: features, audit, clustering, resolution, validation.

Run: .venv/bin/python bench/clusters.py [contacts]   (default 1,000,000). Prints figures only.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from segment_core import (
    ClusterSetConfig,
    CoercedFrame,
    RuleSegment,
    Segmenter,
    parse_expression,
    parse_features,
)
from segment_core.cluster_state import to_state

INDUSTRIES = np.array(["Healthcare", "Software", "Retail", "Energy", "Finance", "Education"])
PERSONAS = {
    "numeric": ["employees", "engagement_score", "days_since_last_activity"],
    "categorical": ["industry"],
    "n_clusters": 6,
    "n_init": 3,
}
RULES = [
    'industry = "Healthcare" and employees >= 500',
    'rfm_segment = "Champions"',
    'rfm_segment in ("At risk", "Cannot lose them")',
    "engagement_score >= 60",
    "days_since_last_activity > 365",
    'industry in ("Software", "Finance")',
    "total_revenue > 5000",
    "num_purchases = 0",
    "hs_email_open >= 8",
    'rfm_segment = "Lost"',
    "employees < 100",
    'industry = "Retail"',
    "engagement_score < 10",
    "days_since_last_activity <= 30",
]


def contacts(n: int) -> CoercedFrame:
    rng = np.random.default_rng(7)
    group = rng.integers(0, 6, n)
    now = pd.Timestamp("2024-06-01", tz="UTC")
    days = rng.integers(0, 720, n)
    first = np.array(["ann", "bob", "cy", "di", "ed", "flo", "gus", "hal"])[rng.integers(0, 8, n)]
    data = pd.DataFrame(
        {
            "employees": rng.lognormal(4 + group * 0.6, 0.4),
            "hs_email_open": rng.poisson(2 + group, n).astype("float64"),
            "num_purchases": rng.poisson(1 + group % 3, n).astype("float64"),
            "total_revenue": rng.gamma(2.0, 500 * (1 + group), n),
            "last_activity": (now - pd.to_timedelta(days, unit="D")).astype("datetime64[us, UTC]"),
            "industry": pd.array(INDUSTRIES[group], dtype="str"),
            "email": pd.array(
                [f"user{i % (n - n // 50)}@example.com" for i in range(n)], dtype="str"
            ),
            "firstname": pd.array(first, dtype="str"),
            "lastname": pd.array(
                np.char.add("l", (np.arange(n) % 50_000).astype(str)), dtype="str"
            ),
            "company": pd.array(
                np.char.add("co", (np.arange(n) % 20_000).astype(str)), dtype="str"
            ),
        },
        index=pd.Index(np.arange(n).astype(str)),
    )
    types = {
        "employees": "number",
        "hs_email_open": "number",
        "num_purchases": "number",
        "total_revenue": "number",
        "last_activity": "datetime",
        "industry": "enumeration",
        "email": "string",
        "firstname": "string",
        "lastname": "string",
        "company": "string",
    }
    return CoercedFrame(
        data, types, pd.DataFrame(columns=["contact_id", "field", "value", "expected"])
    )


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label:<44}{time.perf_counter() - started:>10.2f} s")
    return result


def main(n: int) -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    print(f"contacts{n:>46,}")
    frame = timed("build synthetic contacts", lambda: contacts(n))
    segmenter = Segmenter(
        field_types=frame.field_types,
        features=parse_features(
            {
                "days_since": ["last_activity"],
                "rfm": {
                    "recency": "last_activity",
                    "frequency": "num_purchases",
                    "monetary": "total_revenue",
                },
                "engagement": {"weights": {"hs_email_open": 2, "num_purchases": 1}},
            }
        ),
        segments=tuple(
            RuleSegment(f"S{i}", i % 4, parse_expression(expression))
            for i, expression in enumerate(RULES)
        ),
        cluster_sets=(ClusterSetConfig("Personas", 2, PERSONAS),),
    )
    frame = timed(
        "add_features (days since, RFM, engagement)", lambda: segmenter.derive(frame, now)
    )
    personas = timed(
        "cluster fit (MiniBatchKMeans, k = 6)", lambda: segmenter.fit_clusters(frame, {})
    )
    state = timed("to_state", lambda: to_state(personas[0].segmenter))
    models = {"Personas": state}
    print(f"  state size (bytes){len(state):>36,}")
    timed(
        "fit with stored model, no drift (predict)",
        lambda: segmenter.fit_clusters(frame, models),
    )
    timed(
        "refit with stored model (match ids)",
        lambda: segmenter.fit_clusters(frame, models, refit=True),
    )
    report = timed(
        "audit (completeness, duplicates, formats)",
        lambda: segmenter.audit_data(frame, personas, now),
    )
    print(f"  duplicate groups{len(report.duplicates):>38,}")
    memberships = timed(
        "membership_table (14 rules + 6 clusters)",
        lambda: segmenter.match(frame, now, personas),
    )
    assignments = timed(
        "resolve", lambda: segmenter.assign(memberships, personas, fallback="Other")
    )
    timed(
        f"validate_segments ({memberships.shape[1]} segments)",
        lambda: segmenter.validate(memberships, assignments),
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
