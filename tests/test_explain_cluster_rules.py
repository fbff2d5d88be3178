"""``segsync explain`` shows each cluster as a rule, its precision and recall, and whether the
contact meets it; checked against the rule evaluated here on the CRM's own values and lists."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from segment_core import coerce_frame, evaluate, parse_expression
from sync.cli import app
from tests.conftest import TOKEN
from tests.support.segmentation import CLUSTER_FIELDS, cluster_config, list_members

ANY_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""The rules have no date condition: any time evaluates them alike."""


@pytest.fixture
def config(tmp_path: Path, crm: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "segsync.toml"
    path.write_text(cluster_config(crm, tmp_path))
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    return path


def explain(contact_id: str, config: Path, *flags: str) -> str:
    result = CliRunner().invoke(app, ["explain", contact_id, "--config", str(config), *flags])
    assert result.exit_code == 0, result.output
    return result.output


def test_explain_shows_each_cluster_rule_its_figures_and_whether_the_contact_meets_it(
    crm: HubSpotSandbox, config: Path
) -> None:
    ids = crm.seed_contacts(400, seed=91)
    assert CliRunner().invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    raw = pd.DataFrame.from_dict(
        {i: {f: crm.store.contact(i).get(f) for f in CLUSTER_FIELDS} for i in ids}, orient="index"
    )
    frame = coerce_frame(raw, CLUSTER_FIELDS)

    checks = json.loads(explain(ids[0], config, "--json"))["checks"]
    assert [check["kind"] for check in checks] == ["cluster"] * 3
    seen = {True: 0, False: 0}
    for check in checks:
        rule = check["rule"]
        matched = evaluate(parse_expression(rule["expression"]), frame, ANY_TIME)
        members = set(matched.index[matched])
        cluster = list_members(crm, check["name"])
        assert rule["precision"] == len(members & cluster) / len(members)
        assert rule["recall"] == len(members & cluster) / len(cluster)
        for contact in sorted(cluster)[:3] + sorted(cluster - members)[:1]:
            answer = json.loads(explain(contact, config, "--json"))
            (mine,) = [c for c in answer["checks"] if c["name"] == check["name"]]
            assert mine["matched"] is True
            assert mine["rule"]["met"] is (contact in members)
            seen[contact in members] += 1
    assert seen[True] > 0 and seen[False] > 0  # both a contact the rule catches and one it misses


def test_the_rule_line_reads_as_a_sentence(crm: HubSpotSandbox, config: Path) -> None:
    ids = crm.seed_contacts(400, seed=91)
    assert CliRunner().invoke(app, ["sync", "--config", str(config)]).exit_code == 0
    answer = json.loads(explain(ids[0], config, "--json"))
    (primary,) = [c for c in answer["checks"] if c["matched"]]
    rule = primary["rule"]
    text = " ".join(explain(ids[0], config).split())
    met = "✓ meets it" if rule["met"] else "✗ does not meet it"
    assert (
        f"as a rule (precision {rule['precision']:.0%}, recall {rule['recall']:.0%}): "
        f"{rule['expression']} {met}"
    ) in text
