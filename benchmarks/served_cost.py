"""CPU per request of our gateway alone, sequential, on the bench's varied traffic.

    python -m benchmarks.served_cost [--operations abcdm] [--requests 200]
        [--warmup 100] [--tool callgrind|cprofile|py-spy|rss] [--output DIR]
        [--observed]

The four sandboxes (no added latency) and our gateway as ``make bench`` starts
them (Hive is not started); then, per operation (``m``: the weighted mix),
``--warmup`` requests drawn like the varied scenario, and ``--requests`` more
measured one after another:

- ``callgrind`` (the default): the gateway runs under ``valgrind --tool=callgrind
  --instr-atstart=no``; instrumentation is switched on around the measured
  requests only. Instructions per request do not drift with the machine's speed
  (unlike wall or CPU time on this VM): the figure to judge a change by.
- ``cprofile``: a profiler switched on around the measured requests (``SIGUSR1``
  on, ``SIGUSR2`` off and write); the top functions by own and inclusive time,
  and every ``caching.Cache``'s hits, misses and puts meanwhile (does a cache
  pay on this traffic?).
- ``py-spy``: sampled stacks of the measured requests (``benchmarks.profile``),
  unbiased by a profiler's cost per call.
- ``rss``: the mix, ``--requests`` in all (200,000 for the issue's check),
  ``--connections`` at a time, the gateway's resident memory after each
  twentieth of them (10,000 at most): bounded caches mean no growth past
  warm-up (the first fifth).

The variables are drawn as in ``make bench``'s varied scenario (a seeded
``random.Random``), so two runs of one commit send the same requests.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import json
import os
import pstats
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks import processes, profile, run, traffic
from benchmarks.operations import Operation, Population, select

VALGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]


def start(
    tool: str,
    work: Path,
    observed: bool = False,
    trace_memory: bool = False,
    frames: int = 1,
    malloc_stats: bool = False,
) -> run.Stack:
    ports: list[int] = []
    while len(ports) < 5:
        port = processes.free_port()
        if port not in ports:
            ports.append(port)
    stack = run.Stack(
        sandboxes={
            p: f"http://127.0.0.1:{n}"
            for p, n in zip(run.PROVIDERS, ports[:4], strict=True)
        },
        ours=f"http://127.0.0.1:{ports[4]}",
        hive="",
        started={},
    )
    base = run.clean_env()
    try:
        stack.started.update(run.start_sandboxes(work, stack.sandboxes, 0.0, base))
        stack.population = run._population(work)
        serve = [*run.GATEWAY_CLI, "serve", f"--port={ports[4]}", "--workers=1"]
        # The gateway's own module run under one of this module's wrappers.
        wrapped = [sys.executable, "-m", "benchmarks.served_cost"]
        gateway = ["--", *serve[1:]]
        if tool == "rss" and trace_memory:
            serve = [*wrapped, "--serve-memory", str(work / "memory"), str(frames)]
            serve += gateway
        elif tool == "rss" and malloc_stats:
            serve = [*wrapped, "--serve-malloc", str(work / "malloc.json"), *gateway]
        elif tool in ("py-spy", "rss"):
            pass
        elif tool == "callgrind":
            out = work / "callgrind.out.%p"
            serve = [*VALGRIND, f"--callgrind-out-file={out}", *serve]
        else:
            serve = [*wrapped, "--serve", str(work / "profile.pstats"), *gateway]
        stack.started["ours"] = processes.start(
            "our gateway",
            serve,
            log=work / "ours.log",
            env={
                **run.ours_env(stack.sandboxes, base),
                **(run.OBSERVED_ENV if observed else {}),
            },
            cwd=run.ROOT,
        )
        processes.wait_until_ready(
            stack.started["ours"], stack.ours + "/healthz", timeout=600
        )
    except BaseException:
        processes.stop(stack.started.values())
        raise
    return stack


def bodies(
    stack: run.Stack, ops: list[Operation], key: str, count: int, purpose: str
) -> list[tuple[str, str]]:
    """``count`` requests (body, marker) of one operation, or of the mix."""
    unit = run.Unit("mix", "mix", "Mix", tuple(ops))
    if key != "mix":
        unit = run.Unit("varied", key, ops[0].name, tuple(ops))
    rng = random.Random(f"instructions:{key}:{purpose}")
    plan = unit.plan(count, rng)
    population = Population(
        stack.population.applications,
        stack.population.customers,
        run.seed_approvable(stack, traffic.fresh_needed(plan)),
    )
    return [
        (traffic.body("ours", r), r[0].expect["ours"])
        for r in traffic.requests(plan, rng, population)
    ]


def send(client: httpx.Client, url: str, payloads: list[tuple[str, str]]) -> None:
    for body, marker in payloads:
        answer = client.post(url, content=body)
        if answer.status_code != 200 or marker not in answer.text:
            raise RuntimeError(f"bad answer: {answer.status_code} {answer.text[:300]}")


def rss_bytes(pid: int) -> int:
    """Resident set of ``pid`` and its descendants (``VmRSS``), in bytes."""
    total = 0
    for one in processes.descendants(pid):
        try:
            status = Path(f"/proc/{one}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


async def _send_concurrently(
    url: str, payloads: list[tuple[str, str]], headers: dict[str, str], width: int
) -> int:
    """POST every body, ``width`` at a time; answer how many answers were bad."""
    queue = iter(payloads)
    bad = 0
    limits = httpx.Limits(max_connections=width)
    async with httpx.AsyncClient(headers=headers, timeout=120, limits=limits) as c:

        async def worker() -> None:
            nonlocal bad
            for body, marker in queue:
                answer = await c.post(url, content=body)
                if answer.status_code != 200 or marker not in answer.text:
                    bad += 1

        await asyncio.gather(*(worker() for _ in range(width)))
    return bad


def measure_rss(args: argparse.Namespace, stack: run.Stack, work: Path) -> None:
    """The mix, ``--requests`` in all, ``--connections`` at a time, every request
    its own variables; the gateway's RSS after each chunk, and what its caches
    hold by their own weighing (/metrics: ``gateway_cache_bytes``). Bounded:
    after the warm-up (the first fifth), the RSS grows by no more than the
    caches filling towards their bounds (``caching/bounds.py``), and stops
    when they are full."""
    url, pid = stack.url("ours"), stack.gateway("ours").pid
    token = run.token()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    ops = select("abcde")
    chunk = max(1_000, min(10_000, args.requests // 20))
    samples: list[tuple[int, int, float]] = [(0, rss_bytes(pid), 0.0)]
    done = bad = 0
    bounds = cache_bytes(url, token, "gateway_cache_max_bytes")
    print(
        "caches' bounds (MiB): "
        + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in sorted(bounds.items()))
        + f"; {sum(bounds.values()) / 2**20:.1f} in all",
        flush=True,
    )
    mallocs = work / "malloc.json"
    print(
        f"{'requests':>9} {'RSS MiB':>8} {'caches MiB':>11} {'RSS - caches':>13}"
        + (
            f" {'arenas':>6} {'pymalloc used':>13} {'malloc used':>11}"
            f" {'malloc free':>11} {'mmapped':>8}"
            if args.malloc_stats
            else ""
        )
    )
    if args.malloc_stats:
        print(" " * 44 + "(pymalloc's 1 MiB arenas; the rest MiB)")
    warm_at = args.requests // 5
    warmed = False
    while done < args.requests:
        n = min(chunk, args.requests - done)
        payloads = bodies(stack, ops, "mix", n, f"rss:{done}")
        bad += asyncio.run(_send_concurrently(url, payloads, headers, args.connections))
        done += n
        held = sum(cache_bytes(url, token, "gateway_cache_bytes").values())
        samples.append((done, rss_bytes(pid), held))
        rss = samples[-1][1] / 2**20
        line = (
            f"{done:>9} {rss:>8.1f} {held / 2**20:>11.1f} {rss - held / 2**20:>13.1f}"
        )
        if args.malloc_stats:
            a = read_allocators(pid, mallocs)
            line += (
                f" {a['arenas']:>6} {a['pymalloc_used'] / 2**20:>13.1f}"
                f" {a['malloc_used'] / 2**20:>11.1f} {a['malloc_free'] / 2**20:>11.1f}"
                f" {a['malloc_mmapped'] / 2**20:>8.1f}"
            )
        print(line, flush=True)
        if args.trace_memory and not warmed and done >= warm_at:
            warmed = True  # the sample the growth is measured from
            snapshot(pid, work / "memory", 1)
    _, warm, warm_held = next(s for s in samples if s[0] >= warm_at)
    after = [s for s in samples if s[0] >= warm_at]
    growth = (max(r for _, r, _ in after) - warm) / 2**20
    filled = (after[-1][2] - warm_held) / 2**20
    rest = max((r - h) - (warm - warm_held) for _, r, h in after) / 2**20
    print(
        f"RSS after warm-up ({warm_at} requests) {warm / 2**20:.1f} MiB, "
        f"highest after it {max(r for _, r, _ in after) / 2**20:.1f} MiB "
        f"(+{growth:.1f} MiB), at the end {after[-1][1] / 2**20:.1f} MiB; the "
        f"caches grew {filled:+.1f} MiB meanwhile (to "
        f"{after[-1][2] / 2**20:.1f} of {sum(bounds.values()) / 2**20:.1f} MiB); "
        f"RSS beside the caches at most {rest:+.1f} MiB; {bad} bad answers",
        flush=True,
    )
    if args.trace_memory:
        snapshot(pid, work / "memory", 2)
        print("where the memory held grew after the warm-up (tracemalloc):")
        print("\n".join(memory_growth(work / "memory", args.top)), flush=True)


def snapshot(pid: int, prefix: Path, number: int) -> None:
    """Have the gateway write its tracemalloc snapshot ``number``; wait for it."""
    path = Path(f"{prefix}-{number}.snapshot")
    os.kill(pid, signal.SIGUSR1 if number == 1 else signal.SIGUSR2)
    for _ in range(600):
        if path.is_file():
            return
        time.sleep(0.1)
    raise RuntimeError(f"no snapshot {path}")


def cache_bytes(url: str, token: str, name: str) -> dict[str, float]:
    """``name`` (gateway_cache_bytes or _max_bytes) per cache, from /metrics."""
    found: dict[str, float] = {}
    for sample in run.gateway_samples(url, token):
        if sample.name == name:
            cache = sample.labels.get("cache", "?")
            found[cache] = found.get(cache, 0.0) + sample.value
    return found


def callgrind_total(work: Path, pid: int) -> int:
    """The instructions of the last dump of ``pid``'s callgrind."""
    dumps = sorted(work.glob(f"callgrind.out.{pid}*"), key=os.path.getmtime)
    counts = [
        int(line.split()[1])
        for line in dumps[-1].read_text().splitlines()
        if line.startswith(("summary:", "totals:"))
    ]
    if not counts:
        raise RuntimeError("no totals in " + str(dumps[-1]))
    return max(counts)


