"""``make bench``: our gateway and Mesh on Hive Gateway, same sandboxes, same load.

    python -m benchmarks [--scenarios mix,varied,hot] [--operations abcde]
        [--duration 20] [--warmup 10] [--connections 32] [--threads 2]
        [--workers 1] [--latency 0.02] [--profile auto|KEYS] [--output bench-results]

1. The four sandboxes, each its own process (``python -m benchmarks.sandboxes``:
   ``gateway sandbox`` with the population of :mod:`benchmarks.population`),
   counting their calls (``/_sandbox/calls``).
2. Our gateway as production runs it: every provider configured at its sandbox
   with the sandboxes' demo credentials (Apiture's API key and bearer token,
   connectFi's login, Auco's keys, Mambu's basic credentials, the same that
   Mesh sends), ``GATEWAY_ENVIRONMENT=production``
   (introspection and GraphiQL off), bearer-token authentication, automatic
   persisted queries on (their default; wrk sends the query text).
3. Mesh: ``mesh-compose`` over ``benchmarks/mesh`` (OpenAPI documents, the
   per-item links as ``@resolveTo``), served by Hive Gateway with the same JWT
   check and introspection off. connectFi's login token is fetched once here and
   given to Mesh as a static header (Mesh cannot log in and renew by itself); our
   gateway logs in once on its own.
4. Per scenario (``benchmarks.traffic``: the weighted mix, each operation with
   varied variables, each with the hot record's) and gateway: a sample request
   checked for the expected data, a warm-up, then the measured wrk run. Approvals
   get their own running applications and ETags, seeded in the Apiture sandbox
   just before.
5. The table, printed and written to ``bench-results/<time>.md`` and ``.json``;
   logs, samples and the supergraph in ``bench-results/<time>/``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
import jwt
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from benchmarks import live, processes, profile, results, traffic
from benchmarks.load import Load, WrkResult, run_wrk, wrk_path
from benchmarks.operations import (
    BARE,
    BEFORE,
    GATEWAYS,
    MIX,
    OBSERVED,
    Gateway,
    Operation,
    Population,
    select,
)
from benchmarks.processes import Started

ROOT = Path(__file__).resolve().parent.parent
MESH = ROOT / "benchmarks" / "mesh"
# The gateway of this source tree (run from ROOT, its packages come first), so that
# a checkout elsewhere (a git worktree of a commit) measures its own code.
GATEWAY_CLI = [sys.executable, "-m", "gateway.cli"]
SANDBOX_CLI = [sys.executable, "-m", "benchmarks.sandboxes"]
PROVIDERS = ("apiture", "connectfi", "auco", "mambu")
JWT_SECRET = "bench-only-secret-not-for-production-0123456789"
APITURE_HEADERS = {
    "API-Key": DEMO_API_KEY,
    "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}",
}
MIN_POOL = 5000
MAX_POOL = 300_000  # request lines in one file (a few bytes of variables each)
QUIET_CORES = 0.2  # other processes' CPU below which the machine counts as idle


@dataclass
class Stack:
    sandboxes: dict[str, str]  # provider -> base URL (host and port)
    ours: str
    hive: str
    started: dict[str, Started]
    population: Population = field(default_factory=lambda: Population((), ()))
    observed: str = ""  # ours with metrics and tracing on (--observability)
    bare: str = ""  # ours with metrics off, no tracing (--observability)
    before: str = ""  # ours from another checkout (--before-tree)

    def url(self, gateway: Gateway) -> str:
        base = {
            "ours": self.ours,
            "bare": self.bare,
            "before": self.before,
            "observed": self.observed,
            "hive": self.hive,
        }
        return base[gateway] + "/graphql"

    def gateway(self, gateway: Gateway) -> Started:
        return self.started[gateway]


@dataclass(frozen=True)
class Unit:
    """What one measured run sends: a scenario's operation (or the mix)."""

    scenario: str  # "mix", "varied" or "hot"
    key: str  # the operation's key, or "mix"
    name: str
    ops: tuple[Operation, ...]

    @property
    def fresh(self) -> bool:
        return self.scenario != "hot" and any(o.fresh for o in self.ops)

    @property
    def critical_path(self) -> tuple[int, ...] | None:
        return None if self.key == "mix" else self.ops[0].critical_path

    def expect(self, gateway: Gateway) -> list[str]:
        return [o.marker(gateway) for o in self.ops]

    def plan(self, count: int, rng: random.Random) -> list[Operation]:
        if self.key == "mix":
            return traffic.mix_plan(count, rng)
        return [self.ops[0]] * count


def units(scenarios: list[str], operations: list[Operation]) -> list[Unit]:
    """The runs of the chosen scenarios, the mix (the headline) first."""
    out: list[Unit] = []
    for scenario in traffic.SCENARIOS:
        if scenario not in scenarios:
            continue
        if scenario == "mix":
            by_key = {o.key: o for o in operations}
            ops = tuple(by_key[k] for k, _ in MIX if k in by_key)
            out.append(Unit("mix", "mix", "Mix", ops))
            continue
        for op in operations:
            if scenario == "hot" and op.fresh:
                continue  # every approval needs its own application
            out.append(Unit(scenario, op.key, op.name, (op,)))
    return out


