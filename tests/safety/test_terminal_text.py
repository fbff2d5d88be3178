"""CRM values reach the terminal as text: never as Rich markup, escape sequences or math.

Contacts in the sandbox carry a job title made of everything a CRM user can type that a
terminal or a chart would otherwise interpret: Rich markup that makes a print raise (``[/]``)
or a link (``[link=...]``), an OSC 8 hyperlink, an ANSI colour, and ``$\\x$`` (mathtext to
matplotlib). The title becomes a cluster's name, its contacts' reason, audit examples and a
validation message; every command that prints those must exit 0 and print the title's text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.sandbox import HubSpotSandbox
from segment_core.profiles import MAX_TRAIT_VALUE_LENGTH
from segment_core.text import printable
from sync.cli import app
from sync.terminal import plain
from tests.conftest import TOKEN

runner = CliRunner()

HOSTILE = "Boss[/][link=http://x]y[/link]\x1b]8;;http://evil\x1b\\\x1b[31m$\\x$"
"""A job title (a free-text field) with markup, an OSC 8 link, a colour and math."""
SHOWN = "Boss[/][link=http://x]y[/link]$\\x$"
"""What the terminal must show of it: the text, without the two escape sequences."""
NAME = printable(HOSTILE, MAX_TRAIT_VALUE_LENGTH)
"""What the cluster named after the title is called: its text, cleaned and capped."""
HOSTILE_CONTACTS = 100

CONFIG = """
[hubspot]
base_url = "{base_url}"

[sync]
state_dir = "{state_dir}"

[[segments]]
name = "Buyers"
priority = 10
rule = "num_purchases > 2"

[[clusters]]
name = "Roles"
priority = 1
categorical = ["jobtitle"]
n_clusters = 2
random_state = 0

[validation]
min_size = {min_size}
strict = {strict}
"""


def write_config(directory: Path, crm: HubSpotSandbox, *, strict: bool = False) -> Path:
    """The config; with ``strict``, validation finds every segment too small (a problem the
    run records in its history, naming the segments)."""
    path = directory / "segsync.toml"
    min_size = 100_000 if strict else 1
    path.write_text(
        CONFIG.format(
            base_url=crm.base_url,
            state_dir=directory,
            min_size=min_size,
            strict="true" if strict else "false",
        )
    )
    return path


@pytest.fixture
def hostile_ids(crm: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("SEGSYNC_HUBSPOT__TOKEN", TOKEN)
    # One in ten spelt in lower case: the audit shows both spellings.
    titles = [HOSTILE.lower() if i % 10 == 0 else HOSTILE for i in range(HOSTILE_CONTACTS)]
    ids = crm.store.add_contacts(
        {"email": f"boss{i}@example.com", "jobtitle": title} for i, title in enumerate(titles)
    )
    crm.seed_contacts(150, seed=5)
    return ids


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def assert_shown_as_text(output: str, shown: str = NAME) -> None:
    """The title's text is there (whole, or as the cluster's name); nothing of its escape
    sequences is."""
    assert shown in output, output
    assert "http://evil" not in output and not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", output)


def test_every_command_prints_crm_values_as_text(
    crm: HubSpotSandbox, hostile_ids: list[str], tmp_path: Path
) -> None:
    config = str(write_config(tmp_path, crm))

    planned = invoke("plan", "--config", config)
    assert_shown_as_text(planned)
    assert f"Cluster '{NAME}" in planned  # a sampled write's reason
    assert_shown_as_text(invoke("sync", "--config", config))
    assert_shown_as_text(invoke("audit", "--config", config), SHOWN)
    assert_shown_as_text(invoke("explain", hostile_ids[1], "--config", config), SHOWN)

    strict = str(write_config(tmp_path, crm, strict=True))
    planned_strict = runner.invoke(app, ["plan", "--config", strict])
    assert planned_strict.exit_code == 4  # plan shows the problems, exits 4, records them
    assert_shown_as_text(planned_strict.output)
    newest = json.loads(invoke("runs", "--config", strict, "--json"))[0]["id"]
    shown = invoke("runs", "--config", strict, "show", str(newest))
    assert "message: segment validation" in shown
    assert_shown_as_text(shown)

    report = tmp_path / "report.html"
    invoke("report", "--config", config, "--output", str(report))
    written = report.read_text()  # the HTML shows the name as the CRM holds it, escaped
    assert "Boss[/][link=http://x]y[/link]" in written and "$\\x$" in written


@pytest.mark.parametrize(
    "value, shown",
    [
        ("[/]", "[/]"),
        ("[link=http://x]y[/link]", "[link=http://x]y[/link]"),
        ("a\x1b]8;;http://evil\x1b\\b\x1b]8;;\x07c", "abc"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b]0;title\x07x", "x"),
        ("\x9b31mred", "red"),
        ("two\nlines\r\tand\x00nul\x7f", "two lines  andnul"),
        ("\u202eevil\u202c", "evil"),
        ("$\\x$", "$\\x$"),
    ],
)
def test_plain_removes_sequences_and_controls_and_keeps_the_text(value: str, shown: str) -> None:
    assert plain(value) == shown


def test_a_message_of_several_lines_keeps_its_line_breaks() -> None:
    """A rule error points at its column on the next line; only what is in each line goes."""
    message = 'segment "\x1b[31mBig": unknown field at column 1\n    employes >= 5\r\n    ^\x07'
    assert plain(message, lines=True) == (
        'segment "Big": unknown field at column 1\n    employes >= 5 \n    ^'
    )
