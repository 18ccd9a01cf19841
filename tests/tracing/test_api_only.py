"""Below the gateway only OpenTelemetry's API is imported (``opentelemetry.trace``,
``opentelemetry.context`` to make a span current, ``opentelemetry.util.types``
for attribute types): the SDK, the exporters and the configuration are
``gateway.tracing``'s."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# opentelemetry-api's modules
API = ("opentelemetry.trace.", "opentelemetry.context.", "opentelemetry.util.types.")


def _otel_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] == "opentelemetry"}


def test_adapters_engine_and_schema_import_only_the_tracing_api() -> None:
    seen: dict[str, set[str]] = {}
    for package in ("adapters", "engine", "schema", "caching"):
        for path in sorted((ROOT / package).rglob("*.py")):
            imported = _otel_imports(path)
            if imported:
                seen[str(path.relative_to(ROOT))] = imported
    assert seen  # the instrumented modules are there
    outside = {
        where: sorted(m for m in found if not m.startswith(API))
        for where, found in seen.items()
    }
    assert {k: v for k, v in outside.items() if v} == {}


def test_the_gateway_holds_the_sdk() -> None:
    imported = _otel_imports(ROOT / "gateway" / "tracing.py")
    assert any(m.startswith("opentelemetry.sdk.") for m in imported)
