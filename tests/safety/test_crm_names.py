"""Names the CRM sees as one are one (issue #10, item 3).

HubSpot list names are unique ignoring case, so two segments whose list names differ only in
case would share one list, and a run (``--force`` or not) would empty it for one of them.
Such configs stop with exit 2 and one line naming both, before any call that writes; so do
cluster names that collide with a rule segment, and a ``list_name_pattern`` with a placeholder
other than ``{segment}``. A cluster named after a CRM value gets a short, printable name, so
a 100 KB category value full of control characters no longer makes every run fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox, SalesforceSandbox
from segment_core.naming import cluster_names
from segment_core.profiles import ClusterProfile, Trait
from sync.cli import app
from tests.conftest import TOKEN, write_hubspot_config, write_salesforce_config, writes_among

runner = CliRunner()

@pytest.fixture
def ids(crm: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    return crm.seed_contacts(40, seed=103)


@pytest.fixture
def portal(crm: HubSpotSandbox, ids: list[str]) -> HubSpotSandbox:
    return crm


def config(
    tmp_path: Path,
    crm: HubSpotSandbox,
    extra: str = "",
    *,
    pattern: str = "segsync: {segment}",
    sync: str = "",
) -> Path:
    lines = f'list_name_pattern = "{pattern}"\n{sync}'
    return write_hubspot_config(tmp_path, crm.base_url, sync=lines, segments=extra)


def sync(path: Path, *extra: str) -> tuple[int, str]:
    """The exit code and the last line printed (a pull's progress bar may come before it)."""
    result = runner.invoke(app, ["sync", "--config", str(path), *extra])
    return result.exit_code, result.output.strip().splitlines()[-1]


def members(crm: HubSpotSandbox, name: str) -> set[str] | None:
    """The members of the list of that name (ignoring case, as HubSpot), None if none."""
    found = crm.store.list_by_name(name)
    return None if found is None else crm.store.list_members(found["listId"])


VIP_TWICE = """
[[segments]]
name = "VIP"
priority = 5
rule = 'employees >= 500'

[[segments]]
name = "vip"
priority = 1
rule = 'employees < 5'
"""


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_segments_differing_only_in_case_are_a_config_error(
    portal: HubSpotSandbox, tmp_path: Path, force: list[str]
) -> None:
    path = config(tmp_path, portal, VIP_TWICE)
    code, output = sync(path, *force)
    assert code == 2
    assert output == (
        f'Configuration error: {path}: segment "VIP" and segment "vip" are one name to the '
        "CRM, which ignores case (list 'segsync: vip'): rename one of them"
    )
    assert portal.calls == {}  # stopped at load: the CRM was not even read
    assert members(portal, "segsync: vip") is None


def test_the_fallback_segment_is_compared_with_the_segments(
    portal: HubSpotSandbox, tmp_path: Path
) -> None:
    path = config(tmp_path, portal, sync='fallback_segment = "BIG"')
    code, output = sync(path)
    assert code == 2
    assert output == (
        f'Configuration error: {path}: segment "Big" and fallback_segment "BIG" are one name '
        "to the CRM, which ignores case (list 'segsync: BIG'): rename one of them"
    )
    assert portal.calls == {}


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("{segment} {segmnt}", "{segmnt} is not a placeholder: the only one is {segment}"),
        ("{0}: {segment}", "{0} is not a placeholder: the only one is {segment}"),
        ("{segment} {", "Single '{' encountered in format string (write a literal brace as "
         "{{ or }})"),
    ],
)
def test_a_bad_placeholder_in_list_name_pattern_is_a_config_error(
    portal: HubSpotSandbox, tmp_path: Path, pattern: str, problem: str
) -> None:
    path = config(tmp_path, portal, pattern=pattern)
    code, output = sync(path)
    assert code == 2
    assert output == f"  sync.list_name_pattern: Value error, {problem}"
    assert portal.calls == {}


NAMED_CLUSTERS = """
[[clusters]]
name = "Personas"
priority = 5
numeric = ["employees"]
n_clusters = 2
names = { 0 = "big", 1 = "Others" }
"""