def source_version(root: Path = ROOT) -> str:
    """The commit measured, "+changes" when the tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "gateway", "schema", "adapters"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def clean_env() -> dict[str, str]:
    """The environment without any GATEWAY_ or OTEL_ setting a developer may have
    (tracing is off unless a run turns it on)."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OTEL_"))
    }


# The "bare" gateway: metrics off (tracing is off unless OTEL_* asks).
BARE_ENV = {"GATEWAY_METRICS": "off"}
# The "observed" gateway: metrics on, every request traced, the spans built and
# exported in full to an exporter that drops them (gateway/tracing.py).
OBSERVED_ENV = {
    "GATEWAY_METRICS": "on",
    "OTEL_TRACES_EXPORTER": "discard",
    "OTEL_TRACES_SAMPLER": "always_on",
    "OTEL_SERVICE_NAME": "onboarding-gateway-bench",
}


def token() -> str:
    claims = {"sub": "bench", "roles": ["staff"], "exp": int(time.time()) + 86_400}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def start_stack(args: argparse.Namespace, work: Path, notes: list[str]) -> Stack:
    ports: list[int] = []
    while len(ports) < 9:  # free ones, asked of the OS (others share the machine)
        port = processes.free_port()
        if port not in ports:
            ports.append(port)
    sandbox_ports = dict(zip(PROVIDERS, ports[:4], strict=True))
    started: dict[str, Started] = {}
    base = clean_env()
    stack = Stack(
        sandboxes={p: f"http://127.0.0.1:{port}" for p, port in sandbox_ports.items()},
        ours=f"http://127.0.0.1:{ports[4]}",
        hive=f"http://127.0.0.1:{ports[5]}",
        started=started,
    )
    observed = OBSERVED in args.gateway_list
    if observed:
        stack.observed = f"http://127.0.0.1:{ports[6]}"
    bare = BARE in args.gateway_list
    if bare:
        stack.bare = f"http://127.0.0.1:{ports[7]}"
    before = BEFORE in args.gateway_list
    if before:
        stack.before = f"http://127.0.0.1:{ports[8]}"
    try:
        started.update(start_sandboxes(work, stack.sandboxes, args.latency, base))
        stack.population = _population(work)
        _start_ours(args, stack, work, base)
        if observed:
            _start_ours(args, stack, work, {**base, **OBSERVED_ENV}, OBSERVED)
        if bare:
            _start_ours(args, stack, work, {**base, **BARE_ENV}, BARE)
        if before:
            _start_ours(args, stack, work, base, BEFORE)
        if "hive" in args.gateway_list:
            _start_hive(args, stack, work, base, notes)
        processes.wait_until_ready(started["ours"], stack.ours + "/healthz")
        if observed:
            processes.wait_until_ready(started[OBSERVED], stack.observed + "/healthz")
        if bare:
            processes.wait_until_ready(started[BARE], stack.bare + "/healthz")
        if before:
            processes.wait_until_ready(started[BEFORE], stack.before + "/healthz")
        if "hive" in args.gateway_list:
            processes.wait_until_ready(started["hive"], stack.hive + "/healthcheck")
    except BaseException:
        processes.stop(started.values())
        raise
    return stack


def start_sandboxes(
    work: Path, urls: Mapping[str, str], latency: float, env: Mapping[str, str]
) -> dict[str, Started]:
    """The sandboxes at ``urls`` (provider -> base URL on 127.0.0.1), each its own
    process seeded with the bench's population (its ids written to ``work``),
    answering; any started are stopped if one fails."""
    started: dict[str, Started] = {}
    try:
        for provider, url in urls.items():
            started[provider] = processes.start(
                f"{provider} sandbox",
                [
                    *SANDBOX_CLI,
                    f"--provider={provider}",
                    f"--port={url.rsplit(':', 1)[1]}",
                    f"--latency={latency}",
                    f"--population={work / f'population-{provider}.json'}",
                ],
                log=work / f"sandbox-{provider}.log",
                env=env,
                cwd=ROOT,
            )
        for provider, url in urls.items():
            processes.wait_until_ready(
                started[provider], url + "/_sandbox/calls", timeout=120
            )
    except BaseException:
        processes.stop(started.values())
        raise
    return started


def _population(work: Path) -> Population:
    def ids(provider: str, kind: str) -> list[str]:
        path = work / f"population-{provider}.json"
        found: list[str] = json.loads(path.read_text("utf-8"))[kind]
        return found

    return Population(
        applications=ids("apiture", "applications"),
        customers=ids("connectfi", "customers"),
    )


def _start_ours(
    args: argparse.Namespace,
    stack: Stack,
    work: Path,
    base: dict[str, str],
    name: Gateway = "ours",
) -> None:
    env = ours_env(stack.sandboxes, base)
    other = args.before_tree if name == BEFORE else args.ours_tree
    tree = Path(other) if other else ROOT
    if other:  # another checkout's gateway, this one's sandboxes and load
        env["PYTHONPATH"] = str(tree)
    port = stack.url(name).rsplit(":", 1)[1].removesuffix("/graphql")
    stack.started[name] = processes.start(
        {"ours": "our gateway"}.get(name, f"our gateway, {name}"),
        [
            *GATEWAY_CLI,
            "serve",
            f"--port={port}",
            f"--workers={args.workers}",
        ],
        log=work / f"{name}.log",
        env=env,
        cwd=tree,
    )