def control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


def measure(args: argparse.Namespace, stack: run.Stack, work: Path) -> None:
    url = stack.url("ours")
    pid = stack.gateway("ours").pid
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {run.token()}",
    }
    with httpx.Client(headers=headers, timeout=600) as client:
        units = [(o.key, [o]) for o in select(args.operations.replace("m", ""))]
        if "m" in args.operations:
            units.append(("mix", select("abcde")))
        for key, ops in units:
            send(client, url, bodies(stack, ops, key, args.warmup, "warmup"))
            measured = bodies(stack, ops, key, args.requests, "measured")
            if args.tool == "callgrind":
                control("-z", str(pid))
                control("-i", "on", str(pid))
                send(client, url, measured)
                control("-i", "off", str(pid))
                control("-d", f"op-{key}", str(pid))
                total = callgrind_total(work, pid)
                print(
                    f"{key}: {total / len(measured) / 1e6:.3f}M instructions "
                    f"per request ({len(measured)} requests)",
                    flush=True,
                )
            elif args.tool == "py-spy":
                prefix = work / f"py-spy-{key}"
                print(f"== {key} ({len(measured)} requests)")
                print(
                    profile.record(
                        pid,
                        functools.partial(send, client, url, measured),
                        prefix,
                        args.seconds,
                    ),
                    flush=True,
                )
                print(prefix.with_suffix(".summary.md").read_text("utf-8"))
            else:
                os.kill(pid, signal.SIGUSR1)
                send(client, url, measured)
                os.kill(pid, signal.SIGUSR2)
                stats = work / "profile.pstats"
                for _ in range(100):
                    if stats.is_file():
                        break
                    time.sleep(0.1)
                time.sleep(0.5)
                print(f"== {key} ({len(measured)} requests)")
                print(summarize(stats, args.top), flush=True)
                hits = Path(str(stats) + ".caches.json")
                print("-- caches: where made, hits, misses, puts")
                for where, hit, miss, put in json.loads(hits.read_text("utf-8")):
                    if hit or miss or put:
                        print(f"{where}: {hit} hits, {miss} misses, {put} puts")
                stats.rename(work / f"profile-{key}.pstats")


