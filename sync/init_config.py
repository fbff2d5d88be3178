"""``segsync init``: a commented config to start from, or one ready for the sandbox CRM.

The template is ``sync/config.example.toml``, shipped with the package; the repository's
top-level ``config.example.toml`` is a byte-identical copy (a test holds them together), so the
documentation people read and the file ``init`` writes cannot drift apart.

``--sandbox URL`` keeps that template's documented settings and merges the demo's config
(``sync/demo.toml``) into it rather than keeping a third file: a demo key of a table the
template has is set on its line there (active or commented out, so the comment above it
stays), the demo's other tables (features, audit, validation, segments, clusters) come after,
and the sandbox's ``base_url`` and a ``schedule`` are set last.
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sync.sandbox_serve import DEFAULT_SECRETS_DIR
from sync.schedule import ScheduledSync, cron_trigger

TEMPLATE = "config.example.toml"
DEMO = "demo.toml"
SANDBOX_SCHEDULE = "* * * * *"
"""Every minute: a trial sees its first scheduled sync without waiting."""
SANDBOX_HEADER = f"""\
# Written by `segsync init --sandbox`: the documented settings below, pointed at a sandbox CRM
# started with `segsync sandbox serve`, with the demo's features, segments and clusters. The
# sandbox's token is not in this file: `sandbox serve` writes it to {DEFAULT_SECRETS_DIR}, so run
#   SEGSYNC_SECRETS_DIR={DEFAULT_SECRETS_DIR} segsync schedule --config <this file>
#
"""
_HEADER = re.compile(r"^\[\[?[A-Za-z0-9_.]+\]\]?\s*$")


def template() -> str:
    """The commented config: every key with its default."""
    return files("sync").joinpath(TEMPLATE).read_text(encoding="utf-8")


def config_text(sandbox_url: str | None = None, schedule: str | None = None) -> str:
    """The config ``init`` writes: the template, or the sandbox's, with ``schedule`` if given.

    Raises ``ValueError`` for a sandbox URL that is not http(s) or a bad cron expression.
    """
    if schedule is not None:
        cron_trigger(ScheduledSync("init", schedule))  # a typo fails now, not at first firing
    if sandbox_url is None:
        return template() if schedule is None else set_key(template(), "sync", "schedule", schedule)
    parts = urlsplit(sandbox_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--sandbox must be the sandbox's http:// URL, not {sandbox_url!r}")
    return SANDBOX_HEADER + _merge_demo(
        {
            ("hubspot", "base_url"): sandbox_url.rstrip("/"),
            ("sync", "schedule"): schedule or SANDBOX_SCHEDULE,
        }
    )


def _merge_demo(values: dict[tuple[str, str], Any]) -> str:
    """The template's settings with the demo's merged in (see the module docstring), then
    ``values`` set."""
    tables = _tables(template())
    active = {header for header, _ in tables if header and not header.startswith("[[")}
    text = "".join(chunk for header, chunk in tables if not header.startswith("[["))
    appended = []
    for header, chunk in _tables(files("sync").joinpath(DEMO).read_text(encoding="utf-8")):
        if header and header not in active:
            appended.append(chunk)
            continue
        for (section, key), value in _keys(tomllib.loads(chunk)).items():
            text = set_key(text, section, key, value)
    for (section, key), value in values.items():
        text = set_key(text, section, key, value)
    return text + "".join(appended)


def write_config(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path``; ``FileExistsError`` rather than overwrite without ``force``."""
    if path.exists() and not force:
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def set_key(text: str, section: str, key: str, value: Any) -> str:
    """``text`` with ``key`` of ``[section]`` ("" for the top level) set to ``value``.

    The key's line, active or commented out (``# key = ...``), is replaced; ``ValueError`` if
    the section has no such line, since the template documents every key.
    """
    lines = text.splitlines(keepends=True)
    if section and f"[{section}]\n" not in lines:
        raise ValueError(f"the config template has no [{section}] table")
    start = lines.index(f"[{section}]\n") + 1 if section else 0
    line = re.compile(rf"^(# )?{re.escape(key)} = ")
    for number in range(start, len(lines)):
        if lines[number].startswith("["):
            break
        if line.match(lines[number]):
            lines[number] = f"{key} = {_toml(value)}\n"
            return "".join(lines)
    raise ValueError(f"the config template has no key {key!r} in [{section}]")


def _tables(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (header line, text) per table, "" heading the top-level keys; the
    comment lines right above a header go with its table."""
    lines = text.splitlines(keepends=True)
    cuts = [(0, "")]
    for number, line in enumerate(lines):
        if _HEADER.match(line):
            start = number
            while start > cuts[-1][0] and lines[start - 1].startswith("#"):
                start -= 1
            cuts.append((start, line.strip()))
    ends = [start for start, _ in cuts[1:]] + [len(lines)]
    bounds = zip(cuts, ends, strict=False)
    return [(header, "".join(lines[start:end])) for (start, header), end in bounds]


def _keys(data: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """The keys of a parsed table (or the top level) as ((section, key), value)."""
    found: dict[tuple[str, str], Any] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            found.update({(name, key): item for key, item in value.items()})
        else:
            found[("", name)] = value
    return found


def _toml(value: Any) -> str:
    """A TOML literal of a string, number, boolean or list of them (JSON's forms are TOML's)."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)