def ours_env(s: dict[str, str], base: dict[str, str]) -> dict[str, str]:
    """Our gateway's environment as production runs it, over the sandboxes at
    ``s`` (provider -> base URL)."""
    return dict(
        base,
        GATEWAY_ENVIRONMENT="production",
        GATEWAY_APITURE_URL=s["apiture"] + "/accountApplications",
        GATEWAY_APITURE_API_KEY=DEMO_API_KEY,
        GATEWAY_APITURE_ACCESS_TOKEN=DEMO_ACCESS_TOKEN,
        GATEWAY_CONNECTFI_URL=s["connectfi"],
        GATEWAY_CONNECTFI_LOGIN="sandbox",
        GATEWAY_CONNECTFI_PASSWORD="sandbox",
        GATEWAY_AUCO_URL=s["auco"] + "/v1.5/ext",
        GATEWAY_AUCO_PRIVATE_KEY="prk_sandbox",
        GATEWAY_AUCO_PUBLIC_KEY="puk_sandbox",
        GATEWAY_MAMBU_URL=s["mambu"],
        GATEWAY_MAMBU_USERNAME="sandbox",
        GATEWAY_MAMBU_PASSWORD="sandbox",
        GATEWAY_AUTH_JWT_SECRET=JWT_SECRET,
        GATEWAY_PERSISTED_QUERIES="apq",
    )


def connectfi_token(base_url: str) -> str:
    answer = httpx.post(
        base_url + "/auth/get-token",
        json={"user": {"login": "sandbox", "password": "sandbox"}},
        timeout=10,
    )
    answer.raise_for_status()
    value: str = answer.json()["data"]["token"]
    return value


def _start_hive(
    args: argparse.Namespace,
    stack: Stack,
    work: Path,
    base: dict[str, str],
    notes: list[str],
) -> None:
    s = stack.sandboxes
    supergraph = work / "supergraph.graphql"
    env = dict(
        base,
        APITURE_URL=s["apiture"] + "/accountApplications",
        APITURE_API_KEY=DEMO_API_KEY,
        APITURE_ACCESS_TOKEN=DEMO_ACCESS_TOKEN,
        CONNECTFI_URL=s["connectfi"],
        CONNECTFI_TOKEN=connectfi_token(s["connectfi"]),
        AUCO_URL=s["auco"] + "/v1.5/ext",
        AUCO_PUBLIC_KEY="puk_sandbox",
        MAMBU_URL=s["mambu"],
        MAMBU_USERNAME="sandbox",
        MAMBU_PASSWORD="sandbox",
    )
    compose = processes.start(
        "mesh-compose",
        ["node", "node_modules/.bin/mesh-compose", "-o", str(supergraph)],
        log=work / "mesh-compose.log",
        env=env,
        cwd=MESH,
    )
    if compose.process.wait(120) != 0 or not supergraph.is_file():
        raise RuntimeError("mesh-compose failed:\n" + compose.log_tail())
    notes.append(
        "connectFi: Mesh gets a login token fetched once at start, as a static "
        "header; our gateway logs in by itself (once, then reuses the token)."
    )
    port = stack.hive.rsplit(":", 1)[1]
    command = [
        "node",
        "node_modules/.bin/hive-gateway",
        "supergraph",
        str(supergraph),
        "-c",
        "gateway.config.ts",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--fork={args.workers}",
    ]
    if args.hive_jit:
        command.append("--jit")
    stack.started["hive"] = processes.start(
        "Hive Gateway",
        command,
        log=work / "hive.log",
        env=dict(base, NODE_ENV="production", JWT_SECRET=JWT_SECRET),
        cwd=MESH,
    )


# one run ------------------------------------------------------------------------


def seed_approvable(stack: Stack, count: int) -> list[tuple[str, str]]:
    """``count`` running Apiture applications, each with its ETag."""
    if count == 0:
        return []
    answer = httpx.post(
        stack.sandboxes["apiture"] + "/_sandbox/seed/approvable",
        json={"count": count},
        timeout=300,
    )
    answer.raise_for_status()
    return [(i, etag) for i, etag in answer.json()]


def sandbox_calls(stack: Stack) -> dict[str, int]:
    return {
        p: int(httpx.get(url + "/_sandbox/calls", timeout=10).json()["total"])
        for p, url in stack.sandboxes.items()
    }


def reset_sandboxes(stack: Stack) -> None:
    for url in stack.sandboxes.values():
        httpx.post(url + "/_sandbox/reset", timeout=10).raise_for_status()


def make_requests(
    stack: Stack, unit: Unit, count: int, purpose: str
) -> list[traffic.Request]:
    """``count`` requests of ``unit`` (one for the hot record), approvals seeded.

    The draws depend on the unit and the purpose only, so both gateways get the
    same records (approvals excepted: each its own fresh application)."""
    if unit.scenario == "hot":
        return traffic.hot(unit.ops[0])
    rng = random.Random(f"{unit.scenario}:{unit.key}:{purpose}")
    plan = unit.plan(count, rng)
    population = Population(
        stack.population.applications,
        stack.population.customers,
        seed_approvable(stack, traffic.fresh_needed(plan)),
    )
    return traffic.requests(plan, rng, population)


