"""One provider's sandbox for ``make bench``: ``gateway sandbox`` plus the population.

    python -m benchmarks.sandboxes --provider P --port N [--latency S]
        [--population FILE]

The standalone sandbox of :func:`gateway.cli.standalone_sandboxes` (counting, admin
routes under ``/_sandbox/``), seeded with :mod:`benchmarks.population`; the ids the
load draws from are written to ``--population`` (JSON) before the port opens. The
Apiture sandbox also answers ``POST /_sandbox/seed/approvable`` ``{"count": n}``:
``n`` running applications as ``[id, ETag]`` pairs, the ETag being what a detail
read of each answers (the version a front end sends back as ``If-Match``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn

from adapters.apiture.sandbox.bench import seed_running_applications
from adapters.model import Provider
from benchmarks import population
from gateway.cli import SANDBOX_KEEP_ALIVE, standalone_sandboxes


def approvable(store: Any, count: int) -> list[list[str]]:
    ids = seed_running_applications(store, count)
    return [[i, store.application_etag(i)] for i in ids]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sandboxes")
    parser.add_argument(
        "--provider", required=True, choices=[p.value for p in Provider]
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--population", default=None, help="write the ids here")
    args = parser.parse_args(argv)
    provider = Provider(args.provider)
    admin = standalone_sandboxes(args.latency)[provider]
    store = admin.sandbox.store
    ids = population.seed(provider.value, store)
    if provider == Provider.APITURE:
        admin.seeders["approvable"] = lambda n: approvable(store, n)
    if args.population:
        Path(args.population).write_text(json.dumps(ids), "utf-8")
    uvicorn.run(
        admin,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        timeout_keep_alive=SANDBOX_KEEP_ALIVE,
    )


if __name__ == "__main__":
    main()
