"""Contacts planted in four known groups, and the cluster segmenter the tests fit on them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from segment_core import ClusterSegmenter, CoercedFrame

TYPES = {"employees": "number", "engagement_score": "number", "industry": "enumeration"}
EMPLOYEES = np.array([200.0, 2000.0, 800.0, 200.0])
ENGAGEMENT = np.array([80.0, 50.0, 15.0, 20.0])
INDUSTRIES = np.array(["Healthcare", "Software", "Retail", "Energy"], dtype=object)


def planted(n: int = 1200, seed: int = 3, missing: bool = True) -> tuple[CoercedFrame, np.ndarray]:
    """Four planted groups; with ``missing``, 5% of employees and 3% of industries are empty."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, n)
    employees = rng.normal(EMPLOYEES[group], 60)
    engagement = rng.normal(ENGAGEMENT[group], 4)
    industry = INDUSTRIES[group].copy()
    if missing:
        employees[rng.random(n) < 0.05] = np.nan
        industry[rng.random(n) < 0.03] = None
    data = pd.DataFrame(
        {
            "employees": employees,
            "engagement_score": engagement,
            "industry": pd.array(industry, dtype="str"),
        },
        index=pd.Index([f"c{i:05d}" for i in range(n)]),
    )
    return CoercedFrame(data, TYPES, pd.DataFrame()), group


def segmenter(**params: Any) -> ClusterSegmenter:
    defaults = dict(
        numeric=["employees", "engagement_score"],
        categorical=["industry"],
        n_clusters=4,
        feature_labels={"engagement_score": "engagement"},
    )
    return ClusterSegmenter(**{**defaults, **params})
