"""One provider's sandbox for ``make bench``: ``gateway sandbox`` plus the population.

    python -m benchmarks.sandboxes --provider P --port N [--latency S]
        [--population FILE] [--server lean|uvicorn]

The standalone sandbox of :func:`gateway.cli.standalone_sandboxes` (counting, admin
routes under ``/_sandbox/``), seeded with :mod:`benchmarks.population`; the ids the
load draws from are written to ``--population`` (JSON) before the port opens. The
Apiture sandbox also answers ``POST /_sandbox/seed/approvable`` ``{"count": n}``:
``n`` running applications as ``[id, ETag]`` pairs, the ETag being what a detail
read of each answers (the version a front end sends back as ``If-Match``).

Served by :mod:`benchmarks.lean_server` (``--server lean``, the default): the
reads the gateways make under ``make bench`` (:data:`HOT`) answered by their
endpoints directly, everything else by the whole app; ``--server uvicorn`` serves
the whole app as ``gateway sandbox`` does (for comparing the two).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import uvicorn

from adapters.apiture.sandbox import BASE_PATH as APITURE
from adapters.apiture.sandbox.bench import seed_running_applications
from adapters.apiture.sandbox.guard import Guard
from adapters.apiture.sandbox.store import Store as ApitureStore
from adapters.mambu.sandbox import BASE_PATH as MAMBU
from adapters.model import Provider
from adapters.sandbox_kit import SandboxAdmin, Scope
from benchmarks import lean_server, population
from gateway.cli import SANDBOX_KEEP_ALIVE, standalone_sandboxes

# The reads each sandbox answers without the whole app (method -> route paths):
# what the gateways ask for op a-d (list pages, details, a customer's
# applications, a client's documents) and the other detail reads.
HOT: dict[Provider, dict[str, list[str]]] = {
    Provider.APITURE: {
        "GET": [
            f"{APITURE}/applications",
            f"{APITURE}/applications/{{applicationId}}",
            f"{APITURE}/enrollments/{{enrollmentId}}",
        ]
    },
    Provider.CONNECTFI: {"POST": ["/akepa/list"]},
    Provider.MAMBU: {
        "GET": [
            f"{MAMBU}/api/{{collection}}/{{ref}}/documents",
            f"{MAMBU}/api/{{collection}}/{{ref}}/documents/",
        ]
    },
}


def front(provider: Provider, admin: SandboxAdmin) -> lean_server.Front:
    """The lean server's front of ``provider``'s standalone sandbox: its hot
    reads, behind the Apiture guard's checks for Apiture, whose application
    details are kept per revision (:func:`apiture_detail_memo`)."""
    app = admin.sandbox.app
    precheck = None
    memos: dict[str, lean_server.Memo] = {}
    if isinstance(app, Guard):
        precheck, app = app.check, app.app
        detail = f"{APITURE}/applications/{{applicationId}}"
        memos[detail] = apiture_detail_memo(admin.sandbox.store)
    hot = lean_server.hot_routes(app, HOT.get(provider, {}), memos)
    return lean_server.Front(admin, hot, precheck)


def apiture_detail_memo(store: ApitureStore) -> lean_server.Memo:
    """An application's detail is kept by its id, for the record itself (a
    record deleted and made again is another object) at its revision (every
    change touches the record: a new revision, a new ETag). A conditional read
    (``If-None-Match``) is made afresh."""

    def memo(
        scope: Scope, params: Mapping[str, Any]
    ) -> tuple[Hashable, object, Hashable] | None:
        id_ = params["applicationId"]
        record = store.applications.get(id_)
        if record is None or any(k == b"if-none-match" for k, _ in scope["headers"]):
            return None
        return id_, record, record.revision

    return memo


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
    parser.add_argument("--server", choices=("lean", "uvicorn"), default="lean")
    args = parser.parse_args(argv)
    provider = Provider(args.provider)
    admin = standalone_sandboxes(args.latency)[provider]
    store = admin.sandbox.store
    ids = population.seed(provider.value, store)
    if provider == Provider.APITURE:
        admin.seeders["approvable"] = lambda n: approvable(store, n)
    if args.population:
        Path(args.population).write_text(json.dumps(ids), "utf-8")
    if args.server == "lean":
        lean_server.run(front(provider, admin), "127.0.0.1", args.port)
        return
    uvicorn.run(
        admin,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        timeout_keep_alive=SANDBOX_KEEP_ALIVE,
    )


if __name__ == "__main__":
    main()
