"""Cluster segments: recovery, determinism, stability across runs, state, profiles, names,
configuration, and resolution together with rule segments."""

from __future__ import annotations

import datetime as dt
import json
import statistics

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score

from segment_core import (
    ClusterSegment,
    ClusterSegmenter,
    ClusterSegmentSet,
    CoercedFrame,
    ConfigError,
    StoredModelError,
    all_segments,
    coerce_frame,
    membership_table,
    parse_cluster_sets,
    parse_segments,
    resolve,
)
from segment_core.cluster_refit import refit_or_keep
from segment_core.cluster_state import from_state, to_state
from segment_core.naming import cluster_names
from segment_core.profiles import ClusterProfile, Trait, profile_clusters
from tests.support.clusters import EMPLOYEES, ENGAGEMENT, INDUSTRIES, TYPES, planted, segmenter

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def perturbed(frame: CoercedFrame, share: float, seed: int) -> tuple[CoercedFrame, np.ndarray]:
    """``frame`` with ``share`` of its contacts moved to another group's values."""
    rng = np.random.default_rng(seed)
    data = frame.data.copy()
    n = len(data)
    moved = rng.choice(n, size=int(share * n), replace=False)
    group = rng.integers(0, 4, len(moved))
    data.iloc[moved, 0] = rng.normal(EMPLOYEES[group], 60)
    data.iloc[moved, 1] = rng.normal(ENGAGEMENT[group], 4)
    data.iloc[moved, 2] = INDUSTRIES[group]
    changed = np.zeros(n, dtype=bool)
    changed[moved] = True
    return CoercedFrame(data, frame.field_types, frame.problems), changed


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def fitted(data):
    frame, _ = data
    return segmenter().fit(frame)


def named(model: ClusterSegmenter, labels: pd.Series) -> pd.Series:
    return labels.map(model.names_)


# --- recovery and determinism -------------------------------------------------------------------


def test_recovers_planted_groups(data, fitted):
    _, group = data
    assert adjusted_rand_score(group, fitted.labels_) >= 0.9
    assert fitted.n_clusters_ == 4 and fitted.refitted_ and fitted.fit_reason_ == "no stored model"


def test_chooses_k_by_silhouette_on_a_sample():
    frame, group = planted(missing=False)
    model = segmenter(n_clusters=(2, 6), sample_size=600).fit(frame)
    assert list(model.k_scores_) == [2, 3, 4, 5, 6]
    assert model.n_clusters_ == 4 == max(model.k_scores_, key=model.k_scores_.get)
    assert adjusted_rand_score(group, model.labels_) >= 0.9


def test_uses_minibatch_kmeans_above_the_threshold(data, monkeypatch):
    frame, group = data
    trained = []
    fit = MiniBatchKMeans.fit
    monkeypatch.setattr(
        MiniBatchKMeans, "fit", lambda model, *args: trained.append(model) or fit(model, *args)
    )
    first = segmenter(minibatch_threshold=1000).fit(frame)
    assert trained and not segmenter(minibatch_threshold=2000).fit(frame).labels_.empty
    assert len(trained) == 1  # only the fit above the threshold used MiniBatchKMeans
    second = segmenter(minibatch_threshold=1000).fit(frame)
    assert adjusted_rand_score(group, first.labels_) >= 0.9
    assert first.labels_.equals(second.labels_)


def test_is_deterministic_for_a_seed(data, fitted):
    frame, _ = data
    again = segmenter().fit(frame)
    assert again.labels_.equals(fitted.labels_)
    np.testing.assert_array_equal(again.cluster_centers_, fitted.cluster_centers_)
    assert again.names_ == fitted.names_ and again.cluster_ids_ == fitted.cluster_ids_


def test_fresh_ids_go_by_size_largest_first(fitted):
    sizes = [fitted.profiles_[cid].size for cid in sorted(fitted.profiles_)]
    assert sizes == sorted(sizes, reverse=True)


def test_predict_gives_ids_on_the_frame_index(data, fitted):
    frame, _ = data
    predicted = fitted.predict(frame)
    assert predicted.index.equals(frame.data.index) and predicted.dtype == "int64"
    assert predicted.equals(fitted.labels_)
    # Categories never seen while fitting are grouped with the rare ones, not an error.
    unseen = CoercedFrame(
        frame.data.head(3).assign(industry=pd.array(["Mining"] * 3, dtype="str")),
        TYPES,
        pd.DataFrame(),
    )
    assert len(fitted.predict(unseen)) == 3


