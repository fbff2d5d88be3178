"""segsync's connector test kit, ``connectors.testing``, as a third party's tests meet it.

A plugin author installs segsync (with the ``testing`` extra), subclasses ``ConnectorContract``
and fills in its two fixtures. The kit must import without anything a third party lacks (the
sandbox, this repository's tests, the built-in connectors' CRM clients), say how to install
pytest when it is missing, and say which fixture a subclass forgot. That the example plugin
passes it from the installed package is ``tests/test_plugin.py``'s to show.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).parents[2]
EXTRA_HINT = "pip install 'segsync[testing]'"


def run_python(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """This interpreter in a new process that imports this checkout first."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_kit_without_pytest_says_how_to_install_it() -> None:
    run = run_python("-c", "import sys; sys.modules['pytest'] = None; import connectors.testing")
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1] == (
        "ImportError: connectors.testing needs pytest, which is not installed: " + EXTRA_HINT
    )
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert extras["optional-dependencies"]["testing"] == ["pytest>=8"]


def test_the_kit_imports_only_the_connector_sdk() -> None:
    listing = (
        "import sys, connectors.testing; print(*sorted(m for m in sys.modules if m.split('.')[0]"
        " in {'connectors', 'sync', 'segment_core', 'tests', 'hubspot', 'simple_salesforce'}))"
    )
    run = run_python("-c", listing)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [
        "connectors",
        "connectors.base",
        "connectors.capabilities",
        "connectors.testing",
        "connectors.testing.backend",
        "connectors.testing.contract",
    ]


FORGETFUL = """
import pytest
from connectors.testing import ConnectorContract


class TestNoFixtures(ConnectorContract):
    pass


class TestNoConnector(ConnectorContract):
    @pytest.fixture
    def backend(self):
        return object()
"""


def test_a_subclass_without_its_fixtures_is_told_which_to_provide(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_forgetful.py").write_text(FORGETFUL)
    run = run_python("-m", "pytest", "-p", "no:cacheprovider", "-q", "--tb=short", cwd=tmp_path)
    assert run.returncode == 1
    assert re.fullmatch(r"16 errors in .+", run.stdout.splitlines()[-1]), run.stdout
    errors = [line for line in run.stdout.splitlines() if line.startswith("E   ")]
    assert sorted(set(errors)) == [
        "E   NotImplementedError: TestNoConnector must override the 'connector' fixture: "
        "return your connector, talking to the backend's CRM (see connectors.testing)",
        "E   NotImplementedError: TestNoFixtures must override the 'backend' fixture: "
        "return a CrmBackend over an empty CRM (see connectors.testing)",
    ]
    assert len(errors) == 16
