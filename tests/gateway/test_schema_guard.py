"""The breaking-change guard that `make check` runs (gateway check-schema)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway.schema_guard import ACK_FILE, SCHEMA_FILE, check, compare, render

BEFORE = """
type Query { application(id: ID!): Application }
type Application { id: ID! name: String outcome: String }
enum State { PENDING RUNNING }
"""
AFTER = """
type Query { application(id: ID!): Application }
type Application { id: ID! name: String }
enum State { PENDING RUNNING APPROVED }
"""
REMOVED = "FIELD_REMOVED: Field Application.outcome was removed."


def test_a_removed_field_is_breaking_and_an_added_enum_value_dangerous() -> None:
    report = compare(BEFORE, AFTER, frozenset())
    assert report.breaking == (REMOVED,)
    assert report.unacknowledged == (REMOVED,)
    assert any("APPROVED was added" in c for c in report.dangerous)
    assert not report.ok


def test_an_acknowledged_change_passes() -> None:
    report = compare(BEFORE, AFTER, frozenset({REMOVED}))
    assert report.ok
    assert "breaking (acknowledged)" in "\n".join(render(report))


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / SCHEMA_FILE).write_text(BEFORE)
    git(tmp_path, "add", SCHEMA_FILE)
    git(tmp_path, "commit", "-q", "-m", "schema")
    return tmp_path


def test_the_live_schema_is_compared_with_the_committed_one(repo: Path) -> None:
    report = check(AFTER, repo)
    assert report.base == "HEAD"
    assert report.unacknowledged == (REMOVED,)
    (repo / ACK_FILE).write_text(f"{REMOVED}  # nobody reads outcome any more\n")
    assert check(AFTER, repo).ok


def test_once_committed_the_change_is_still_reviewed_against_its_parent(
    repo: Path,
) -> None:
    (repo / SCHEMA_FILE).write_text(AFTER)
    git(repo, "commit", "-q", "-am", "drop outcome")
    report = check(AFTER, repo)
    assert report.base is not None and report.base.endswith("~1")
    assert report.unacknowledged == (REMOVED,)


def test_without_git_history_the_guard_says_so_and_passes(tmp_path: Path) -> None:
    report = check(AFTER, tmp_path)
    assert report.ok
    assert report.base is not None and "no committed" in report.base
