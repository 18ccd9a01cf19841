"""The import graph and module sizes, read with ``ast`` (nothing is imported).

The flow is gateway -> schema -> engine / adapters -> caching: a package imports
only those to its right, and no modules import each other in a cycle, counting
every import: those that run when the module loads, those under ``if
TYPE_CHECKING:`` (a module that names another's types depends on it) and those
inside functions (run later, a dependency all the same). Modules
of the gateway, the engine, the schema, the cache and the adapters (but for the
sandboxes, which serve tests and benchmarks, never a gateway request, and the
gateway's command-line tools) stay under 400 lines.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from collections.abc import Collection, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "schema", "engine", "adapters", "caching")
# What each package may import (besides itself).
MAY_IMPORT = {
    "gateway": {"schema", "engine", "adapters", "caching"},
    "schema": {"engine", "adapters", "caching"},
    "engine": {"caching"},
    "adapters": {"caching"},
    "caching": set(),
}
# Imports against the flow still there, each to be removed; the test fails on any
# other. (The schema's imports of the gateway's upstreams went with the provider
# ports, adapters/ports.py.)
KNOWN_AGAINST_FLOW: set[tuple[str, str]] = set()
MAX_LINES = 400
SIZED = ("gateway", "engine", "schema", "caching", "adapters")
# The gateway's modules that never serve a request: the command line, the
# process manager of ``gateway fleet`` and its local load balancer (a stand-in
# for the bank's, started only by ``gateway fleet``), the schema's drift check.
NOT_SERVING = {
    "gateway.cli",
    "gateway.fleet",
    "gateway.balancer",
    "gateway.schema_guard",
}
# Modules on the request path still over MAX_LINES, each to be split; the test
# fails on any other, and on one listed here that is no longer over.
KNOWN_OVERSIZED: set[str] = set()


def on_the_request_path(name: str) -> bool:
    """Not a sandbox: a provider's stand-in package or the kit they share."""
    parts = name.split(".")
    return (
        "sandbox" not in parts
        and not parts[-1].startswith("sandbox_")
        and name not in NOT_SERVING
    )


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


@functools.cache
def module_names() -> frozenset[str]:
    return frozenset(name for name, _ in modules())


def imports(name: str, path: Path, known: Collection[str] | None = None) -> set[str]:
    """First-party modules ``path`` imports, wherever the import is: at the top,
    under ``if TYPE_CHECKING:`` or inside a function. ``from p import m`` imports
    the module ``p.m`` when there is one (``known``: all of them), else ``p``."""
    known = module_names() if known is None else known
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for a in node.names:
                submodule = f"{base}.{a.name}"
                found.add(submodule if submodule in known else base)
    return {m for m in found if m.split(".")[0] in PACKAGES}


@functools.cache
def graph() -> dict[str, set[str]]:
    """Module -> the modules it imports."""
    known = dict(modules())
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        found = imports(name, path, known.keys())
        edges[name] = {m for m in found if m in known and m != name}
    return edges


def against_flow(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {
        (source, target)
        for source, targets in edges.items()
        for target in targets
        if (top := target.split(".")[0]) != source.split(".")[0]
        and top not in MAY_IMPORT[source.split(".")[0]]
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_against_the_flow() -> None:
    edges = graph()
    assert edges.get("engine.context")
    assert against_flow(edges) <= KNOWN_AGAINST_FLOW
    engine = {t for s, ts in edges.items() if s.startswith("engine") for t in ts}
    assert {t.split(".")[0] for t in engine} <= {"engine", "caching"}


def test_no_cycle_between_packages() -> None:
    edges = graph()
    tops = {
        (s.split(".")[0], t.split(".")[0])
        for s, ts in edges.items()
        for t in ts
        if s.split(".")[0] != t.split(".")[0]
    }
    allowed = {(s, t) for s, ts in MAY_IMPORT.items() for t in ts}
    unknown = {e for e in tops - allowed}
    assert not unknown


def one_cycle(edges: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module: ``[a, b, a]``."""
    start, inside = component[0], set(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(edges.get(v, set()) & inside):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if w not in came_from:
                came_from[w] = v
                queue.append(w)
    raise AssertionError(f"no cycle in {component}")


def describe(edges: dict[str, set[str]], component: list[str]) -> str:
    inside = set(component)
    imported = sorted(f"{s} -> {t}" for s in component for t in edges[s] & inside)
    return (
        " -> ".join(one_cycle(edges, component))
        + "\n    (all imports in this cycle: "
        + ", ".join(imported)
        + ")"
    )


def test_no_cycle_between_modules() -> None:
    """None, counting the imports under ``if TYPE_CHECKING:`` and in functions."""
    edges = graph()
    found = cycles(edges)
    assert not found, "modules import each other in a cycle:\n" + "\n".join(
        describe(edges, component) for component in found
    )


def test_the_checks_see_what_they_check(tmp_path: Path) -> None:
    edges = {"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": set()}
    assert cycles(edges) == [["a.x", "a.y"]]
    assert against_flow({"engine.p": {"schema.q"}}) == {("engine.p", "schema.q")}
    ring = {"a.p": {"a.q", "a.z"}, "a.q": {"a.r"}, "a.r": {"a.p"}, "a.z": set()}
    assert cycles(ring) == [["a.p", "a.q", "a.r"]]
    assert describe(ring, ["a.p", "a.q", "a.r"]) == (
        "a.p -> a.q -> a.r -> a.p\n"
        "    (all imports in this cycle: a.p -> a.q, a.q -> a.r, a.r -> a.p)"
    )
    module = tmp_path / "loaders.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import errors, Info\n"
        "if TYPE_CHECKING:\n"
        "    from schema.context import Upstreams\n"
        "def later() -> None:\n"
        "    import engine.plans\n"
        "    from adapters.auco.sandbox import store\n",
        "utf-8",
    )
    known = {"schema", "schema.errors", "adapters.auco.sandbox.store"}
    assert imports("schema.loaders", module, known) == {
        "schema",  # Info: not a module, a name of the package's
        "schema.errors",
        "schema.context",
        "engine.plans",
        "adapters.auco.sandbox.store",
    }


def test_modules_stay_small() -> None:
    sizes = {
        name: len(path.read_text("utf-8").splitlines())
        for name, path in modules()
        if name.split(".")[0] in SIZED and on_the_request_path(name)
    }
    assert sizes and max(sizes.values()) > 50
    assert "adapters.apiture.mapping" in sizes and "adapters.mambu.client" in sizes
    assert "gateway.graphql_http" in sizes and "gateway.fleet_limits" in sizes
    assert not any("sandbox" in name for name in sizes)
    assert not NOT_SERVING & sizes.keys()
    oversized = {n for n, s in sizes.items() if s > MAX_LINES}
    assert oversized == KNOWN_OVERSIZED, {
        n: sizes.get(n) for n in oversized ^ KNOWN_OVERSIZED
    }