def check_sample(
    stack: Stack, unit: Unit, gateway: Gateway, bearer: str, work: Path
) -> str | None:
    """Send one request of each operation and check the answers; a problem, or
    None."""
    for op in unit.ops:
        one = Unit(unit.scenario, op.key, op.name, (op,))
        request = make_requests(stack, one, 1, "sample")[0]
        answer = httpx.post(
            stack.url(gateway),
            content=traffic.body(gateway, request),
            headers={"Content-Type": "application/json", "Authorization": bearer},
            timeout=30,
        )
        name = f"sample-{unit.scenario}-{op.key}-{gateway}.json"
        (work / name).write_text(answer.text, "utf-8")
        expect = op.marker(gateway)
        if answer.status_code != 200:
            return f"{op.key}: HTTP {answer.status_code}: " + answer.text[:300]
        if '"errors"' in answer.text:
            return f"{op.key}: GraphQL errors: " + answer.text[:300]
        if expect not in answer.text:
            return f"{op.key}: no {expect} in the answer: " + answer.text[:300]
    return None


def write_bodies(
    path: Path, unit: Unit, gateway: Gateway, stack: Stack, pool: int, purpose: str
) -> None:
    traffic.write(path, gateway, make_requests(stack, unit, pool, purpose))


def pool_size(seconds: float, rate_guess: float) -> int:
    """Request lines for ``seconds`` at 3 times the expected rate (a state action
    may run faster than the reads the guess comes from; the spare costs little):
    varied reads repeat only past that, approvals never."""
    return min(MAX_POOL, max(MIN_POOL, math.ceil(rate_guess * seconds * 3)))


async def _send_all(
    url: str, bodies: list[tuple[str, str]], bearer: str, concurrency: int
) -> int:
    """POST every body, ``concurrency`` at a time; answer how many were not 200,
    carried errors or lacked their operation's marker (``(body, marker)``)."""
    limit = asyncio.Semaphore(concurrency)
    headers = {"Content-Type": "application/json", "Authorization": bearer}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(body: str, marker: str) -> bool:
            async with limit:
                answer = await client.post(url, content=body, headers=headers)
                return (
                    answer.status_code == 200
                    and '"errors"' not in answer.text
                    and marker in answer.text
                )

        done = await asyncio.gather(*(one(b, m) for b, m in bodies))
    return sum(1 for ok in done if not ok)


def count_calls(
    stack: Stack, unit: Unit, gateway: Gateway, bearer: str, args: argparse.Namespace
) -> tuple[dict[str, int], int, int]:
    """Upstream calls of exactly ``--count-requests`` requests, sent concurrently.

    Under wrk the requests cut off at the end have made some of their calls but
    count as none, which inflates calls per request by up to connections/requests;
    a fixed batch, every answer awaited, counts exactly. Answers (calls, requests,
    failures).
    """
    n = args.count_requests
    reqs = make_requests(stack, unit, n, "count")
    if len(reqs) == 1:
        reqs = reqs * n
    bodies = [(traffic.body(gateway, r), r[0].marker(gateway)) for r in reqs]
    wait_for_drain(stack)
    reset_sandboxes(stack)
    failed = asyncio.run(
        _send_all(stack.url(gateway), bodies, bearer, args.connections)
    )
    return sandbox_calls(stack), n, failed


def upstream_hop_ms(
    stack: Stack, widths: Iterable[int], samples: int = 30
) -> dict[int, float]:
    """The median time of one round trip of ``width`` reads sent at once, alone,
    for each width: the fixed latency plus the sandbox's own work (it answers
    reads one after another, so 20 at once take longer than one). Timed with
    aiohttp, a pooled keep-alive client like our gateway's. An operation's critical
    path is the sum of its sequential round trips."""
    root = f"{stack.sandboxes['apiture']}/accountApplications/applications"

    async def measure() -> dict[int, float]:
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(
            connector=connector, headers=APITURE_HEADERS
        ) as session:
            async with session.get(root, params={"limit": "100"}) as answer:
                answer.raise_for_status()
                page = await answer.json(content_type=None)
            ids = [item["_id"] for item in page["_embedded"]["items"]]

            async def read(app_id: str) -> None:
                async with session.get(f"{root}/{app_id}") as answer:
                    answer.raise_for_status()
                    await answer.read()

            found: dict[int, float] = {}
            for width in sorted(set(widths)):
                await asyncio.gather(*(read(i) for i in ids[:width]))  # warm
                times = []
                for _ in range(samples):
                    started = time.perf_counter()
                    await asyncio.gather(*(read(i) for i in ids[:width]))
                    times.append(1000 * (time.perf_counter() - started))
                found[width] = statistics.median(times)
            return found

    return asyncio.run(measure())


def wait_for_drain(stack: Stack, limit: float = 30.0) -> None:
    """Until the sandboxes see no more calls: requests that wrk cut off at the end
    of a run go on inside the gateway for a while, calling upstream."""
    deadline = time.monotonic() + limit
    last, steady = sandbox_calls(stack), 0
    while steady < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
        now = sandbox_calls(stack)
        steady = steady + 1 if now == last else 0
        last = now


