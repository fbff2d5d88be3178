"""Stored cluster models are plain data: a models row never runs code, a bad one is refused.

The state database may be a shared PostgreSQL or a restored backup, so its ``models`` rows are
untrusted. A stored model is a JSON document of numbers and names; it predicts exactly as the
fitted model did; a pickle planted in the row (it would create a file when unpickled) is never
unpickled, and the run says the model was refused and refits; a document of the wrong shape, or
with a number that is not finite, is refused with one line naming the key.
"""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from segment_core import ClusterSegmenter, CoercedFrame, StoredModelError
from segment_core.cluster_input import CategoryCodes
from segment_core.cluster_model import ClusterModel
from segment_core.cluster_refit import refit_or_keep
from segment_core.cluster_state import from_state, to_state
from sync.cli import app
from sync.config import load_settings
from sync.state.store import StateStore
from tests.conftest import TOKEN
from tests.support.clusters import planted, segmenter
from tests.support.segmentation import cluster_config

runner = CliRunner()
RARE = 0.24
"""Of the four industries, Energy and Software fall under this share: grouped as rare."""


class CreatesAFile:
    """Unpickling this creates ``path``: the proof that a pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


@pytest.fixture(scope="module")
def fitted() -> tuple[CoercedFrame, ClusterSegmenter]:
    frame, _ = planted()
    return frame, segmenter(min_category_share=RARE).fit(frame)


def document_of(model: ClusterSegmenter) -> dict[str, Any]:
    return json.loads(to_state(model))


def test_a_stored_model_is_plain_data_and_predicts_exactly_as_fitted(fitted) -> None:
    frame, model = fitted
    document = document_of(model)
    assert (document["format"], document["version"]) == ("segsync.cluster_segmenter", 3)
    assert document["model"]["categorical"] == [
        {
            "name": "industry",
            "fill": "Healthcare",
            "categories": ["Healthcare", "Retail"],
            "other": True,
        }
    ]
    assert [c["name"] for c in document["model"]["numeric"]] == ["employees", "engagement_score"]
    assert np.array(document["model"]["centroids"]).shape == (4, 5)

    loaded = from_state(to_state(model))
    # Contacts with missing values and a category never seen while fitting, too.
    unseen = frame.data.head(50).assign(industry=pd.array(["Mining"] * 50, dtype="str"))
    for data in (frame.data, unseen):
        other = CoercedFrame(data, frame.field_types, frame.problems)
        assert loaded.predict(other).equals(model.predict(other))
    assert loaded.predict(frame).equals(model.labels_)
    np.testing.assert_array_equal(loaded.cluster_centers_, model.cluster_centers_)
    assert (loaded.names_, loaded.profiles_) == (model.names_, model.profiles_)


def test_the_plain_model_transforms_exactly_as_scikit_learn(fitted) -> None:
    """The numbers kept are scikit-learn's own (fitted on the categories' codes), and numpy
    applies them to the text with the same result."""
    frame, model = fitted
    design = model._design(frame)
    mixed = design.head(40).copy()
    mixed.loc[mixed.index[:10], "industry"] = "Mining"  # unknown: the rare-category column
    mixed.loc[mixed.index[10:20], "industry"] = np.nan  # missing: the most frequent value
    mixed.loc[mixed.index[20:30], "employees"] = np.nan  # missing: the median
    codes = CategoryCodes.fit(design, model.categorical)
    preprocess = model._preprocessor().fit(codes.encode(design))
    plain = ClusterModel.from_fitted(preprocess, model.cluster_centers_, codes)
    for data in (design, mixed):
        np.testing.assert_array_equal(
            plain.transform(data), preprocess.transform(codes.encode(data))
        )
    assert plain.feature_names_out == (
        "num__employees",
        "num__engagement_score",
        "cat__industry_Healthcare",
        "cat__industry_Retail",
        "cat__industry_infrequent_sklearn",
    )


def tampered(model: ClusterSegmenter, change) -> bytes:
    document = document_of(model)
    change(document)
    return json.dumps(document).encode()


def _set(path: tuple[Any, ...], value: Any):
    def change(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (
            _set(("model", "centroids", 1, 0), float("nan")),
            "model.centroids[1][0]: expected a number, got the out-of-range number nan",
        ),
        (
            _set(("model", "centroids", 0), [0.0, 1.0]),
            "model.centroids[0]: expected 5 values (one per feature column), got 2",
        ),
        (
            _set(("model", "centroids"), [[0.0] * 5] * 3),
            "cluster_ids: expected 3 distinct ids, one per centroid",
        ),
        (
            _set(("model", "numeric", 0, "scale"), 0),
            "model.numeric[0].scale: expected a number > 0, got the number 0",
        ),
        (
            _set(("model", "numeric", 0, "mean"), "803"),
            'model.numeric[0].mean: expected a number, got the string "803"',
        ),
        (_set(("model", "pipeline"), "gASV"), 'model: unknown key "pipeline"'),
        (_set(("params", "n_clusters"), [2, 3, 4]), "params.n_clusters: expected a whole number"),
        (
            _set(("params", "numeric"), ["employees"]),
            "params.numeric: expected the features of the model",
        ),
        (_set(("names",), {"0": "A"}), "names: expected one entry per cluster id [0, 1, 2, 3]"),
        (lambda d: d["names"].update({"1": d["names"]["0"]}), "names: two clusters have one name"),
        (_set(("params", "names"), {"first": "A"}), "params.names: expected whole numbers"),
        (_set(("params", "n_clusters"), [5, 3]), "params: n_clusters must be"),
        (
            _set(("profiles", 0, "traits"), [{"feature": "x", "label": "x", "effect": "big"}]),
            'profiles[0].traits[0].effect: expected a number, got the string "big"',
        ),
        (_set(("version",), 99), "unknown format version (the number 99)"),
    ],
)
def test_a_malformed_document_is_refused_with_the_key(fitted, change, message) -> None:
    frame, model = fitted
    state = tampered(model, change)
    with pytest.raises(StoredModelError) as refused:
        from_state(state)
    assert str(refused.value).startswith(message)
    refitted = refit_or_keep(segmenter(min_category_share=RARE), frame, state)
    assert refitted.refitted_
    assert refitted.fit_reason_ == (
        f"the stored model was refused ({refused.value}); fitted afresh"
    )


@pytest.mark.parametrize(
    "state, message",
    [
        (b"\x80\x04\x95", "not a JSON document"),
        (b"[" * 100_000, "not a JSON document"),
        (b'{"format": "segsync.cluster_segmenter"}', "unknown format version (nothing)"),
    ],
)
def test_what_is_not_a_document_is_refused(state: bytes, message: str) -> None:
    with pytest.raises(StoredModelError) as refused:
        from_state(state)
    assert str(refused.value) == message


ENGAGED = """
[[segments]]
name = "Engaged"
priority = 10
rule = "hs_email_open >= 5"
"""


def pickled_row(model_document: dict[str, Any], marker: Path) -> bytes:
    """A version 1 row, as segsync wrote them, with a pickle that creates ``marker``."""
    payload = base64.b64encode(pickle.dumps(CreatesAFile(marker))).decode("ascii")
    return json.dumps(
        {
            "format": "segsync.cluster_segmenter",
            "version": 1,
            "sklearn_version": sklearn.__version__,
            "params": model_document["params"],
            "model": payload,
        }
    ).encode()


@pytest.mark.parametrize("planted_row", ["version 1 document", "bare pickle"])
def test_a_planted_pickle_never_runs_and_the_run_refits_and_rewrites_the_row(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted_row: str
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    crm.seed_contacts(300, seed=17)
    config = tmp_path / "segsync.toml"
    config.write_text(cluster_config(crm, tmp_path, ENGAGED))
    assert runner.invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    settings = load_settings(config)
    store = StateStore(settings.state_url(), settings.sync.name)
    stored = json.loads(store.models()["Behaviour"])
    names = stored["names"]

    marker = tmp_path / "pwned"
    row = (
        pickled_row(stored, marker)
        if planted_row == "version 1 document"
        else pickle.dumps(CreatesAFile(marker))
    )
    store.save_model("Behaviour", row)
    why = (
        "it is in the version 1 format, a pickled scikit-learn pipeline, which segsync no "
        "longer loads"
        if planted_row == "version 1 document"
        else "not a JSON document"
    )
    refused = f"the stored model was refused ({why}); fitted afresh"

    planned = runner.invoke(app, ["plan", "--config", str(config), "--json"])
    assert not marker.exists()
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.output)["clusters"][0]["why"] == refused
    assert store.models()["Behaviour"] == row  # a plan writes nothing, the model included

    synced = runner.invoke(app, ["sync", "--config", str(config), "--json"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.output)["clusters"][0]["why"] == refused
    rewritten = from_state(store.models()["Behaviour"])
    assert json.loads(store.models()["Behaviour"])["version"] == 3
    assert {str(cid): name for cid, name in rewritten.names_.items()} == names
    store.close()
    assert not marker.exists()


def test_the_summary_says_the_model_was_refused(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    crm.seed_contacts(200, seed=18)
    config = tmp_path / "segsync.toml"
    config.write_text(cluster_config(crm, tmp_path, ENGAGED))
    settings = load_settings(config)
    store = StateStore(settings.state_url(), settings.sync.name)
    store.save_model("Behaviour", b'{"format": "segsync.cluster_segmenter", "version": 2}')
    store.close()
    planned = runner.invoke(app, ["plan", "--config", str(config)])
    assert planned.exit_code == 0, planned.output
    assert (
        'Cluster set Behaviour: 3 clusters (fitted: the stored model was refused (missing key '
        '"params"); fitted afresh)'
    ) in " ".join(planned.output.split())
