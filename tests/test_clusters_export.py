"""``segsync clusters export``: the last run's clusters as [[segments]] rules that a config
accepts as they are, and that sync the contacts their description promises."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from sync.cli import app
from sync.clusters_export import toml_string
from sync.config import load_settings
from tests.conftest import TOKEN, writes_among
from tests.support.segmentation import cluster_config, list_members, sandbox_config
from tests.support.stored_models import stored_model


@pytest.fixture
def config(crm: HubSpotSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config of one cluster set over the sandbox; the token is in the environment."""
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    path = tmp_path / "segsync.toml"
    path.write_text(cluster_config(crm, tmp_path))
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_exported_rules_load_unchanged_and_sync_what_their_description_promises(
    crm: HubSpotSandbox, config: Path, tmp_path: Path
) -> None:
    ids = crm.seed_contacts(400, seed=91)
    assert invoke("sync", "--config", str(config))[0] == 0
    clusters = {name: list_members(crm, name) for name in cluster_names(config)}
    before = Counter(crm.calls)

    exported = tmp_path / "rules.toml"
    code, output = invoke("clusters", "export", "--config", str(config), "-o", str(exported))
    assert (code, output) == (0, f"Cluster rules written to {exported}")
    assert writes_among(Counter(crm.calls) - before) == {}
    text = exported.read_text()
    assert text.count("\n[[segments]]\n") == 3

    adopted = tmp_path / "adopted.toml"
    adopted.write_text(sandbox_config(crm, tmp_path) + text)
    settings = load_settings(adopted)
    assert [(s.name, s.priority) for s in settings.segments] == [
        (name, 5) for name in clusters
    ]
    # Every contact's segment reason changes from the cluster's traits to the rule: the
    # rewrite guardrail asks for --force, as for any change of definitions this wide.
    assert invoke("sync", "--config", str(adopted), "--force")[0] == 0
    for segment in settings.segments:
        members, cluster = list_members(crm, segment.name), clusters[segment.name]
        precision, recall = (
            int(figure) for figure in re.findall(r"(\d+)%", segment.description)
        )
        assert round(100 * len(members & cluster) / len(members)) == precision
        assert round(100 * len(members & cluster) / len(cluster)) == recall
        assert len(members ^ cluster) <= 0.1 * len(ids), segment


def cluster_names(config: Path) -> list[str]:
    """The cluster names of the stored model, by cluster id."""
    names = stored_model(config, "Behaviour").names_
    return [names[cluster_id] for cluster_id in sorted(names)]


def test_without_a_run_there_is_nothing_to_export(crm: HubSpotSandbox, config: Path) -> None:
    crm.seed_contacts(20, seed=92)
    code, output = invoke("clusters", "export", "--config", str(config))
    assert (code, output) == (
        2,
        "Nothing to export: sync 'default' has no run yet: run segsync sync first",
    )


def test_a_cluster_set_added_since_the_last_run_says_to_sync_first(
    crm: HubSpotSandbox, config: Path, tmp_path: Path
) -> None:
    crm.seed_contacts(60, seed=93)
    rules_only = tmp_path / "rules_only.toml"
    rules_only.write_text(
        sandbox_config(crm, tmp_path)
        + '[[segments]]\nname = "Buyers"\npriority = 9\n'
        'rule = "hs_email_open >= 0 and num_purchases >= 0 and lifecyclestage is set"\n'
    )
    assert invoke("sync", "--config", str(rules_only))[0] == 0
    code, output = invoke("clusters", "export", "--config", str(config))
    assert (code, output) == (
        2,
        "Nothing to export: cluster set 'Behaviour' has no stored model: run segsync sync first",
    )


def test_crm_text_in_a_rule_is_a_valid_toml_string() -> None:
    """A category from the CRM may hold quotes, backslashes and control characters."""
    text = 'industry = "A \\"b\\" \\\\ c"\ttab\x7fdel\x01é'
    assert tomllib.loads(f"rule = {toml_string(text)}") == {"rule": text}


def test_an_output_file_that_cannot_be_written_is_one_line(
    crm: HubSpotSandbox, config: Path, tmp_path: Path
) -> None:
    crm.seed_contacts(60, seed=95)
    assert invoke("sync", "--config", str(config))[0] == 0
    target = tmp_path / "missing" / "rules.toml"
    code, output = invoke("clusters", "export", "--config", str(config), "-o", str(target))
    assert code == 2
    assert output == (
        f"Cannot write the cluster rules: [Errno 2] No such file or directory: '{target}'"
    )
