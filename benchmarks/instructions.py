"""Instructions per request of the operations a-e, counted by callgrind.

    python -m benchmarks.instructions [--requests 30] [--operations abcde]

CPU per request that does not drift with the machine's load (see the README,
"Measuring on a noisy machine"): the gateway runs in process over its
in-process sandboxes, seeded with a share of the bench population (2,000
Apiture applications, 50 customers), and each operation is sent ``--requests``
times in sequence with varied variables (the same seeded draws on every run,
so two commits are compared on the same requests), after a warm-up of 10.
Callgrind counts only those requests: a small C helper (compiled here with
``gcc`` against ``valgrind/callgrind.h``) starts the instrumentation before each
operation and dumps and stops it after. The counts include the test client and
the sandboxes' side of each call, the same for both commits.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HELPER = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(const char *name) {
    CALLGRIND_DUMP_STATS_AT(name); CALLGRIND_STOP_INSTRUMENTATION;
}
"""
WARM_UP = 10


def measure(helper: str, requests: int, keys: str) -> None:
    """Runs under valgrind: one dump per operation, named ``op-<key>``."""
    from adapters.apiture.sandbox.bench import seed_running_applications
    from benchmarks import operations, population
    from benchmarks.operations import Operation
    from tests.conftest import serve

    cg = ctypes.CDLL(helper)
    loop = asyncio.new_event_loop()
    served = serve()
    gateway = loop.run_until_complete(served.__aenter__())
    store = gateway.apiture.store
    people = operations.Population(
        applications=population.seed_apiture(store, 2000),
        customers=population.seed_connectfi(gateway.connectfi.store, 50),
    )
    population.seed_mambu(gateway.mambu.store, 50)
    running = seed_running_applications(store, requests + WARM_UP)
    approvable = [(i, store.application_etag(i)) for i in running]
    rng = random.Random(7)

    def bodies(op: Operation, count: int) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for _ in range(count):
            if op.fresh:
                id_, etag = approvable.pop()
                drawn: dict[str, object] = {"id": id_, "ifMatch": etag}
            else:
                drawn = op.draw(rng, people)
            variables = operations.gateway_variables("ours", drawn)
            out.append({"query": op.query("ours"), "variables": variables})
        return out

    async def send(op: Operation, sent: list[dict[str, object]]) -> None:
        for body in sent:
            text = (await gateway.client.post("/graphql", json=body)).text
            if op.expect["ours"] not in text or '"errors"' in text:
                raise RuntimeError(f"{op.key}: {text[:300]}")

    for op in operations.select(keys):
        loop.run_until_complete(send(op, bodies(op, WARM_UP)))
        measured = bodies(op, requests)
        cg.cg_start()
        loop.run_until_complete(send(op, measured))
        cg.cg_stop(f"op-{op.key}".encode())
    loop.run_until_complete(served.__aexit__(None, None, None))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--operations", default="abcde")
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.helper:
        measure(args.helper, args.requests, args.operations)
        return
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "cg.c").write_text(HELPER, "utf-8")
        helper = work / "libcg.so"
        subprocess.run(
            ["gcc", "-O2", "-shared", "-fPIC", "-o", str(helper), str(work / "cg.c")],
            check=True,
        )
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={work / 'cg.out'}",
                sys.executable,
                "-m",
                "benchmarks.instructions",
                f"--requests={args.requests}",
                f"--operations={args.operations}",
                f"--helper={helper}",
            ],
            check=True,
            capture_output=True,
        )
        print("| operation | instructions per request |")
        print("|---|---|")
        for dump in sorted(work.glob("cg.out.*"), key=lambda p: int(p.suffix[1:])):
            text = dump.read_text("utf-8", "replace")
            name = re.search(r"^desc: Trigger: Client Request: op-(\w)", text, re.M)
            total = re.search(r"^totals: (\d+)", text, re.M)
            if name and total:
                per = int(total.group(1)) / args.requests / 1e6
                print(f"| {name.group(1)} | {per:.2f}M |")


if __name__ == "__main__":
    main()