def wait_for_quiet(stack: Stack, limit: float) -> float:
    """Wait (at most ``limit`` s) until the rest of the machine is nearly idle.

    Answers the cores the rest of the machine used over the last second.
    """
    deadline = time.monotonic() + limit
    ours = list(stack.started.values())
    while True:
        busy0, _ = processes.machine_busy_seconds()
        cpu0 = sum(s.cpu_seconds() for s in ours)
        time.sleep(1.0)
        busy1, _ = processes.machine_busy_seconds()
        cpu1 = sum(s.cpu_seconds() for s in ours)
        other = max(0.0, (busy1 - busy0) - (cpu1 - cpu0))
        if other < QUIET_CORES or time.monotonic() >= deadline:
            return other


def measure(
    stack: Stack,
    unit: Unit,
    gateway: Gateway,
    args: argparse.Namespace,
    bearer_token: str,
    work: Path,
    rate_guess: float,
) -> results.Measurement:
    url, expect = stack.url(gateway), unit.expect(gateway)
    stem = f"bodies-{unit.scenario}-{unit.key}-{gateway}"
    if args.warmup > 0:
        warm = work / f"{stem}-warmup.txt"
        pool = pool_size(args.warmup, rate_guess)
        write_bodies(warm, unit, gateway, stack, pool, "warmup")
        run_wrk(url, warm, expect, bearer_token, _load(args, args.warmup))
    bodies = work / f"{stem}.txt"
    pool = pool_size(args.duration, rate_guess)
    write_bodies(bodies, unit, gateway, stack, pool, "measured")
    wait_for_drain(stack)
    if args.wait_quiet > 0:
        other = wait_for_quiet(stack, args.wait_quiet)
        if other >= QUIET_CORES:
            print(f" (machine busy: {other:.2f} cores elsewhere)", end="", flush=True)
    reset_sandboxes(stack)
    target = stack.gateway(gateway)
    sandboxes = {p: stack.started[p] for p in PROVIDERS}
    counted0 = gateway_counters(url, bearer_token) if gateway != "hive" else {}
    cpu0 = target.cpu_seconds()
    sandbox0 = {p: s.cpu_seconds() for p, s in sandboxes.items()}
    busy0, _ = processes.machine_busy_seconds()
    t0 = time.monotonic()
    outcome: WrkResult = run_wrk(
        url, bodies, expect, bearer_token, _load(args, args.duration)
    )
    window = time.monotonic() - t0
    busy1, _ = processes.machine_busy_seconds()
    cpu1 = target.cpu_seconds()
    sandbox1 = {p: s.cpu_seconds() for p, s in sandboxes.items()}
    counted1 = gateway_counters(url, bearer_token) if counted0 else {}
    under_load = sandbox_calls(stack)
    calls, counted, failed = count_calls(
        stack, unit, gateway, f"Bearer {bearer_token}", args
    )
    single: WrkResult | None = None
    if args.single_seconds > 0:
        # One connection, one request at a time: the latency with no queue, to
        # set against the critical path of upstream latency.
        lone = work / f"{stem}-single.txt"
        pool = pool_size(args.single_seconds, 200)
        write_bodies(lone, unit, gateway, stack, pool, "single")
        wait_for_drain(stack)
        single = run_wrk(
            url,
            lone,
            expect,
            bearer_token,
            Load(connections=1, threads=1, seconds=args.single_seconds),
        )
    path = unit.critical_path
    return results.Measurement(
        operation=unit.key,
        name=unit.name,
        gateway=gateway,
        wrk=outcome,
        cpu_seconds=cpu1 - cpu0,
        upstream_calls=calls,
        counted_requests=counted,
        counted_failures=failed,
        upstream_calls_under_load=under_load,
        sandbox_cpu_seconds={p: sandbox1[p] - sandbox0[p] for p in sandboxes},
        critical_path_ms=None
        if path is None
        else sum(args.hops_ms[width] for width in path),
        machine_busy_seconds=busy1 - busy0,
        window_seconds=window,
        single=single,
        scenario=unit.scenario,
        fresh=unit.fresh,
        counters={k: v - counted0.get(k, 0.0) for k, v in counted1.items()},
    )


