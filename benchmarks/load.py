"""The load: wrk with ``benchmarks/wrk/graphql.lua``, and what it reports.

wrk keeps a fixed number of connections busy for a fixed time (a closed loop: each
connection sends its next request when the answer to the last one arrives), so the
two gateways get the same offered concurrency and their throughput and latency are
read the same way. The Lua script checks every answer and prints one
``BENCH_RESULT`` line of JSON, read by :func:`parse_result`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "wrk" / "graphql.lua"
MARKER = "BENCH_RESULT "


@dataclass(frozen=True)
class Load:
    connections: int = 32
    threads: int = 2
    seconds: float = 20.0
    timeout: float = 10.0


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    socket_errors: int  # connect, read, write, timeouts
    non200: int
    errored: int  # 200 with "errors" in the body
    unexpected: int  # 200 without the expected data
    reused: int  # fresh-data requests that had to reuse a record
    wrk_cpu_seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non200 + self.errored + self.unexpected


def parse_result(output: str, wrk_cpu_seconds: float = 0.0) -> WrkResult:
    line = next((x for x in output.splitlines() if x.startswith(MARKER)), None)
    if line is None:
        raise ValueError("wrk printed no BENCH_RESULT line:\n" + output[-2000:])
    raw = json.loads(line[len(MARKER) :])
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        socket_errors=raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
        non200=raw["non200"],
        errored=raw["errored"],
        unexpected=raw["unexpected"],
        reused=raw["reused"],
        wrk_cpu_seconds=wrk_cpu_seconds,
    )


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    url: str,
    bodies: Path,
    expect: str | Sequence[str] | None,
    token: str,
    load: Load,
) -> WrkResult:
    """One wrk run; its own CPU comes from the kernel's accounting of the child.

    ``bodies`` is a file of :func:`benchmarks.traffic.write`; a good answer holds
    ``expect`` (one of them, when several)."""
    markers = [expect] if isinstance(expect, str) else list(expect or [])
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    command = [
        wrk,
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(load.seconds))}s",
        f"--timeout={max(1, round(load.timeout))}s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(bodies),
        "\t".join(markers) or "-",
        token,
        str(load.threads),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    output = process.stdout.read().decode("utf-8", errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output[-2000:]}")
    return parse_result(output, usage.ru_utime + usage.ru_stime)
