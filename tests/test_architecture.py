"""The house rules the layout promises, checked on the source itself (issue #13).

- No import circle among segsync's modules outside the sandbox: a circle means two modules
  cannot be understood, tested or moved apart.
- The layers point one way: ``segment_core`` knows neither connectors nor syncing, connectors
  never reach into ``sync``, and ``sync`` names no CRM (connectors come from the registry).
- No module outside the tests and the sandbox grows past ~450 lines: one job per module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("connectors", "segment_core", "sync")
SANDBOX = "connectors.sandbox"
MAX_LINES = 450
# The sandbox runs the demo and `segsync sandbox serve`: the one place sync meets a CRM by name.
SANDBOX_USERS = {"sync.demo", "sync.sandbox_serve"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported_names(module: str, path: Path) -> Iterator[str]:
    """Every module name an import statement anywhere in the file mentions (functions and
    ``TYPE_CHECKING`` blocks included: a lazy import is still a dependency)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _owner(name: str) -> str | None:
    """The segsync module a dotted name lives in (``sync.plan.Plan`` -> ``sync.plan``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _dependencies() -> dict[str, set[str]]:
    """Module -> the segsync modules it imports; a module importing its own package's
    ``__init__`` is not a dependency on itself."""
    graph = {}
    for module, path in MODULES.items():
        owners = {_owner(name) for name in _imported_names(module, path)}
        graph[module] = {
            owner
            for owner in owners
            if owner and owner != module and not module.startswith(owner + ".")
        }
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        circles.append(sorted(group))
    return circles


def _in_sandbox(module: str) -> bool:
    return module == SANDBOX or module.startswith(SANDBOX + ".")


def test_the_circle_finder_finds_a_planted_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _circles(graph) == [["a", "b", "c"]]


def test_no_import_circle_outside_the_sandbox() -> None:
    circles = [c for c in _circles(_dependencies()) if not all(map(_in_sandbox, c))]
    assert circles == []


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("segment_core", ("connectors", "sync")),
        ("connectors", ("sync",)),
    ],
)
def test_layers_point_one_way(layer: str, forbidden: tuple[str, ...]) -> None:
    crossings = sorted(
        f"{module} -> {target}"
        for module, targets in _dependencies().items()
        if module.split(".")[0] == layer
        for target in targets
        if target.split(".")[0] in forbidden
    )
    assert crossings == []


def test_sync_names_no_crm() -> None:
    """Connectors reach ``sync`` through the registry only, as a third-party plugin would."""
    crm_packages = ("connectors.hubspot", "connectors.salesforce", SANDBOX)
    crossings = sorted(
        f"{module} -> {target}"
        for module, targets in _dependencies().items()
        if module.split(".")[0] == "sync" and module not in SANDBOX_USERS
        for target in targets
        if target.startswith(crm_packages)
    )
    assert crossings == []


def test_no_module_outside_tests_and_the_sandbox_outgrows_one_job() -> None:
    long_modules = {
        module: lines
        for module, path in MODULES.items()
        if not _in_sandbox(module)
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long_modules == {}