def measure_together(
    stack: Stack,
    unit: Unit,
    gateways: list[Gateway],
    args: argparse.Namespace,
    bearer_token: str,
    work: Path,
    rate_guess: float,
) -> list[results.Measurement]:
    """``unit`` on every gateway at once (``--together``): one wrk each, over the
    same seconds, so whatever slows the machine meanwhile slows them all alike
    and their ratios keep (one after another, a 10 s row of CPU per request
    moved by ±10 % on this VM, more than a 5 % target). They share the
    machine: each measures its CPU per request under the others' load, not its
    throughput alone; the sandboxes' CPU is shared out equally among them."""
    load = _load(args, args.duration)
    stems = {g: f"bodies-{unit.scenario}-{unit.key}-{g}" for g in gateways}
    if args.warmup > 0:
        warm = {g: work / f"{stems[g]}-warmup.txt" for g in gateways}
        for g in gateways:
            write_bodies(warm[g], unit, g, stack, pool_size(args.warmup, rate_guess),
                         "warmup")  # fmt: skip
        _all_at_once(
            lambda g: run_wrk(stack.url(g), warm[g], unit.expect(g), bearer_token,
                              _load(args, args.warmup)),
            gateways,
        )  # fmt: skip
    bodies = {g: work / f"{stems[g]}.txt" for g in gateways}
    for g in gateways:
        write_bodies(bodies[g], unit, g, stack, pool_size(args.duration, rate_guess),
                     "measured")  # fmt: skip
    wait_for_drain(stack)
    if args.wait_quiet > 0:
        wait_for_quiet(stack, args.wait_quiet)
    reset_sandboxes(stack)
    sandboxes = {p: stack.started[p] for p in PROVIDERS}
    counted0 = {g: gateway_counters(stack.url(g), bearer_token) for g in gateways}
    cpu0 = {g: stack.gateway(g).cpu_seconds() for g in gateways}
    sandbox0 = {p: s.cpu_seconds() for p, s in sandboxes.items()}
    busy0, _ = processes.machine_busy_seconds()
    t0 = time.monotonic()
    outcomes = _all_at_once(
        lambda g: run_wrk(stack.url(g), bodies[g], unit.expect(g), bearer_token, load),
        gateways,
    )
    window = time.monotonic() - t0
    busy1, _ = processes.machine_busy_seconds()
    cpu = {g: stack.gateway(g).cpu_seconds() - cpu0[g] for g in gateways}
    n = len(gateways)
    shared = {p: (s.cpu_seconds() - sandbox0[p]) / n for p, s in sandboxes.items()}
    outside = (busy1 - busy0) - sum(cpu.values()) - n * sum(shared.values())
    outside -= sum(o.wrk_cpu_seconds for o in outcomes.values())
    made = []
    for g in gateways:
        counted1 = gateway_counters(stack.url(g), bearer_token) if counted0[g] else {}
        calls, counted, failed = count_calls(
            stack, unit, g, f"Bearer {bearer_token}", args
        )
        path = unit.critical_path
        made.append(
            results.Measurement(
                operation=unit.key,
                name=unit.name,
                gateway=g,
                wrk=outcomes[g],
                cpu_seconds=cpu[g],
                upstream_calls=calls,
                counted_requests=counted,
                counted_failures=failed,
                sandbox_cpu_seconds=shared,
                critical_path_ms=None
                if path is None
                else sum(args.hops_ms[width] for width in path),
                # so that the "other CPU" of each is what none of the run used
                machine_busy_seconds=max(0.0, outside)
                + cpu[g]
                + sum(shared.values())
                + outcomes[g].wrk_cpu_seconds,
                window_seconds=window,
                scenario=unit.scenario,
                fresh=unit.fresh,
                counters={k: v - counted0[g].get(k, 0.0) for k, v in counted1.items()},
            )
        )
    return made


def _all_at_once(
    run_one: Callable[[Gateway], WrkResult], gateways: list[Gateway]
) -> dict[Gateway, WrkResult]:
    with ThreadPoolExecutor(max_workers=len(gateways)) as pool:
        running = {g: pool.submit(run_one, g) for g in gateways}
        return {g: f.result() for g, f in running.items()}


def gateway_counters(url: str, bearer_token: str) -> dict[str, float]:
    """Our gateway's coalesced reads and cache hits and misses so far, from its
    /metrics (empty when it serves none: metrics off)."""
    found: dict[str, float] = {}
    for sample in gateway_samples(url, bearer_token):
        if sample.name == "gateway_upstream_coalesced_total":
            key = "coalesced"
        elif sample.name in ("gateway_cache_hits_total", "gateway_cache_misses_total"):
            kind = "hits" if "hits" in sample.name else "misses"
            key = f"cache {kind} {sample.labels.get('cache', '?')}"
        else:
            continue
        found[key] = found.get(key, 0.0) + sample.value
    return found


def gateway_samples(url: str, bearer_token: str) -> list[Sample]:
    """Every sample of our gateway's /metrics (none when it serves none)."""
    try:
        answer = httpx.get(
            url.removesuffix("/graphql") + "/metrics",
            headers={"Authorization": f"Bearer {bearer_token}"},
            timeout=10.0,
        )
    except httpx.HTTPError:
        return []
    if answer.status_code != 200:
        return []
    return [s for f in text_string_to_metric_families(answer.text) for s in f.samples]


def _load(args: argparse.Namespace, seconds: float) -> Load:
    return Load(connections=args.connections, threads=args.threads, seconds=seconds)


