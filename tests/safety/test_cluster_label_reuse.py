"""A cluster set labels the contacts it was fitted on once (issue #14, item 7): the run's
memberships are the fit's own labels, not a second prediction of every contact, and the CRM
ends up exactly as the stored model predicts it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from segment_core.cluster_state import from_state
from segment_core.clusters import ClusterSegmenter
from segment_core.coerce import coerce_frame
from sync.state.store import StateStore
from tests.expectations import SEGMENTS, expected_segments
from tests.support.segmentation import CLUSTER_FIELDS, CLUSTERS, list_members, run, settings


@pytest.fixture
def predictions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of contacts each ``ClusterSegmenter.predict`` call labelled, in order."""
    calls: list[int] = []
    predict = ClusterSegmenter.predict

    def counted(self: ClusterSegmenter, frame) -> pd.Series:
        labels = predict(self, frame)
        calls.append(len(labels))
        return labels

    monkeypatch.setattr(ClusterSegmenter, "predict", counted)
    return calls


def test_a_run_labels_its_contacts_with_the_fit_and_predicts_none_again(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path, predictions: list[int]
) -> None:
    ids = crm.seed_contacts(300, seed=83)
    config = settings(crm, tmp_path, SEGMENTS, clusters=CLUSTERS)

    fitted = run(connector, config)
    kept = run(connector, config, full=True)
    refitted = run(connector, config, full=True, refit=True)

    assert predictions == []
    outcomes = (fitted, kept, refitted)
    segmenters = [outcome.segmentation.cluster_sets[0].segmenter for outcome in outcomes]
    assert [s.refitted_ for s in segmenters] == [True, False, True]
    store = StateStore(config.state_url(), config.sync.name)
    model = from_state(store.models()["Behaviour"])
    store.close()
    raw = pd.DataFrame.from_dict(
        {i: {f: crm.store.contact(i).get(f) for f in CLUSTER_FIELDS} for i in ids}, orient="index"
    )
    predicted = model.predict(coerce_frame(raw, CLUSTER_FIELDS))
    for cluster_id, name in model.names_.items():
        assert list_members(crm, name) == set(predicted.index[predicted == cluster_id])
    for contact_id in ids:
        values = crm.store.contact(contact_id)
        rules = expected_segments(values)
        cluster = model.names_[predicted[contact_id]]
        assert values["segsync_segments"] == ";".join([*rules, cluster]), contact_id