# --- stability across runs ----------------------------------------------------------------------


def test_refit_after_a_small_perturbation_keeps_unchanged_contacts_in_their_named_cluster(
    data, fitted
):
    frame, _ = data
    stored = from_state(to_state(fitted))
    changed_frame, changed = perturbed(frame, 0.02, seed=11)
    refitted = refit_or_keep(segmenter(), changed_frame, stored, refit=True)
    assert refitted.refitted_ and refitted.fit_reason_ == "refit requested"
    assert set(refitted.names_.values()) == set(fitted.names_.values())
    before = named(fitted, fitted.labels_)[~changed]
    after = named(refitted, refitted.labels_)[~changed]
    assert (before == after).mean() >= 0.98


def test_hungarian_matching_carries_stored_ids_and_names_over(data, fitted, monkeypatch):
    """Store the model with its ids permuted; a refit without warm start must find them."""
    frame, _ = data
    state = json.loads(to_state(fitted))
    permutation = {0: 3, 1: 0, 2: 1, 3: 2}
    state["cluster_ids"] = [permutation[cid] for cid in state["cluster_ids"]]
    state["names"] = {str(permutation[int(cid)]): name for cid, name in state["names"].items()}
    state["reference"]["shares"] = {
        str(permutation[int(cid)]): share for cid, share in state["reference"]["shares"].items()
    }
    stored = from_state(json.dumps(state))
    monkeypatch.setattr(ClusterSegmenter, "_warm_start", lambda *args: None)
    shuffled = CoercedFrame(frame.data.sample(frac=1.0, random_state=5), TYPES, pd.DataFrame())
    refitted = refit_or_keep(segmenter(random_state=7), shuffled, stored, refit=True)
    expected = fitted.labels_.map(permutation)
    assert (refitted.labels_.loc[expected.index] == expected).mean() >= 0.99
    assert refitted.names_ == {permutation[cid]: name for cid, name in fitted.names_.items()}


def test_without_refit_a_stable_stored_model_is_kept(data, fitted):
    frame, _ = data
    changed_frame, _ = perturbed(frame, 0.02, seed=11)
    kept = refit_or_keep(segmenter(), changed_frame, to_state(fitted))
    assert not kept.refitted_
    assert kept.fit_reason_.startswith("stored model kept")
    assert kept.drift_.share_shift < 0.10 and kept.drift_.distance_increase < 0.25
    np.testing.assert_array_equal(kept.cluster_centers_, fitted.cluster_centers_)
    assert kept.names_ == fitted.names_ and kept.cluster_ids_ == fitted.cluster_ids_
    assert kept.labels_.equals(fitted.predict(changed_frame))


def test_drift_past_the_threshold_refits(data, fitted):
    frame, group = data
    # Group 0 (a quarter of contacts) mostly leaves: shares shift by about 0.2.
    keep = (group != 0) | (np.arange(len(group)) % 10 == 0)
    shrunk = CoercedFrame(frame.data[keep], TYPES, pd.DataFrame())
    model = refit_or_keep(segmenter(), shrunk, fitted)
    assert model.refitted_ and model.fit_reason_.startswith("drift:")
    assert model.drift_.share_shift > 0.10
    # Everyone moves far from the stored centroids.
    moved = CoercedFrame(
        frame.data.assign(engagement_score=frame.data["engagement_score"] + 200),
        TYPES,
        pd.DataFrame(),
    )
    drift = fitted.drift(moved)
    assert drift.distance_increase > 0.25
    assert refit_or_keep(segmenter(), moved, fitted).refitted_


def test_a_changed_k_refits_and_carries_the_matched_ids_over(data, fitted):
    frame, _ = data
    model = refit_or_keep(segmenter(n_clusters=5), frame, to_state(fitted))
    assert model.refitted_
    assert model.fit_reason_ == "parameters changed since the stored model: n_clusters"
    # Four of the five clusters are matched to the stored four; the fifth gets the next id.
    assert sorted(model.cluster_ids_) == [0, 1, 2, 3, 4]
    carried = [cid for cid in range(4) if model.names_[cid] == fitted.names_[cid]]
    assert len(carried) == 4 and len(set(model.names_.values())) == 5
    # Most contacts of each stored cluster stay under its id (one cluster is split in two).
    agreement = (model.labels_ == fitted.labels_).mean()
    assert 0.6 <= agreement < 1.0


