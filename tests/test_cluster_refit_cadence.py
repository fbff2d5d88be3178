"""The refresh cadence: ``[[clusters]] refit_every`` refits a stored model that old, drift or
not; the stored model carries its fit time, and older documents without one still load."""

from __future__ import annotations

import datetime as dt
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.hubspot import HubSpotConnector
from connectors.sandbox import HubSpotSandbox
from segment_core import ConfigError, StoredModelError, parse_cluster_sets
from segment_core.cluster_refit import refit_or_keep
from segment_core.cluster_state import from_state, to_state
from sync.cli import app
from tests.conftest import TOKEN, writes_among
from tests.support.clusters import planted, segmenter
from tests.support.segmentation import CLUSTERS, NOW, run, settings

FIT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
QUARTER = timedelta(days=90)


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def stored(data):
    """A model trained at ``FIT``, as the state store holds it."""
    frame, _ = data
    return to_state(refit_or_keep(segmenter(), frame, None, now=FIT))


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("90 days", QUARTER),
        ("12 weeks", timedelta(weeks=12)),
        ("2160 hours", QUARTER),
        ("1 day", timedelta(days=1)),
    ],
)
def test_refit_every_reads_days_weeks_and_hours(text, length):
    raw = [{"name": "B", "priority": 1, "numeric": ["x"], "refit_every": text}]
    assert parse_cluster_sets(raw)[0].refit_every == length


def test_without_refit_every_a_model_has_no_cadence():
    assert parse_cluster_sets([{"name": "B", "priority": 1, "numeric": ["x"]}])[0].refit_every is None


@pytest.mark.parametrize("value", ["quarterly", "90", 90, "0 days", "3 months", "-5 days"])
def test_a_bad_refit_every_is_a_config_error_naming_the_key(value):
    raw = [{"name": "B", "priority": 1, "numeric": ["x"], "refit_every": value}]
    with pytest.raises(ConfigError) as error:
        parse_cluster_sets(raw)
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    assert str(error.value) == (
        'clusters[0].refit_every: expected a duration such as "90 days", "12 weeks" or '
        f"\"2160 hours\", got the {'string' if isinstance(value, str) else 'number'} {shown}"
    )


def test_the_stored_model_carries_its_fit_time(stored):
    assert json.loads(stored)["fitted_at"] == "2026-01-01T00:00:00+00:00"
    assert json.loads(stored)["version"] == 3
    assert from_state(stored).fitted_at_ == FIT


def test_a_model_older_than_refit_every_is_refit_and_keeps_its_ids_and_names(data, stored):
    frame, _ = data
    now = FIT + timedelta(days=91)
    model = refit_or_keep(segmenter(), frame, stored, now=now, refit_every=QUARTER)
    assert model.refitted_
    assert model.fit_reason_ == "refit due: the stored model is 91 days old (refit_every 90 days)"
    assert model.fitted_at_ == now
    assert model.names_ == from_state(stored).names_
    assert (model.labels_ == from_state(stored).predict(frame)).all()


def test_between_refits_a_model_that_still_fits_is_kept_with_its_fit_time(data, stored):
    frame, _ = data
    now = FIT + timedelta(days=89)
    model = refit_or_keep(segmenter(), frame, stored, now=now, refit_every=QUARTER)
    assert not model.refitted_
    assert model.fit_reason_ == "stored model kept: distance +0%, share shift 0%"
    assert model.fitted_at_ == FIT
    assert json.loads(to_state(model))["fitted_at"] == "2026-01-01T00:00:00+00:00"


def untimed(stored: bytes) -> bytes:
    """``stored`` as a segsync before fit times wrote it: version 2, no ``fitted_at``."""
    document = json.loads(stored)
    del document["fitted_at"]
    return json.dumps({**document, "version": 2}).encode()


def test_an_older_stored_model_loads_as_fitted_at_an_unknown_time(data, stored):
    frame, _ = data
    assert from_state(untimed(stored)).fitted_at_ is None
    kept = refit_or_keep(segmenter(), frame, untimed(stored), now=FIT)
    assert not kept.refitted_ and kept.fitted_at_ is None
    due = refit_or_keep(segmenter(), frame, untimed(stored), now=FIT, refit_every=QUARTER)
    assert due.refitted_ and due.fitted_at_ == FIT
    assert due.fit_reason_ == (
        "refit due: the stored model has no fit time (stored by an older segsync) "
        "and refit_every is 90 days"
    )
    assert due.names_ == from_state(stored).names_


def test_a_sync_refits_on_the_cadence_and_the_crm_keeps_its_cluster_lists(
    crm: HubSpotSandbox, connector: HubSpotConnector, tmp_path: Path
) -> None:
    crm.seed_contacts(300, seed=87)
    config = settings(crm, tmp_path, [], clusters=[{**CLUSTERS[0], "refit_every": "90 days"}])
    first = run(connector, config)
    names = first.segmentation.cluster_sets[0].segmenter.names_

    later = run(connector, config, now=NOW + timedelta(days=30))
    kept = later.segmentation.cluster_sets[0].segmenter
    assert not kept.refitted_ and kept.fitted_at_ == NOW

    due = run(connector, config, now=NOW + timedelta(days=95))
    refitted = due.segmentation.cluster_sets[0].segmenter
    assert refitted.fit_reason_ == "refit due: the stored model is 95 days old (refit_every 90 days)"
    assert refitted.names_ == names and due.plan.is_empty


def test_a_bad_refit_every_stops_the_sync_before_any_write(
    crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.seed_contacts(20, seed=88)
    path = tmp_path / "segsync.toml"
    path.write_text(
        f'[hubspot]\nbase_url = "{crm.base_url}"\n[sync]\nstate_dir = "{tmp_path}"\n'
        '[[clusters]]\nname = "B"\npriority = 1\nnumeric = ["hs_email_open"]\n'
        'refit_every = "quarterly"\n'
    )
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    result = CliRunner().invoke(app, ["sync", "--config", str(path)])
    assert result.exit_code == 2
    assert (
        'clusters[0].refit_every: expected a duration such as "90 days", "12 weeks" or '
        '"2160 hours", got the string "quarterly"' in " ".join(result.output.split())
    )
    assert writes_among(crm.calls) == {}


@pytest.mark.parametrize(
    ("fitted_at", "message"),
    [
        ("yesterday", 'fitted_at: expected an ISO 8601 time, got the string "yesterday"'),
        ("2026-01-01T00:00:00", "fitted_at: expected a time with its UTC offset"),
        (20260101, "fitted_at: expected an ISO 8601 time, got the number 20260101"),
    ],
)
def test_a_stored_fit_time_that_is_not_a_time_is_refused(stored, fitted_at, message):
    """The state store may hand back anything: a bad fit time refuses the whole document."""
    document = {**json.loads(stored), "fitted_at": fitted_at}
    with pytest.raises(StoredModelError) as refused:
        from_state(json.dumps(document))
    assert str(refused.value) == message


def test_a_version_2_document_with_a_fit_time_is_refused(stored):
    """Version 2 never had the key: one that has it was not written by segsync."""
    document = {**json.loads(stored), "version": 2}
    with pytest.raises(StoredModelError) as refused:
        from_state(json.dumps(document))
    assert str(refused.value) == 'unknown key "fitted_at"'
