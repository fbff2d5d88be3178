"""Categories reach scikit-learn as integer codes, and the fitted model is the one text gave.

The expected model below is what fitting on the text itself stored (before categories became
codes): the most frequent value with ties to the smallest, the categories in Python's text
order (capitals, then lower case, then the rest of Unicode), the rare ones grouped, and a
column with no value at all filled as scikit-learn fills it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from segment_core import ClusterSegmenter, CoercedFrame
from segment_core.cluster_input import CategoryCodes
from segment_core.cluster_state import from_state, to_state

HOSTILE = np.array(["b", "a", "Z", "é", "İ", "ß", "0", "ΟΔΟΣ", "a.*"], dtype=object)
SHARES = np.array([0.25, 0.25, 0.2, 0.1, 0.08, 0.06, 0.03, 0.02, 0.01])
TYPES = {"x": "number", "c": "enumeration", "tie": "enumeration", "gone": "enumeration"}


def hostile_frame(n: int = 600) -> CoercedFrame:
    rng = np.random.default_rng(5)
    categories = HOSTILE[rng.choice(len(HOSTILE), n, p=SHARES)]
    categories[rng.random(n) < 0.1] = None
    data = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "c": pd.array(categories, dtype="str"),
            "tie": pd.array(np.where(np.arange(n) % 2 == 0, "q", "p"), dtype="str"),
            "gone": pd.array([None] * n, dtype="str"),
        },
        index=[f"c{i}" for i in range(n)],
    )
    return CoercedFrame(data, TYPES, pd.DataFrame())


def test_a_fit_on_codes_stores_the_model_that_text_gave():
    frame = hostile_frame()

    model = ClusterSegmenter(
        numeric=["x"],
        categorical=["c", "tie", "gone"],
        n_clusters=3,
        min_category_share=0.05,
        random_state=0,
    ).fit(frame)

    stored = json.loads(to_state(model))["model"]["categorical"]
    assert stored == [
        {"name": "c", "fill": "b", "categories": ["Z", "a", "b", "ß", "é", "İ"], "other": True},
        {"name": "tie", "fill": "p", "categories": ["p", "q"], "other": False},
        {"name": "gone", "fill": "0", "categories": ["0"], "other": False},
    ]
    assert model.labels_.value_counts().to_dict() == {0: 219, 1: 194, 2: 187}
    assert from_state(to_state(model)).predict(frame).equals(model.labels_)


def test_codes_follow_pythons_text_order_with_missing_and_unseen_values_apart():
    data = pd.DataFrame({"c": pd.Series(["é", "Z", None, "a", "Z"], dtype=object)})
    codes = CategoryCodes.fit(data, ["c"])

    unseen = pd.DataFrame({"c": pd.Series(["a", "Mining", np.nan], dtype=object)})

    assert codes.categories == {"c": ("Z", "a", "é")}
    np.testing.assert_array_equal(codes.encode(data)["c"], [2.0, 0.0, np.nan, 1.0, 0.0])
    np.testing.assert_array_equal(codes.encode(unseen)["c"], [1.0, -1.0, np.nan])
    assert [codes.label("c", code) for code in (0.0, 1.0, 2.0)] == ["Z", "a", "é"]


def test_a_minimum_category_share_of_zero_keeps_every_category():
    frame = hostile_frame()

    model = ClusterSegmenter(
        numeric=["x"], categorical=["c"], n_clusters=3, min_category_share=0.0, random_state=0
    ).fit(frame)

    (stored,) = json.loads(to_state(model))["model"]["categorical"]
    assert stored == {
        "name": "c",
        "fill": "b",
        "categories": ["0", "Z", "a", "a.*", "b", "ß", "é", "İ", "ΟΔΟΣ"],
        "other": False,
    }