def test_changed_features_fit_afresh(data, fitted):
    frame, _ = data
    model = refit_or_keep(segmenter(categorical=[]), frame, fitted)
    assert model.refitted_ and model.drift_ is None
    assert model.fit_reason_ == "the features changed since the stored model; fitted afresh"


# --- state --------------------------------------------------------------------------------------


def test_state_round_trip(data, fitted):
    frame, _ = data
    state = to_state(fitted)
    document = json.loads(state)
    assert document["format"] == "segsync.cluster_segmenter"
    assert document["names"] == {str(cid): name for cid, name in fitted.names_.items()}
    assert np.array(document["model"]["centroids"]).shape == fitted.cluster_centers_.shape
    loaded = from_state(state)
    assert loaded.predict(frame).equals(fitted.labels_)
    assert loaded.names_ == fitted.names_
    assert loaded.profiles_ == fitted.profiles_
    assert loaded.get_params() == {
        **fitted.get_params(),
        "numeric": ["employees", "engagement_score"],
        "categorical": ["industry"],
    }
    assert loaded.segments(5) == fitted.segments(5)


def test_from_state_refuses_other_documents(fitted):
    with pytest.raises(StoredModelError, match="not a stored cluster model"):
        from_state(b'{"format": "something else"}')


def test_unfitted_and_bad_parameters_are_refused(data):
    frame, _ = data
    with pytest.raises(ValueError, match="not fitted yet"):
        ClusterSegmenter(["employees"]).predict(frame)
    with pytest.raises(ValueError, match="no features to cluster on"):
        ClusterSegmenter().fit(frame)
    with pytest.raises(ValueError, match="n_clusters must be"):
        ClusterSegmenter(["employees"], n_clusters=(5, 3)).fit(frame)
    with pytest.raises(ValueError, match="has no column.s. revenue"):
        ClusterSegmenter(["revenue"]).fit(frame)
    with pytest.raises(
        ConfigError,
        match="a numeric feature needs a number or bool field, and "
        '"industry" is an enumeration field',
    ):
        ClusterSegmenter(["industry"]).fit(frame)
    params = segmenter().get_params()
    assert params["n_clusters"] == 4 and params["random_state"] == 0


# --- profiles and names -------------------------------------------------------------------------

PROFILE_DATA = pd.DataFrame(
    {
        "employees": [100, 200, 300, np.nan, 1000, 1200, 1400, 1600],
        "industry": [
            "Retail",
            "Retail",
            "Healthcare",
            None,
            "Healthcare",
            "Healthcare",
            "Healthcare",
            "Software",
        ],
    }
)
PROFILE_LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])


def test_profiles_have_exact_sizes_shares_means_and_lift():
    profiles = profile_clusters(
        PROFILE_DATA, PROFILE_LABELS, ["employees"], ["industry"], [0, 1, 7]
    )
    present = [100, 200, 300, 1000, 1200, 1400, 1600]
    mean, spread = statistics.fmean(present), statistics.pstdev(present)
    low, high = profiles[0], profiles[1]
    assert (low.size, low.share, high.size, high.share) == (4, 0.5, 4, 0.5)
    assert profiles[7].size == 0 and profiles[7].share == 0 and profiles[7].traits == ()
    assert low.numeric[0].mean == 200 and high.numeric[0].mean == 1300
    assert low.numeric[0].overall_mean == pytest.approx(mean)
    assert low.numeric[0].effect == pytest.approx((200 - mean) / spread)
    assert [(c.value, c.count, c.share, c.overall_share, c.lift) for c in low.categories] == [
        ("Retail", 2, 0.5, 0.25, 2.0),
        ("Healthcare", 1, 0.25, 0.5, 0.5),
    ]
    assert [(c.value, c.count, c.share, c.lift) for c in high.categories] == [
        ("Healthcare", 3, 0.75, 1.5),
        ("Software", 1, 0.25, 2.0),
    ]
    # Retail: (0.5 - 0.25) / sqrt(0.25 * 0.75); Healthcare in cluster 1: (0.75 - 0.5) / 0.5.
    assert low.categories[0].effect == pytest.approx(0.25 / np.sqrt(0.1875))
    assert [t.reason_part for t in low.traits] == ["employees low", "industry Retail"]
    assert [t.name_part for t in high.traits] == ["high employees", "Healthcare"]
    assert ClusterProfile.from_dict(json.loads(json.dumps(low.to_dict()))) == low


