"""``segsync check --json`` run in-process, and the rows of its report by check name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sync.cli import app

runner = CliRunner()


def check(path: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["check", "--config", str(path), "--json"])
    return result.exit_code, json.loads(result.output)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {row["name"]: row["status"] for row in report["checks"]}


def details(report: dict[str, Any]) -> dict[str, str]:
    return {row["name"]: row["detail"] for row in report["checks"]}
