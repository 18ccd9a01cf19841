"""Failure tests run the real gateway on fast-failing settings; ``-v`` prints the
failure matrix they recorded after the run."""

from __future__ import annotations

import pytest

from gateway.settings import Settings

from .support import MATRIX, failure_settings


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