def test_fitted_profiles_match_the_labels(data, fitted):
    frame, _ = data
    counts = fitted.labels_.value_counts()
    for cid, profile in fitted.profiles_.items():
        assert profile.size == counts[cid]
        assert profile.share == counts[cid] / len(frame.data)
    assert sum(profile.size for profile in fitted.profiles_.values()) == len(frame.data)


def test_generated_names_are_readable_and_unique(data, fitted):
    _, group = data
    # Per planted group: industry (effect about 1.7) first, then engagement (group means
    # 80, 50, 15, 20 vs 41) and employees (200, 2000, 800, 200 vs 800) where they differ by
    # at least half a standard deviation.
    expected = {
        0: "Healthcare · high engagement · low employees",
        1: "Software · high employees",
        2: "Retail · low engagement",
        3: "Energy · low engagement · low employees",
    }
    for planted_group, name in expected.items():
        majority = fitted.labels_[group == planted_group].mode()[0]
        assert fitted.names_[majority] == name
    assert len(set(fitted.names_.values())) == 4


def test_name_overrides_apply_by_cluster_id(data, fitted):
    frame, _ = data
    model = segmenter(names={2: "Key accounts", "3": "Long tail", 99: "Gone"}).fit(frame)
    assert model.names_ == {**fitted.names_, 2: "Key accounts", 3: "Long tail"}
    # A refit keeps the override, and drops a name the config no longer overrides.
    refit = refit_or_keep(segmenter(), frame, model, refit=True)
    assert refit.names_ == fitted.names_


def _profile(cid: int, *parts: str) -> ClusterProfile:
    traits = tuple(
        Trait(f"f{i}", f"f{i}", 1.0 - i / 10, value=part) for i, part in enumerate(parts)
    )
    return ClusterProfile(cid, 1, 0.1, (), (), traits)


def test_cluster_names_settle_clashes():
    profiles = {
        0: _profile(0, "A", "B", "C", "D"),
        1: _profile(1, "A", "B", "C", "E"),
        2: _profile(2, "A", "B", "C"),
        3: _profile(3, "X"),
        4: _profile(4),
        5: _profile(5, "Y;Z"),
    }
    assert cluster_names(profiles, max_traits=3) == {
        0: "A · B · C · D",
        1: "A · B · C · E",
        2: "A · B · C",
        3: "X",
        4: "Typical contacts",
        5: "Y,Z",
    }
    same = {0: _profile(0, "A"), 1: _profile(1, "A")}
    assert cluster_names(same) == {0: "A · cluster 0", 1: "A · cluster 1"}
    # An override takes its name from a generated one, and a clashing kept name is regenerated.
    assert cluster_names(profiles, overrides={4: "X"}, kept={2: "X", 0: "Old zero"}) == {
        0: "Old zero",
        1: "A · B · C · E",
        2: "A · B · C",
        3: "X · cluster 3",
        4: "X",
        5: "Y,Z",
    }
    with pytest.raises(ValueError, match="overrides must be unique; repeated: Same"):
        cluster_names(profiles, overrides={0: "Same", 1: "Same"})


# --- resolution with rule segments --------------------------------------------------------------

SMALL_RAW = pd.DataFrame(
    {
        "employees": ["100", "150", "200", "5000", "6000", "7000"],
        "industry": ["Retail", "Retail", "Software", "Healthcare", "Healthcare", "Healthcare"],
    },
    index=["k1", "k2", "k3", "k4", "k5", "k6"],
)


def test_cluster_and_rule_segments_resolve_together():
    types = {"employees": "number", "industry": "enumeration"}
    frame = coerce_frame(SMALL_RAW, types)
    rules = parse_segments(
        [
            {
                "name": "Enterprise Healthcare",
                "priority": 100,
                "rule": 'industry in ("Healthcare") and employees >= 6000',
            },
            {"name": "Small", "priority": 10, "rule": "employees < 1000"},
        ],
        types,
    )
    personas = ClusterSegmentSet(
        "Personas", 60, ClusterSegmenter(["employees"], ["industry"], n_clusters=2).fit(frame)
    )
    # Healthcare: share 1 vs 0.5, effect 1.0; employees: +0.98 standard deviations.
    big, small = "Healthcare · high employees", "Low employees · Retail"
    assert sorted(personas.segmenter.names_.values()) == [big, small]
    segments = all_segments(rules, [personas])
    assert [type(s).__name__ for s in segments] == ["RuleSegment"] * 2 + ["ClusterSegment"] * 2
    big_segment = next(s for s in segments if s.name == big)
    assert big_segment == ClusterSegment(
        big, 60, big_segment.cluster_id, ("industry Healthcare", "employees high"), "Personas"
    )

    memberships = membership_table(rules, frame, NOW, [personas])
    assert list(memberships.columns[:2]) == ["Enterprise Healthcare", "Small"]
    assert memberships[[big, small]].sum(axis=1).eq(1).all()
    assignments = resolve(memberships, segments, fallback="Other")
    assert assignments["primary"].tolist() == [
        small,
        small,
        small,
        big,
        "Enterprise Healthcare",
        "Enterprise Healthcare",
    ]
    assert assignments["reason"].tolist() == [
        f"Cluster '{small}': employees low, industry Retail; also in Small",
        f"Cluster '{small}': employees low, industry Retail; also in Small",
        f"Cluster '{small}': employees low, industry Retail; also in Small",
        f"Cluster '{big}': industry Healthcare, employees high",
        f'Enterprise Healthcare: industry in ("Healthcare") and employees >= 6000; also in {big}',
        f'Enterprise Healthcare: industry in ("Healthcare") and employees >= 6000; also in {big}',
    ]