# the run --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--scenarios",
        default=",".join(traffic.SCENARIOS),
        help="mix (the weighted mix, varied), varied (each operation, each request "
        "its own record), hot (each operation, the same record every request)",
    )
    parser.add_argument("--operations", default="abcde", help="keys, e.g. abe")
    parser.add_argument("--gateways", default="ours,hive")
    parser.add_argument(
        "--observability",
        action="store_true",
        help="also measure our gateway with metrics off (gateway 'bare') and with "
        "metrics on and every request traced ('observed'), and print the CPU per "
        "request of ours (metrics on, as it ships) and observed against bare",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds")
    parser.add_argument(
        "--together",
        action="store_true",
        help="measure every gateway of a run at once, one wrk each over the same "
        "seconds (for ratios that the machine's drift leaves alone, e.g. "
        "--observability); each then shares the machine with the others",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every run this many times, round after round; the tables "
        "pool the rounds (CPU per request over all their requests) and the "
        "observability table also gives each round's ratios",
    )
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="for each gateway")
    parser.add_argument("--latency", type=float, default=0.02, help="per call, s")
    parser.add_argument("--hive-jit", action="store_true", help="Hive's --jit")
    parser.add_argument(
        "--single-seconds",
        type=float,
        default=5.0,
        help="after each run, this long at one connection: latency without a "
        "queue (0: skip)",
    )
    parser.add_argument(
        "--count-requests",
        type=int,
        default=64,
        help="requests of the exact upstream-call count after each run",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="before each run, wait up to this many seconds for the rest of the "
        "machine to be idle (0: do not wait)",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="after the runs, profile our gateway with py-spy under these "
        "operations (m: the mix; 'auto': the one with the lowest throughput ratio)",
    )
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument(
        "--profile-gateway",
        default="ours",
        choices=["ours", BEFORE, BARE, OBSERVED],
        help="the gateway --profile samples (bare, observed: need --observability)",
    )
    parser.add_argument("--output", default=str(ROOT / "bench-results"))
    parser.add_argument(
        "--ours-tree",
        default="",
        help="run our gateway from this checkout instead (e.g. a worktree of an "
        "earlier commit), on this checkout's sandboxes and traffic: before/after",
    )
    parser.add_argument(
        "--before-tree",
        default="",
        help="also measure our gateway from this checkout (e.g. a worktree of an "
        "earlier commit) as 'before', in the same run and on the same traffic, "
        "and print each operation's CPU per request now against before",
    )
    parser.add_argument(
        "--replicas",
        default="",
        help="instead of the comparison: our gateway as a fleet (gateway fleet) of "
        "each of these sizes, e.g. 1,2,4, and 1 without Redis (benchmarks/fleet.py)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if "--live" in given:  # the live-status benchmark, with its own options
        return live.main([a for a in given if a != "--live"])
    args = parse_args(argv)
    if args.replicas:  # benchmarks.fleet's, started by benchmarks/__main__.py
        print("--replicas: run `python -m benchmarks` (what make bench runs)")
        return 2
    if wrk_path() is None:
        print("wrk is not installed: `apt-get install wrk` (make bench does)")
        return 2
    operations = select(args.operations)
    scenarios = [x.strip() for x in args.scenarios.split(",") if x.strip()]
    unknown = set(scenarios) - set(traffic.SCENARIOS)
    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}")
        return 2
    runs = units(scenarios, operations)
    asked = args.gateways.split(",") + ([BARE, OBSERVED] if args.observability else [])
    asked += [BEFORE] if args.before_tree else []
    gateways = [g for g in GATEWAYS if g in asked]
    args.gateway_list = gateways
    hive_gateway = MESH / "node_modules" / ".bin" / "hive-gateway"
    if "hive" in gateways and not hive_gateway.exists():
        print("Mesh is not installed: `npm ci` in benchmarks/mesh (make bench does)")
        return 2
    started_at = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = Path(args.output)
    work = output / started_at
    work.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    settings = {
        k: v for k, v in vars(args).items() if k not in ("output", "profile_seconds")
    }
    settings["cpus"] = os.cpu_count()
    settings["commit"] = source_version()
    if args.ours_tree:
        settings["ours_commit"] = source_version(Path(args.ours_tree))
    if args.before_tree:
        settings["before_commit"] = source_version(Path(args.before_tree))
    settings["loadavg_before"] = os.getloadavg()[0]
    report = results.Report(started=started_at, settings=settings, notes=notes)
    report.titles = {o.key: o.title for o in operations}
    if "mix" in scenarios:
        weights = ", ".join(f"{k} {w} %" for k, w in MIX if k in report.titles)
        report.titles = {"mix": f"the weighted mix ({weights})", **report.titles}
    print(
        f"measuring {ROOT} at {settings['commit']}; starting the sandboxes and both "
        f"gateways (logs in {work})",
        flush=True,
    )
    stack = start_stack(args, work, notes)
    settings["urls"] = {"ours": stack.ours, "hive": stack.hive, **stack.sandboxes}
    if stack.observed:
        settings["urls"][OBSERVED] = stack.observed
    if stack.bare:
        settings["urls"][BARE] = stack.bare
    if stack.before:
        settings["urls"][BEFORE] = stack.before
    bearer_token = token()
    widths = {w for op in operations for w in op.critical_path}
    args.hops_ms = upstream_hop_ms(stack, widths)
    settings["hops_ms"] = {str(w): ms for w, ms in args.hops_ms.items()}
    print(
        "  upstream round trips, direct: "
        + ", ".join(f"{w} at once {ms:.1f} ms" for w, ms in args.hops_ms.items()),
        flush=True,
    )
    bearer = f"Bearer {bearer_token}"
    rates: dict[str, float] = {}
    try:
        for round_, index, unit in schedule(runs, args.rounds):
            label = f"{unit.scenario} {unit.key}"
            if args.rounds > 1:
                label += f" (round {round_})"
            if args.together:
                for gateway in gateways:
                    problem = check_sample(stack, unit, gateway, bearer, work)
                    if problem:
                        notes.append(
                            f"{label} on {gateway}: the sample failed: {problem}"
                        )
                guess = max(rates.values(), default=2000.0)
                print(f"  {label} {unit.name} on {', '.join(gateways)} at once …")
                for m in measure_together(
                    stack, unit, gateways, args, bearer_token, work, guess
                ):
                    _keep(m, round_, label, rates, report)
                    print(
                        f"    {m.gateway}: {m.rps:,.0f} req/s, "
                        f"{m.cpu_ms_per_request:.2f} ms CPU/req, p99 "
                        f"{m.wrk.p99_ms:.1f} ms, {m.wrk.errors} errors",
                        flush=True,
                    )
                continue
            for gateway in rotated(gateways, index):
                problem = check_sample(stack, unit, gateway, bearer, work)
                if problem:
                    notes.append(f"{label} on {gateway}: the sample failed: {problem}")
                    print(f"  ! {label} {gateway}: sample failed: {problem}")
                guess = max(rates.values(), default=2000.0)
                print(f"  {label} {unit.name} on {gateway} …", end="", flush=True)
                m = measure(stack, unit, gateway, args, bearer_token, work, guess)
                _keep(m, round_, label, rates, report)
                print(
                    f" {m.rps:,.0f} req/s, p50 {m.wrk.p50_ms:.1f} ms, "
                    f"p99 {m.wrk.p99_ms:.1f} ms, {m.upstream_per_request:.2f} "
                    f"upstream/req, {m.wrk.errors} errors",
                    flush=True,
                )
        _warn_about_conditions(report)
        if args.profile:
            keys = profile.choose(report, args.profile)
            who: Gateway = args.profile_gateway
            for unit in _profiled_units(keys, operations):
                print(f"  profiling {who} under {unit.key} {unit.name} …", flush=True)
                summary = profile.record(
                    stack.gateway(who).pid,
                    functools.partial(
                        _profile_load, stack, unit, args, bearer_token, work, who
                    ),
                    work / f"profile-{who}-{unit.key}",
                    args.profile_seconds,
                )
                notes.append(f"Profile of {who} under {unit.key}: {summary}")
    finally:
        processes.stop(stack.started.values())
    md, js = results.write(report, output)
    print()
    print(results.markdown(report))
    print(f"written: {md} and {js}")
    return 0


