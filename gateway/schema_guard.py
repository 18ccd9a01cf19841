"""Breaking changes of the live schema against the last committed ``schema.graphql``.

``make check`` runs ``gateway check-schema``. The base is ``schema.graphql`` as
committed at ``HEAD``; when the live schema is that very file (the change is
committed already, as in CI), the base is the version before the last commit
that changed it, so the latest change keeps being reviewed. A breaking change
(graphql-core's ``find_breaking_changes``) fails the check unless a line of
``schema-changes.ack`` acknowledges it::

    FIELD_REMOVED: Field Application.outcome was removed.  # why, who agreed

Dangerous changes (an enum value or a union member added…) are shown, not fatal.
Without git or a committed base (a tarball, a first commit) it says so and passes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    GraphQLError,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = "schema.graphql"
ACK_FILE = "schema-changes.ack"


@dataclass(frozen=True)
class Report:
    base: str | None  # which committed version was compared, or why none
    breaking: tuple[str, ...]
    dangerous: tuple[str, ...]
    unacknowledged: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.unacknowledged


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def committed_base(root: Path, live_sdl: str) -> tuple[str, str] | None:
    """(label, SDL) of the committed schema to compare with, or None."""
    head = _git(root, "show", f"HEAD:{SCHEMA_FILE}")
    if head is None:
        return None
    if head.strip() != live_sdl.strip():
        return "HEAD", head
    last = _git(root, "log", "-n", "1", "--format=%H", "--", SCHEMA_FILE)
    if not last or not last.strip():
        return None
    parent = f"{last.strip()}~1"
    before = _git(root, "show", f"{parent}:{SCHEMA_FILE}")
    return (parent, before) if before is not None else None


def acknowledged(path: Path) -> frozenset[str]:
    if not path.is_file():
        return frozenset()
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return frozenset(line for line in lines if line)


def describe(change_type: str, description: str) -> str:
    return f"{change_type}: {description}"


def compare(old_sdl: str, new_sdl: str, acks: frozenset[str]) -> Report:
    old, new = build_schema(old_sdl), build_schema(new_sdl)
    breaking = tuple(
        describe(c.type.name, c.description) for c in find_breaking_changes(old, new)
    )
    dangerous = tuple(
        describe(c.type.name, c.description) for c in find_dangerous_changes(old, new)
    )
    unacknowledged = tuple(c for c in breaking if c not in acks)
    return Report(None, breaking, dangerous, unacknowledged)


def check(live_sdl: str, root: Path = ROOT) -> Report:
    base = committed_base(root, live_sdl)
    if base is None:
        return Report("no committed schema.graphql to compare with", (), (), ())
    label, sdl = base
    try:
        report = compare(sdl, live_sdl, acknowledged(root / ACK_FILE))
    except GraphQLError as exc:
        return Report(f"{label}: unreadable ({exc.message})", (), (), ())
    return Report(label, report.breaking, report.dangerous, report.unacknowledged)


def render(report: Report) -> Sequence[str]:
    lines = [f"schema: compared with {SCHEMA_FILE} at {report.base}"]
    lines += [f"  dangerous: {c}" for c in report.dangerous]
    lines += [
        f"  breaking{' (acknowledged)' if c not in report.unacknowledged else ''}: {c}"
        for c in report.breaking
    ]
    if report.unacknowledged:
        lines.append(
            f"{len(report.unacknowledged)} breaking change(s) not acknowledged: "
            f"add each line above, as printed after 'breaking: ', to {ACK_FILE}"
        )
    elif not report.breaking:
        lines.append("  no breaking changes")
    return lines
