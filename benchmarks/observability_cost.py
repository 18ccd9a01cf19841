"""Instructions per request of our gateway, counted by callgrind: with
observability off (metrics off, no tracing), with metrics (as it ships) and on
(metrics on, every request traced to an exporter that drops the spans), to set
what each costs apart from this VM's drift.

    python -m benchmarks.observability_cost [--operations acdm] [--requests 50]
        [--warmup 20] [--output bench-results]

``m`` is the weighted mix of ``make bench`` (every operation, approvals included:
fresh applications are seeded for each setting, the other draws are the same).

The four sandboxes run as in ``make bench`` (own processes, no latency); our
gateway runs under ``valgrind --tool=callgrind --instr-atstart=no`` as
``gateway serve`` runs it in production (every provider configured at its
sandbox, pooled transport, authentication). Per operation: ``--warmup``
sequential requests, then instrumentation on (``callgrind_control -i on``),
``--requests`` sequential requests of varied traffic (the same draws for both
settings), off again and dumped: the dump's instruction total over the requests
is the figure. Only the gateway's process is counted; the sandboxes and this
driver are not. Slow (Python under valgrind): a few minutes.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks import processes, traffic
from benchmarks.operations import Operation, Population, select
from benchmarks.run import (
    BARE_ENV,
    GATEWAY_CLI,
    OBSERVED_ENV,
    PROVIDERS,
    ROOT,
    Stack,
    Unit,
    _population,
    clean_env,
    ours_env,
    seed_approvable,
    start_sandboxes,
    token,
)

SETTINGS = {"off": BARE_ENV, "metrics": {}, "on": OBSERVED_ENV}
_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.observability_cost")
    parser.add_argument("--operations", default="acd", help="keys, e.g. ac")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--output", default=str(ROOT / "bench-results"))
    parser.add_argument(
        "--settings",
        default="off,metrics,on",
        help="some of off, metrics, on (the first is the baseline)",
    )
    args = parser.parse_args(argv)
    chosen = {k: v for k, v in SETTINGS.items() if k in args.settings.split(",")}
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed: `apt-get install valgrind`")
        return 2
    operations: list[Operation | None] = [
        op for op in select(args.operations.replace("m", "")) if not op.fresh
    ]
    if "m" in args.operations:
        operations.append(None)  # the mix
    work = Path(args.output) / ("instructions-" + time.strftime("%Y%m%dT%H%M%SZ"))
    work.mkdir(parents=True, exist_ok=True)
    base = clean_env()
    started: list[processes.Started] = []
    try:
        urls, population = _sandboxes(work, base, started)
        bearer = f"Bearer {token()}"
        counts: dict[tuple[str, str], float] = {}
        for setting, extra in chosen.items():
            print(f"our gateway under callgrind, observability {setting} …", flush=True)
            gateway = _gateway(work, {**ours_env(urls, base), **extra}, setting)
            started.append(gateway)
            url = gateway.name
            for op in operations:
                key, name = (op.key, op.name) if op else ("m", "the weighted mix")
                if op is None:
                    bodies = _mix(urls, population, args.warmup + args.requests)
                else:
                    bodies = _bodies(op, population, args.warmup + args.requests)
                counts[(key, setting)] = _count(
                    gateway, url, bodies, args.warmup, bearer, work
                )
                per = counts[(key, setting)]
                print(f"  {key} {name}: {per / 1e6:.2f}M instructions/request")
            processes.stop([gateway])
            started.remove(gateway)
    finally:
        processes.stop(started)
    names = list(chosen)
    baseline, others = names[0], names[1:]
    rows = [
        "| op | "
        + " | ".join(f"{n} (M instr./req)" for n in names)
        + "".join(f" | {n} / {baseline}" for n in others)
        + " |",
        "|---|" + "---:|" * (len(names) + len(others)),
    ]
    for op in operations:
        key = op.key if op else "m"
        found = [counts[(key, n)] for n in names]
        cells = " | ".join(f"{c / 1e6:.2f}" for c in found)
        shares = "".join(f" | {c / found[0]:.3f}x" for c in found[1:])
        rows.append(f"| {key} | {cells}{shares} |")
    table = "\n".join(rows)
    print()
    print(table)
    (work / "instructions.md").write_text(table + "\n", "utf-8")
    return 0


def _sandboxes(
    work: Path, base: dict[str, str], started: list[processes.Started]
) -> tuple[dict[str, str], Population]:
    urls = {p: f"http://127.0.0.1:{processes.free_port()}" for p in PROVIDERS}
    started.extend(start_sandboxes(work, urls, 0.0, base).values())
    population = _population(work)
    return urls, population


def _gateway(work: Path, env: dict[str, str], setting: str) -> processes.Started:
    port = processes.free_port()
    out = work / f"callgrind.{setting}.out"
    started = processes.start(
        f"http://127.0.0.1:{port}/graphql",  # its name: where it listens
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            *GATEWAY_CLI,
            "serve",
            f"--port={port}",
            "--workers=1",
        ],
        log=work / f"gateway-{setting}.log",
        env=env,
        cwd=ROOT,
    )
    processes.wait_until_ready(
        started, f"http://127.0.0.1:{port}/healthz", timeout=600.0
    )
    return started


def _bodies(op: Operation, population: Population, count: int) -> list[str]:
    rng = random.Random(f"instructions:{op.key}")
    return [traffic.body("ours", (op, op.draw(rng, population))) for _ in range(count)]


def _mix(urls: dict[str, str], population: Population, count: int) -> list[str]:
    """``count`` requests of the weighted mix, drawn as ``make bench`` draws
    them (the approvals on applications seeded now, for this setting)."""
    unit = Unit("mix", "mix", "Mix", tuple(select("abcde")))
    rng = random.Random("instructions:mix")
    plan = unit.plan(count, rng)
    stack = Stack(sandboxes=urls, ours="", hive="", started={})
    fresh = seed_approvable(stack, traffic.fresh_needed(plan))
    seeded = Population(population.applications, population.customers, fresh)
    return [traffic.body("ours", r) for r in traffic.requests(plan, rng, seeded)]


def _count(
    gateway: processes.Started,
    url: str,
    bodies: list[str],
    warmup: int,
    bearer: str,
    work: Path,
) -> float:
    """Instructions per request over ``bodies[warmup:]``, sent one at a time."""
    headers = {"Content-Type": "application/json", "Authorization": bearer}
    pid = str(gateway.pid)
    with httpx.Client(timeout=120) as client:

        def send(body: str) -> None:
            answer = client.post(url, content=body, headers=headers)
            if answer.status_code != 200 or '"errors"' in answer.text:
                raise RuntimeError(f"a request failed: {answer.text[:300]}")

        for body in bodies[:warmup]:
            send(body)
        before = set(work.glob("callgrind.*.out*"))
        _control("--zero", pid)
        _control("--instr=on", pid)
        for body in bodies[warmup:]:
            send(body)
        _control("--instr=off", pid)
        _control("--dump", pid)
    for _ in range(100):
        dumped = set(work.glob("callgrind.*.out*")) - before
        if dumped:
            break
        time.sleep(0.1)
    (dump,) = dumped
    found = _TOTALS.search(dump.read_text("utf-8", errors="replace"))
    if found is None:
        raise RuntimeError(f"no total in {dump}")
    return int(found[1]) / (len(bodies) - warmup)


def _control(option: str, pid: str) -> None:
    subprocess.run(["callgrind_control", option, pid], check=True, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