def summarize(path: Path, top: int) -> str:
    stats = pstats.Stats(str(path))
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in entries.values())
    lines = [f"total own time {total:.3f}s"]

    def name(key: tuple[str, int, str]) -> str:
        file, line, func = key
        file = re.sub(r".*/(site-packages|lib/python3\.\d+)/", "", file)
        file = file.replace(str(run.ROOT) + "/", "")
        return f"{func} ({file}:{line})"

    lines.append("-- own time")
    for key, (_, _, tt, _, _) in sorted(entries.items(), key=lambda kv: -kv[1][2])[
        :top
    ]:
        lines.append(f"{tt / total:6.1%}  {name(key)}")
    lines.append("-- inclusive")
    for key, (_, _, _, ct, _) in sorted(entries.items(), key=lambda kv: -kv[1][3])[
        :top
    ]:
        lines.append(f"{ct / total:6.1%}  {name(key)}")
    return "\n".join(lines)


def count_cache_hits() -> dict[int, list[object]]:
    """Count every ``caching.Cache``'s hits, misses and puts, by where it was made:
    ``[where, hits, misses, puts]`` per cache (a miss: ``get`` answered None)."""
    from caching import Cache

    counts: dict[int, list[object]] = {}
    init, get, put = Cache.__init__, Cache.get, Cache.put

    def made(self: Cache[Any, Any], *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        caller = sys._getframe(1)
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        where = where.replace(str(run.ROOT) + "/", "")
        counts[id(self)] = [where, 0, 0, 0]

    def counted_get(self: Cache[Any, Any], key: Any) -> Any:
        found = get(self, key)
        row = counts.get(id(self))
        if row is not None:
            row[1 if found is not None else 2] += 1  # type: ignore[operator]
        return found

    def counted_put(self: Cache[Any, Any], key: Any, value: Any) -> Any:
        row = counts.get(id(self))
        if row is not None:
            row[3] += 1  # type: ignore[operator]
        return put(self, key, value)

    Cache.__init__ = made  # type: ignore[method-assign]
    Cache.get = counted_get  # type: ignore[method-assign]
    Cache.put = counted_put  # type: ignore[method-assign]
    return counts


def _run_module(argv: list[str]) -> None:
    """``python argv`` (``-m module ...``) in this process."""
    assert argv[0] == "-m"
    import runpy

    sys.argv = [argv[1], *argv[2:]]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


def serve_profiled(out: str, argv: list[str]) -> None:
    """Run ``python argv`` (``-m module ...``) with a profiler toggled by signals."""
    profiler = cProfile.Profile()
    counts = count_cache_hits()

    def on(*_: object) -> None:
        for row in counts.values():
            row[1:] = [0, 0, 0]
        profiler.enable()

    def off(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(out + ".tmp")
        Path(out + ".caches.json").write_text(
            json.dumps(sorted(counts.values(), key=lambda r: str(r[0]))), "utf-8"
        )
        os.replace(out + ".tmp", out)
        profiler.clear()

    signal.signal(signal.SIGUSR1, on)
    signal.signal(signal.SIGUSR2, off)
    _run_module(argv)


def serve_memory_traced(prefix: str, frames: int, argv: list[str]) -> None:
    """Run ``python argv`` with ``tracemalloc`` on from the start (``frames``
    deep); ``SIGUSR1`` and ``SIGUSR2`` each write a snapshot
    (``prefix-1.snapshot``, ``-2``)."""
    import tracemalloc

    tracemalloc.start(frames)

    def dump(number: int) -> Callable[..., None]:
        def write(*_: object) -> None:
            path = f"{prefix}-{number}.snapshot"
            tracemalloc.take_snapshot().dump(path + ".tmp")
            os.replace(path + ".tmp", path)

        return write

    signal.signal(signal.SIGUSR1, dump(1))
    signal.signal(signal.SIGUSR2, dump(2))
    _run_module(argv)


# sys._debugmallocstats()'s lines read (pymalloc: objects of 512 bytes or less).
_PYMALLOC = {
    "# arenas allocated current": "arenas",
    "# arenas highwater mark": "arenas_highwater",
    "# bytes in allocated blocks": "pymalloc_used",
    "# bytes in available blocks": "pymalloc_free",
}


def allocators() -> dict[str, int]:
    """This process's allocators by their own count: pymalloc's arenas (1 MiB
    each on 3.11) and the bytes of its blocks in use and free in them
    (``sys._debugmallocstats``), glibc's heap in use and free and its mmapped
    blocks (``mallinfo2``)."""
    import ctypes

    found: dict[str, int] = {}
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        for line in out:
            name, _, value = line.partition("=")
            key = _PYMALLOC.get(name.strip())
            if key is not None:
                found[key] = int(value.strip().replace(",", ""))

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (n, ctypes.c_size_t)
            for n in [
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            ]
        ]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    found.update(
        malloc_heap=info.arena,
        malloc_used=info.uordblks,
        malloc_free=info.fordblks,
        malloc_mmapped=info.hblkhd,
    )
    return found


def serve_malloc_stats(path: str, argv: list[str]) -> None:
    """Run ``python argv``; ``SIGUSR1`` writes :func:`allocators` to ``path``."""

    def write(*_: object) -> None:
        Path(path + ".tmp").write_text(json.dumps(allocators()), "utf-8")
        os.replace(path + ".tmp", path)

    signal.signal(signal.SIGUSR1, write)
    _run_module(argv)


def read_allocators(pid: int, path: Path) -> dict[str, int]:
    """Have the gateway write :func:`allocators`; read them."""
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    for _ in range(600):
        if path.is_file():
            found: dict[str, int] = json.loads(path.read_text("utf-8"))
            return found
        time.sleep(0.1)
    raise RuntimeError(f"no allocator figures in {path}")


def memory_growth(prefix: Path, top: int) -> list[str]:
    """Where the allocations still alive grew between the two snapshots: the
    ``top`` lines by growth, then the total traced at each; with
    ``--trace-frames`` over 1, the ``top`` tracebacks by growth too."""
    import tracemalloc

    snapshots = [
        tracemalloc.Snapshot.load(str(prefix) + f"-{n}.snapshot") for n in (1, 2)
    ]

    def where(frame: tracemalloc.Frame) -> str:
        name = frame.filename.replace(str(run.ROOT) + "/", "")
        return f"{name.split('site-packages/')[-1]}:{frame.lineno}"

    stats = snapshots[1].compare_to(snapshots[0], "lineno")
    lines = [
        f"{s.size_diff / 2**10:+9.1f} KiB {s.count_diff:+8d} blocks  "
        f"{where(s.traceback[0])}"
        for s in stats[:top]
    ]
    totals = [sum(s.size for s in one.statistics("filename")) for one in snapshots]
    lines.append(
        f"traced in all: {totals[0] / 2**20:.1f} MiB after the warm-up, "
        f"{totals[1] / 2**20:.1f} MiB at the end "
        f"({(totals[1] - totals[0]) / 2**20:+.1f} MiB)"
    )
    if len(snapshots[1].traces) and len(snapshots[1].traces[0].traceback) > 1:
        lines.append("-- by traceback (outermost frame first)")
        for s in snapshots[1].compare_to(snapshots[0], "traceback")[:top]:
            lines.append(f"{s.size_diff / 2**10:+9.1f} KiB {s.count_diff:+8d} blocks")
            lines.extend(f"      {where(f)}" for f in s.traceback)
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--serve":
        serve_profiled(argv[1], argv[3:])
        return 0
    if argv and argv[0] == "--serve-malloc":
        serve_malloc_stats(argv[1], argv[3:])
        return 0
    if argv and argv[0] == "--serve-memory":
        serve_memory_traced(argv[1], int(argv[2]), argv[4:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.served_cost")
    parser.add_argument(
        "--operations", default="abcd", help="keys; m for the mix (abcde weighed)"
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument(
        "--tool",
        choices=("callgrind", "cprofile", "py-spy", "rss"),
        default="callgrind",
    )
    parser.add_argument("--connections", type=int, default=8, help="rss")
    parser.add_argument("--seconds", type=float, default=20.0, help="py-spy")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--output", default=None, help="keep the files here")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="rss: the gateway under tracemalloc, a snapshot after the warm-up and "
        "one at the end; prints where the memory still held grew between them",
    )
    parser.add_argument(
        "--malloc-stats",
        action="store_true",
        help="rss: beside each sample, the allocators' own figures (pymalloc's "
        "arenas and blocks in use, glibc's heap in use and free)",
    )
    parser.add_argument(
        "--trace-frames",
        type=int,
        default=1,
        help="rss --trace-memory: frames kept per allocation (more: slower)",
    )
    parser.add_argument(
        "--observed",
        action="store_true",
        help="the gateway with metrics and tracing on (benchmarks.run.OBSERVED_ENV)",
    )
    args = parser.parse_args(argv)
    work = Path(args.output or tempfile.mkdtemp(prefix="served-cost-"))
    work.mkdir(parents=True, exist_ok=True)
    stack = start(
        args.tool,
        work,
        args.observed,
        args.trace_memory,
        args.trace_frames,
        args.malloc_stats,
    )
    try:
        if args.tool == "rss":
            measure_rss(args, stack, work)
        else:
            measure(args, stack, work)
    finally:
        processes.stop(stack.started.values(), grace=30)
    print(json.dumps({"files": str(work)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