def _keep(
    m: results.Measurement,
    round_: int,
    label: str,
    rates: dict[str, float],
    report: results.Report,
) -> None:
    """A measurement into the report, with its round; its rate guides the next
    runs' supply of request bodies."""
    m.round = round_
    rates[f"{label} {m.gateway}"] = m.rps
    report.measurements.append(m)


def schedule(runs: list[Unit], rounds: int) -> list[tuple[int, int, Unit]]:
    """(round, rotation, run) in the order measured: every run once per round,
    round after round (a run's rounds minutes apart, so a slow drift of the
    machine touches every gateway alike). A run's gateways are measured in the
    order ``rotated(gateways, rotation)``: one further along for each run, and
    for each round, so a run's rounds each start with another gateway."""
    return [
        (r + 1, i + r, unit)
        for r in range(max(1, rounds))
        for i, unit in enumerate(runs)
    ]


def rotated(gateways: list[Gateway], index: int) -> list[Gateway]:
    """The gateways in the order the ``index``-th run measures them: each run
    starts one further along, so no gateway is always measured first (right
    after the previous run's last) or last."""
    if not gateways:
        return []
    shift = index % len(gateways)
    return gateways[shift:] + gateways[:shift]


def _profiled_units(keys: str, operations: list[Operation]) -> list[Unit]:
    """The operations to profile one by one, ``m`` the weighted mix."""
    out = [Unit("varied", o.key, o.name, (o,)) for o in select(keys.replace("m", ""))]
    if "m" in keys:
        out.extend(units(["mix"], operations))
    return out


def _profile_load(
    stack: Stack,
    unit: Unit,
    args: argparse.Namespace,
    bearer: str,
    work: Path,
    who: Gateway = "ours",
) -> None:
    bodies = work / f"bodies-{unit.scenario}-{unit.key}-{who}-profile.txt"
    pool = pool_size(args.profile_seconds, 2000.0)
    write_bodies(bodies, unit, who, stack, pool, "profile")
    run_wrk(
        stack.url(who),
        bodies,
        unit.expect(who),
        bearer,
        _load(args, args.profile_seconds),
    )


def _warn_about_conditions(report: results.Report) -> None:
    for m in report.measurements:
        name, share = m.busiest_sandbox
        if share > results.PROVIDER_LIMIT:
            report.notes.append(
                f"{m.label} on {m.gateway}: the {name} sandbox used {share:.0%} of "
                "a core (over a third): the row is invalid, the sandbox may have "
                "limited the throughput."
            )
        w = m.window_seconds or 1.0
        if m.outside_cpu_seconds / w > 0.25:
            report.notes.append(
                f"{m.label} on {m.gateway}: {m.outside_cpu_seconds / w:.2f} cores "
                "were busy outside the benchmark meanwhile: its numbers are low."
            )
        if m.counted_failures:
            report.notes.append(
                f"{m.label} on {m.gateway}: {m.counted_failures} of the "
                f"{m.counted_requests} requests counting upstream calls failed."
            )
        if m.wrk.reused and m.fresh:
            report.notes.append(
                f"{m.label} on {m.gateway}: {m.wrk.reused} requests reused an "
                "application (the seeded supply ran out): they were no-op approvals."
            )


if __name__ == "__main__":
    sys.exit(main())
