"""``make bench BENCH_ARGS="--replicas 1,2,4"``: our gateway as a fleet.

The same sandboxes, population and wrk load as the comparison (``run.py``), but
our gateway started as ``gateway fleet --replicas N`` (Redis, N replicas and the
fleet's load balancer; :mod:`gateway.fleet`) for each N asked, then once more
with one replica and no Redis. Every configuration has the per-caller rate
limits on, far above what the load reaches (nothing is refused), so each
request makes its round trip to Redis where there is one; the last row keeps
them in process. Measured per configuration: throughput, latency under load and
at one connection, and the CPU of the whole fleet (replicas, balancer, Redis),
from which the throughput per core.

- **Scaling**: rows 1, 2, 4 replicas. On a 2-core machine more than two
  replicas cannot add cores; the balancer and Redis take their share too.
- **Redis's cost per request**: "1 replica" against "1 replica, no Redis" at
  one connection (p50: the added latency) and in CPU per request.

The unit measured is the first of the comparison's (the weighted mix by
default; ``--scenarios``/``--operations`` choose as there).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import processes
from benchmarks.operations import select
from benchmarks.processes import Started
from benchmarks.results import Measurement
from benchmarks.run import (
    GATEWAY_CLI,
    PROVIDERS,
    ROOT,
    Stack,
    _population,
    check_sample,
    clean_env,
    measure,
    ours_env,
    source_version,
    start_sandboxes,
    token,
    units,
    upstream_hop_ms,
)

# Never reached by the load: the limits are checked, nothing is refused.
LIMITS = {
    "GATEWAY_RATE_LIMIT_REQUESTS": "1000000",
    "GATEWAY_RATE_LIMIT_BURST": "1000000",
    "GATEWAY_RATE_LIMIT_COST": "1000000000",
    "GATEWAY_RATE_LIMIT_COST_BURST": "1000000000",
}


@dataclass
class Row:
    label: str
    replicas: int
    redis: bool
    measurement: Measurement

    @property
    def cores(self) -> float:
        m = self.measurement
        return m.cpu_seconds / m.window_seconds if m.window_seconds else 0.0

    @property
    def rps_per_core(self) -> float:
        return self.measurement.rps / self.cores if self.cores else 0.0


def sandbox_stack(args: argparse.Namespace, work: Path) -> Stack:
    started: dict[str, Started] = {}
    ports: list[int] = []
    while len(ports) < 4:
        port = processes.free_port()
        if port not in ports:
            ports.append(port)
    stack = Stack(
        sandboxes={
            p: f"http://127.0.0.1:{port}"
            for p, port in zip(PROVIDERS, ports, strict=True)
        },
        ours="",
        hive="",
        started=started,
    )
    started.update(start_sandboxes(work, stack.sandboxes, args.latency, clean_env()))
    stack.population = _population(work)
    return stack


def start_fleet(
    stack: Stack, work: Path, replicas: int, redis: bool, label: str
) -> Started:
    port = processes.free_port()
    env = ours_env(stack.sandboxes, clean_env()) | LIMITS
    command = [*GATEWAY_CLI, "fleet", f"--replicas={replicas}", f"--port={port}"]
    if not redis:
        command.append("--no-redis")
    fleet = processes.start(
        label, command, log=work / f"fleet-{label}.log", env=env, cwd=ROOT
    )
    stack.ours = f"http://127.0.0.1:{port}"
    stack.started["ours"] = fleet
    processes.wait_until_ready(fleet, stack.ours + "/readyz", timeout=120)
    return fleet


def main(args: argparse.Namespace) -> int:
    sizes = [int(n) for n in args.replicas.split(",") if n.strip()]
    configurations = [(n, True) for n in sizes] + [(1, False)]
    scenarios = [x.strip() for x in args.scenarios.split(",") if x.strip()]
    unit = units(scenarios, select(args.operations))[0]
    started_at = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = Path(args.output)
    work = output / f"{started_at}-fleet"
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"fleet bench of {ROOT} at {source_version()}: {unit.scenario} {unit.key} "
        f"at {', '.join(map(str, sizes))} replicas (logs in {work})",
        flush=True,
    )
    stack = sandbox_stack(args, work)
    bearer = token()
    args.hops_ms = upstream_hop_ms(
        stack, {w for op in unit.ops for w in op.critical_path}
    )
    rows: list[Row] = []
    guess = 2000.0
    try:
        for replicas, redis in configurations:
            label = f"{replicas} replica{'s' if replicas > 1 else ''}"
            label += "" if redis else ", no Redis"
            fleet = start_fleet(stack, work, replicas, redis, label.replace(" ", ""))
            try:
                problem = check_sample(stack, unit, "ours", f"Bearer {bearer}", work)
                if problem:
                    print(f"  ! {label}: sample failed: {problem}", flush=True)
                print(f"  {label} …", end="", flush=True)
                m = measure(stack, unit, "ours", args, bearer, work, guess)
                guess = max(guess, m.rps)
                row = Row(label, replicas, redis, m)
                rows.append(row)
                print(
                    f" {m.rps:,.0f} req/s on {row.cores:.2f} cores "
                    f"({row.rps_per_core:,.0f} per core), p50 {m.wrk.p50_ms:.1f} ms, "
                    f"p99 {m.wrk.p99_ms:.1f} ms, {m.wrk.errors} errors",
                    flush=True,
                )
            finally:
                processes.stop([fleet], grace=40)
    finally:
        processes.stop(stack.started.values())
    text = markdown(rows, unit.name, args)
    (output / f"{started_at}-fleet.md").write_text(text, "utf-8")
    (output / f"{started_at}-fleet.json").write_text(
        json.dumps(
            [
                {
                    "label": r.label,
                    "replicas": r.replicas,
                    "redis": r.redis,
                    "rps": r.measurement.rps,
                    "cores": r.cores,
                    "rps_per_core": r.rps_per_core,
                    "p50_ms": r.measurement.wrk.p50_ms,
                    "p99_ms": r.measurement.wrk.p99_ms,
                    "single_p50_ms": r.measurement.single.p50_ms
                    if r.measurement.single
                    else None,
                    "cpu_ms_per_request": r.measurement.cpu_ms_per_request,
                    "errors": r.measurement.wrk.errors,
                }
                for r in rows
            ],
            indent=2,
        ),
        "utf-8",
    )
    print()
    print(text)
    return 0


def markdown(rows: list[Row], name: str, args: argparse.Namespace) -> str:
    lines = [
        f"# Fleet: {name}, {args.connections} connections, {args.duration:g} s, "
        f"{os.cpu_count()} cores",
        "",
        "| fleet | req/s | cores used | req/s per core | CPU ms/req | p50 ms | "
        "p99 ms | p50 ms, 1 connection | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r.measurement
        single = f"{m.single.p50_ms:.2f}" if m.single else "-"
        lines.append(
            f"| {r.label} | {m.rps:,.0f} | {r.cores:.2f} | {r.rps_per_core:,.0f} | "
            f"{m.cpu_ms_per_request:.2f} | {m.wrk.p50_ms:.1f} | {m.wrk.p99_ms:.1f} | "
            f"{single} | {m.wrk.errors} |"
        )
    with_redis = next((r for r in rows if r.replicas == 1 and r.redis), None)
    without = next((r for r in rows if not r.redis), None)
    if with_redis and without:
        a, b = with_redis.measurement, without.measurement
        lines.append("")
        cost = "Redis per request (1 replica with against without): CPU "
        cost += f"{a.cpu_ms_per_request - b.cpu_ms_per_request:+.2f} ms"
        if a.single and b.single:
            cost += (
                f", p50 at one connection {a.single.p50_ms - b.single.p50_ms:+.2f} ms"
            )
        lines.append(cost + ".")
    return "\n".join(lines) + "\n"
