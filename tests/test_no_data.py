"""A statistic that does not exist reads "no data", never ``nan``.

A cluster whose contacts all lack a numeric field has no average of it; the profile stores
None and every place that writes it (the report's figures and the cluster chart's captions
and bar labels) says "no data".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segment_core.profiles import profile_clusters
from sync.report import charts, formatting


def test_a_missing_statistic_reads_no_data_in_every_number_format() -> None:
    for missing in (None, float("nan"), np.float64("nan")):
        assert formatting.percent(missing) == "no data"
        assert formatting.amount(missing) == "no data"
        assert formatting.value(missing) == "no data"
    assert formatting.percent(0.123) == "12.3%"
    assert formatting.amount(1234.6) == "1,235"
    assert formatting.value(12.0) == "12"


def test_a_cluster_without_values_of_a_field_shows_no_data_for_its_average() -> None:
    data = pd.DataFrame(
        {
            "employees": [100.0, 300.0, np.nan, np.nan],
            "score": [10.0, 10.0, 14.0, 14.0],
        }
    )
    profiles = profile_clusters(data, [0, 0, 1, 1], ["employees", "score"], [], [0, 1])
    empty = profiles[1]
    assert [(s.feature, s.mean, s.overall_mean) for s in empty.numeric] == [
        ("employees", None, 200.0),
        ("score", 14.0, 12.0),
    ]
    means = pd.DataFrame(
        {
            "cluster": [stat.mean for stat in empty.numeric],
            "overall": [stat.overall_mean for stat in empty.numeric],
        },
        index=["employees", "score"],
        dtype=float,
    )
    assert charts.mean_captions(means, ["Company Headcount", "Score"]) == [
        "Company Headcount\navg no data vs 200",
        "Score\navg 14 vs 12",
    ]
    relative = (means["cluster"] - means["overall"]) / means["overall"].abs()
    assert charts.change_labels(means["cluster"].to_numpy(), relative.to_numpy()) == [
        "no data",
        "+17%",
    ]