def test_a_cluster_named_like_a_rule_segment_stops_before_any_write(
    portal: HubSpotSandbox, tmp_path: Path
) -> None:
    path = config(tmp_path, portal, NAMED_CLUSTERS)
    for run in (["--dry-run"], [], ["--force"]):
        code, output = sync(path, *run)
        assert code == 2
        assert output == (
            f'Configuration error: {path}: segment "Big" and cluster "big" of cluster set '
            "\"Personas\" are one name to the CRM, which ignores case (list 'segsync: big'): "
            "rename one of them"
        )
    assert writes_among(portal.calls) == {}
    assert members(portal, "segsync: big") is None
    assert portal.store.property("segsync_segment") is None


def test_generated_cluster_names_differing_only_in_case_are_told_apart() -> None:
    """Category values "Retail" and "RETAIL" would name two clusters one list in HubSpot."""

    def profile(cluster_id: int, value: str) -> ClusterProfile:
        trait = Trait("industry", "industry", 1.0, value=value)
        return ClusterProfile(cluster_id, 10, 0.5, (), (), (trait,))

    names = cluster_names({0: profile(0, "Retail"), 1: profile(1, "RETAIL")})
    assert names == {0: "Retail · cluster 0", 1: "RETAIL · cluster 1"}
    profiles = {0: profile(0, "Retail"), 1: profile(1, "other")}
    fixed = cluster_names(profiles, overrides={1: "RETAIL"})
    assert fixed == {0: "Retail · cluster 0", 1: "RETAIL"}


HUGE = "Acme\x00\x1b[31m Corp\n\t" + "x" * 100_000
"""A category value as a broken import leaves it: control characters, then 100 KB."""
HUGE_NAME = "Acme Corp xxxxxxxxxxxxxxxxxxx…"
"""What the cluster of that value is called: its text without the colour sequence and control
characters, cut at 30 characters."""

INDUSTRY_CLUSTERS = """
[[clusters]]
name = "By industry"
priority = 20
categorical = ["industry"]
n_clusters = 2
"""


def test_a_100_kb_category_value_names_a_short_printable_cluster_and_the_run_succeeds(
    portal: HubSpotSandbox, ids: list[str], tmp_path: Path
) -> None:
    huge, retail = ids[:20], ids[20:]
    for contact_id in huge:
        portal.store.set_properties(contact_id, {"industry": HUGE})
    for contact_id in retail:
        portal.store.set_properties(contact_id, {"industry": "Retail"})
    code, output = sync(config(tmp_path, portal, INDUSTRY_CLUSTERS))
    assert code == 0, output
    assert members(portal, f"segsync: {HUGE_NAME}") == set(huge)
    assert members(portal, "segsync: Retail") == set(retail)
    options = [o["value"] for o in portal.store.property("segsync_segment")["options"]]
    assert sorted(options) == sorted(["Big", HUGE_NAME, "Retail"])
    segments = {cid: portal.store.contact(cid)["segsync_segments"] for cid in ids}
    assert {cid for cid, value in segments.items() if HUGE_NAME in (value or "")} == set(huge)
    reasons = {portal.store.contact(cid)["segsync_reason"] for cid in huge}
    assert all(len(reason or "") < 200 for reason in reasons)
    assert portal.store.contact(huge[0])["industry"] == HUGE  # the CRM's own value untouched


LONG_NAME = "Enterprise accounts in healthcare with more than 500 employees and rising"
"""73 characters: "segsync: " makes its campaign's name 82, over Campaign.Name's 80."""


@pytest.mark.parametrize("command", [["check", "--json"], ["sync"], ["sync", "--dry-run"]])
def test_a_list_name_longer_than_the_crm_takes_stops_check_and_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    with SalesforceSandbox() as org:
        org.seed_contacts(20, seed=104)
        monkeypatch.setenv("SEGSYNC_SALESFORCE__SESSION_ID", org.session_id)
        path = write_salesforce_config(tmp_path, org, segment=LONG_NAME)
        result = runner.invoke(app, [command[0], "--config", str(path), *command[1:]])
        assert result.exit_code == 2
        problem = (
            f'{path}: the list name of segment "{LONG_NAME}" would be 82 characters long; the '
            "CRM takes list names of at most 80: shorten the name or list_name_pattern"
        )
        if command[0] == "check":
            rows = {row["name"]: row for row in json.loads(result.output)["checks"]}
            assert (rows["segment rules"]["status"], rows["segment rules"]["detail"]) == (
                "failed",
                problem,
            )
        else:
            assert result.output.strip().splitlines()[-1] == f"Configuration error: {problem}"
        assert [call.route for call in org.call_log if not call.route.startswith("GET ")] == []