def test_cluster_names_may_not_clash_with_rule_segment_names():
    types = {"employees": "number", "industry": "enumeration"}
    frame = coerce_frame(SMALL_RAW, types)
    model = ClusterSegmenter(
        ["employees"], ["industry"], n_clusters=2, names={0: "Small", 1: "Large"}
    ).fit(frame)
    rules = parse_segments([{"name": "Small", "priority": 1, "rule": "employees < 1000"}], types)
    with pytest.raises(ValueError, match="segment names must be unique"):
        membership_table(rules, frame, NOW, [ClusterSegmentSet("Sizes", 1, model)])


# --- configuration ------------------------------------------------------------------------------


def test_parse_cluster_sets_reads_the_documented_shape():
    (config,) = parse_cluster_sets(
        [
            {
                "name": "Personas",
                "priority": 60,
                "numeric": ["employees", "engagement_score"],
                "categorical": ["industry"],
                "n_clusters": [3, 8],
                "names": {"0": "Key accounts"},
                "feature_labels": {"engagement_score": "engagement"},
                "random_state": 7,
                "drift_threshold": 0.3,
            }
        ],
        TYPES,
    )
    assert (config.name, config.priority) == ("Personas", 60)
    model = config.segmenter()
    assert (model.numeric, model.categorical, model.n_clusters) == (
        ("employees", "engagement_score"),
        ("industry",),
        (3, 8),
    )
    assert (model.names, model.random_state, model.drift_threshold) == ({0: "Key accounts"}, 7, 0.3)
    assert parse_cluster_sets(None) == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"priority": 1, "numeric": ["employees"]}, 'clusters[0]: missing key "name"'),
        (
            {"name": "P", "priority": 1},
            'clusters[0]: expected features: "numeric" and/or "categorical" fields',
        ),
        (
            {"name": "P", "priority": 1, "numeric": ["employes"]},
            'clusters[0].numeric[0]: unknown field "employes" (did you mean "employees"?)',
        ),
        (
            {"name": "P", "priority": 1, "categorical": ["employees"]},
            "clusters[0].categorical[0]: a categorical feature needs a string, enumeration or bool "
            'field, and "employees" is a number field',
        ),
        (
            {"name": "P", "priority": 1, "numeric": ["employees"], "n_clusters": 1},
            "clusters[0].n_clusters: expected a whole number >= 2, got the number 1",
        ),
        (
            {"name": "P", "priority": 1, "numeric": ["employees"], "n_clusters": [6, 3]},
            "clusters[0].n_clusters: the range [6, 3] is empty (low bound first)",
        ),
        (
            {"name": "P", "priority": 1, "numeric": ["employees"], "names": {"first": "A"}},
            "clusters[0].names.first: expected a cluster id (a whole number), got 'first'",
        ),
        (
            {"name": "P", "priority": 1, "numeric": ["employees"], "n_clusers": 3},
            'clusters[0]: unknown key "n_clusers" (did you mean "n_clusters"?)',
        ),
        (
            {"name": "P", "priority": 1, "numeric": ["employees"], "drift_threshold": -1},
            "clusters[0].drift_threshold: expected a number >= 0, got the number -1",
        ),
    ],
)
def test_parse_cluster_sets_errors_name_the_key(item, message):
    with pytest.raises(ConfigError) as caught:
        parse_cluster_sets([item], TYPES)
    assert str(caught.value) == message
