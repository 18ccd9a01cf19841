"""``python -m benchmarks`` (what ``make bench`` runs): the comparison, or the
fleet benchmark with ``--replicas``, or the live one with ``--live``."""

from __future__ import annotations

import argparse

import pytest

import benchmarks.__main__ as entry
from benchmarks import fleet, run


def test_each_benchmark_gets_its_own_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, object]] = []

    def fleet_main(args: argparse.Namespace) -> int:
        seen.append(("fleet", args.replicas))
        return 0

    def run_main(argv: list[str] | None = None) -> int:
        seen.append(("run", argv))
        return 0

    monkeypatch.setattr(fleet, "main", fleet_main)
    monkeypatch.setattr(run, "main", run_main)
    monkeypatch.setattr(entry, "wrk_path", lambda: "/usr/bin/wrk")
    assert entry.main(["--replicas", "1,2", "--operations", "a"]) == 0
    assert entry.main(["--operations", "ab"]) == 0
    assert entry.main(["--live", "--subscribers", "10"]) == 0
    assert seen == [
        ("fleet", "1,2"),
        ("run", ["--operations", "ab"]),
        ("run", ["--live", "--subscribers", "10"]),
    ]


def test_the_comparison_alone_refuses_replicas(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run.main(["--replicas", "2"]) == 2
    assert "python -m benchmarks" in capsys.readouterr().out
