"""Features, cluster sets, audit and validation in real runs against the sandbox CRM.

Expectations are computed here from the sandbox's raw values (dates, counts) or from the
stored cluster model itself, not from the run's own frames, so the wiring cannot agree with
itself by accident.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from segment_core.cluster_state import from_state
from segment_core.coerce import coerce_frame
from sync.cli import app
from sync.guardrails import GuardrailTripped
from sync.outcome import summary_json
from sync.state.store import StateStore
from tests.conftest import TOKEN, writes_among
from tests.expectations import SEGMENTS, expected_segments
from tests.support.segmentation import CLUSTER_FIELDS, CLUSTERS, NOW, list_members, run, settings


def engaged_config(
    crm: HubSpotSandbox, directory: Path, monkeypatch: pytest.MonkeyPatch, sections: str = ""
) -> Path:
    """A config file with one rule segment ("Engaged") and ``sections`` of TOML after it; the
    token goes into the environment, where the CLI reads it."""
    path = directory / "segsync.toml"
    path.write_text(
        f'[hubspot]\nbase_url = "{crm.base_url}"\n[sync]\nstate_dir = "{directory}"\n'
        '[[segments]]\nname = "Engaged"\npriority = 10\nrule = "hs_email_open >= 5"\n' + sections
    )
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    return path


def test_a_cluster_set_syncs_its_clusters_and_keeps_its_model_between_runs(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(400, seed=81)
    config = settings(crm, tmp_path, SEGMENTS, clusters=CLUSTERS)
    first = run(connector, config)

    store = StateStore(config.state_url(), config.sync.name)
    model = from_state(store.models()["Behaviour"])
    store.close()
    raw = pd.DataFrame.from_dict(
        {i: {f: crm.store.contact(i).get(f) for f in CLUSTER_FIELDS} for i in ids}, orient="index"
    )
    predicted = model.predict(coerce_frame(raw, CLUSTER_FIELDS))
    names = model.names_
    assert len(names) == 3
    for cluster_id, name in names.items():
        assert list_members(crm, name) == set(predicted.index[predicted == cluster_id])
    for contact_id in ids:
        values = crm.store.contact(contact_id)
        rules = expected_segments(values)
        cluster = names[predicted[contact_id]]
        assert values["segsync_segment"] == (rules[0] if rules else cluster), contact_id
        assert values["segsync_segments"] == ";".join([*rules, cluster]), contact_id
    assert {c["set"]: c["refitted"] for c in summary_json(first)["clusters"]} == {"Behaviour": True}

    second = run(connector, config)
    assert second.mode == "incremental" and second.plan.is_empty
    kept = second.segmentation.cluster_sets[0].segmenter
    assert not kept.refitted_ and kept.names_ == names

    refitted = run(connector, config, refit=True)
    assert refitted.segmentation.cluster_sets[0].segmenter.refitted_
    assert refitted.segmentation.cluster_sets[0].segmenter.names_ == names
    assert refitted.plan.is_empty


def quintile(values: pd.Series) -> pd.Series:
    """The textbook quintile score of each known value: 1 + floor(5 (rank - 0.5) / n)."""
    known = values.dropna()
    ranks = known.rank(method="average")
    return ranks.map(lambda rank: math.floor(5 * (rank - 0.5) / len(known)) + 1)


def test_rfm_and_days_since_features_drive_rule_segments(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(400, seed=82)
    features = {
        "days_since": ["notes_last_updated"],
        "rfm": {
            "recency": "recent_deal_close_date",
            "frequency": "num_purchases",
            "monetary": "total_revenue",
        },
    }
    segments = [
        {"name": "Champions", "priority": 20, "rule": 'rfm_segment = "Champions"'},
        {"name": "Quiet", "priority": 10, "rule": "days_since_notes_last_updated > 60"},
    ]
    run(connector, settings(crm, tmp_path, segments, features=features))

    values = pd.DataFrame.from_dict({i: crm.store.contact(i) for i in ids}, orient="index")
    closed = pd.to_datetime(values["recent_deal_close_date"], utc=True)
    purchases = pd.to_numeric(values["num_purchases"])
    recency, frequency = quintile(closed.astype("int64").where(closed.notna())), quintile(purchases)
    champions = set(recency.index[(recency == 5) & (frequency.reindex(recency.index) >= 4)])
    noted = pd.to_datetime(values["notes_last_updated"], utc=True)
    quiet = set(noted.index[(pd.Timestamp(NOW) - noted) / pd.Timedelta(days=1) > 60])

    assert champions and quiet
    assert list_members(crm, "Champions") == champions
    assert list_members(crm, "Quiet") == quiet


def test_strict_validation_stops_the_run_before_any_write(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    crm.seed_contacts(200, seed=83)
    config = settings(crm, tmp_path, SEGMENTS, validation={"min_share": 0.5, "strict": True})
    with pytest.raises(GuardrailTripped) as tripped:
        run(connector, config)
    problems = tripped.value.args[0].problems
    assert any(p.startswith('segment validation: segment "Buyers" has ') for p in problems)
    assert writes_among(crm.calls) == {}


def test_validation_warnings_and_the_audit_are_in_the_run_summary(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.seed_contacts(200, seed=84)
    path = engaged_config(crm, tmp_path, monkeypatch, "[validation]\nmin_share = 0.5\n")
    result = CliRunner().invoke(app, ["sync", "--config", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    engaged = [f for f in summary["validation"] if f["segments"] == ["Engaged"]]
    assert [f["kind"] for f in engaged] == ["too_small"]
    assert engaged[0]["severity"] == "warning"
    assert summary["audit"]["duplicate_groups"] > 0  # the seed plants duplicates
    assert "@" not in json.dumps(summary["audit"])  # counts, never addresses


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            '[[clusters]]\nname = "B"\npriority = 1\nnumeric = ["hs_email_open"]\nn_cluster = 3\n',
            'clusters[0]: unknown key "n_cluster" (did you mean "n_clusters"?)',
        ),
        (
            '[features.rfm]\nrecency = "recent_deal_close_dat"\nfrequency = "num_purchases"\n'
            'monetary = "total_revenue"\n',
            'features.rfm.recency: unknown field "recent_deal_close_dat" '
            '(did you mean "recent_deal_close_date"?)',
        ),
    ],
)
def test_a_bad_feature_or_cluster_key_is_a_configuration_error_naming_it(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, message: str
) -> None:
    crm.seed_contacts(20, seed=85)
    path = engaged_config(crm, tmp_path, monkeypatch, section)
    result = CliRunner().invoke(app, ["sync", "--config", str(path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert writes_among(crm.calls) == {}


def test_sync_refit_refits_the_stored_cluster_model_and_keeps_its_names(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.seed_contacts(300, seed=86)
    path = engaged_config(
        crm,
        tmp_path,
        monkeypatch,
        '[[clusters]]\nname = "Behaviour"\npriority = 1\nnumeric = ["hs_email_open", '
        '"num_purchases"]\ncategorical = ["lifecyclestage"]\nn_clusters = 3\nrandom_state = 0\n',
    )

    def clusters(*flags: str) -> dict[str, Any]:
        result = CliRunner().invoke(app, ["sync", "--config", str(path), "--json", *flags])
        assert result.exit_code == 0, result.output
        (only,) = json.loads(result.output)["clusters"]
        return only

    first, kept, refitted = clusters(), clusters(), clusters("--refit")
    assert (first["refitted"], first["why"]) == (True, "no stored model")
    assert kept["refitted"] is False and kept["why"].startswith("stored model kept")
    assert (refitted["refitted"], refitted["why"]) == (True, "refit requested")
    assert first["clusters"] == kept["clusters"] == refitted["clusters"]
