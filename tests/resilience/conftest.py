"""Failure tests run the real gateway on fast-failing settings; ``-v`` prints the
failure matrix they recorded after the run."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.model import Provider
from benchmarks import processes
from gateway.settings import Settings

from . import proxy
from .proxy import FaultProxy
from .support import MATRIX, failure_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings() -> Settings:
    return failure_settings()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MATRIX or terminalreporter.config.getoption("verbose") < 1:
        return
    header = ("provider", "fault", "code", "null", "data kept", "upstream calls")
    rows = [header, *(tuple(str(c) for c in row) for row in MATRIX)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    terminalreporter.section("failure matrix")
    for n, row in enumerate(rows):
        line = " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
        terminalreporter.write_line(f"| {line} |")
        if n == 0:
            terminalreporter.write_line(
                "|" + "|".join("-" * (w + 2) for w in widths) + "|"
            )


@pytest.fixture(scope="session")
def sandbox_processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[Provider, str]]:
    """The four sandboxes as ``gateway sandbox --provider NAME --port N`` serves
    them, each its own process on a free port: provider → base URL."""
    logs = tmp_path_factory.mktemp("sandboxes")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    started: dict[Provider, processes.Started] = {}
    urls: dict[Provider, str] = {}
    try:
        for provider in Provider:
            port = processes.free_port()
            urls[provider] = f"http://127.0.0.1:{port}"
            started[provider] = processes.start(
                f"{provider.value} sandbox",
                [
                    sys.executable,
                    "-m",
                    "gateway.cli",
                    "sandbox",
                    f"--provider={provider.value}",
                    f"--port={port}",
                ],
                log=logs / f"{provider.value}.log",
                env=env,
                cwd=ROOT,
            )
        for provider, process in started.items():
            processes.wait_until_ready(process, urls[provider] + "/_sandbox/calls")
        yield urls
    finally:
        processes.stop(started.values())


@pytest.fixture(scope="session")
def fault_proxy(sandbox_processes: dict[Provider, str]) -> Iterator[FaultProxy]:
    """One proxy for the session, in front of the sandbox processes."""
    with proxy.running(sandbox_processes) as running:
        yield running
