"""``gateway``: serve the gateway, serve the sandboxes, export the schema.

gateway serve [--host H] [--port P] [--workers N]
gateway fleet [--replicas N] [--port P] [--no-redis] [--sandbox-latency SECONDS]
gateway sandbox [--provider NAME] [--port N] [--latency SECONDS]
                [--bench-applications N]
gateway export-schema
gateway persisted-manifest [--check] [--output FILE]
gateway check-schema
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from adapters.model import Provider
from adapters.sandbox_kit import SandboxAdmin, Seeder
from gateway.observability import logging_config
from gateway.settings import Settings
from gateway.slow_clients import PROTOCOL

SANDBOX_KEEP_ALIVE = 75  # seconds an idle connection to a sandbox stays open
SANDBOX_PORTS = {
    Provider.APITURE: 8101,
    Provider.CONNECTFI: 8102,
    Provider.AUCO: 8103,
    Provider.MAMBU: 8104,
}


def _serve(args: argparse.Namespace) -> None:
    settings = Settings()
    host = args.host or settings.host
    port = args.port or settings.port
    sandboxed = ", ".join(sorted(p.name for p in settings.sandboxed())) or "none"
    print(
        f"Gateway on http://{host}:{port}/graphql (embedded sandboxes: {sandboxed})",
        file=sys.stderr,
    )
    production = settings.environment == "production"
    # One line per request (gateway.observability), JSON in production.
    log_format = settings.log_format or ("json" if production else "text")
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        log_level="warning" if production else "info",
        log_config=logging_config(log_format),
        # A line per request costs CPU and fills disks in production; errors and
        # the gateway's own warnings are still logged.
        access_log=not production,
        # Deadlines on each request's headers and body (slow_clients).
        http=PROTOCOL,
        # After SIGTERM (and GATEWAY_SHUTDOWN_DRAIN): in-flight requests' time.
        timeout_graceful_shutdown=int(settings.shutdown_grace),
    )


def _fleet(args: argparse.Namespace) -> None:
    from gateway.fleet import Fleet, run

    run(
        Fleet(
            replicas=args.replicas,
            host=args.host,
            port=args.port,
            redis=not args.no_redis,
            sandbox_latency=args.sandbox_latency,
        )
    )


def standalone_sandboxes(
    latency: float, bench_applications: int = 0
) -> dict[Provider, SandboxAdmin]:
    """Every sandbox as ``gateway sandbox`` serves it: counting, with admin routes.

    A sandbox on its own port counts its calls but logs no request bodies (nobody
    in process reads them, and under load they would grow without bound); its
    counters and seeding are reached over HTTP under ``/_sandbox/``.
    """
    from adapters.apiture.sandbox.bench import seed_running_applications
    from gateway.upstreams import create_sandboxes

    # Explicit input only: a GATEWAY_*_URL in the environment must not turn a
    # sandbox off here.
    apps = create_sandboxes(Settings.model_construct(sandbox_latency=latency))
    seeders: dict[Provider, dict[str, Seeder]] = {p: {} for p in apps}
    apiture = apps[Provider.APITURE]
    seeders[Provider.APITURE]["applications"] = lambda n: seed_running_applications(
        apiture.store, n
    )
    if bench_applications:
        seed_running_applications(apiture.store, bench_applications)
    admins = {}
    for provider, app in apps.items():
        app.control.record = False
        admins[provider] = SandboxAdmin(app, seeders[provider])
    return admins


async def _serve_sandboxes(
    providers: Sequence[Provider],
    port: int | None,
    latency: float,
    host: str,
    bench_applications: int = 0,
) -> None:
    apps = standalone_sandboxes(latency, bench_applications)
    servers = []
    for provider in providers:
        bind = port if port and len(providers) == 1 else SANDBOX_PORTS[provider]
        # Idle connections are kept 75 s (uvicorn's default is 5 s): a client
        # reusing one just as the server drops it sees a reset, which a benchmark
        # would count against whichever gateway does not retry.
        config = uvicorn.Config(
            apps[provider],
            host=host,
            port=bind,
            log_level="warning",
            timeout_keep_alive=SANDBOX_KEEP_ALIVE,
        )
        servers.append(uvicorn.Server(config))
        print(f"{provider.name} sandbox on http://{host}:{bind}", file=sys.stderr)
    await asyncio.gather(*(s.serve() for s in servers))


def _sandbox(args: argparse.Namespace) -> None:
    providers = [Provider[args.provider.upper()]] if args.provider else list(Provider)
    asyncio.run(
        _serve_sandboxes(
            providers, args.port, args.latency, args.host, args.bench_applications
        )
    )


def _export_schema(_: argparse.Namespace) -> None:
    from schema.api import schema

    sys.stdout.write(schema.as_str() + "\n")


def _persisted_manifest(args: argparse.Namespace) -> None:
    from gateway.operations import load_operations
    from gateway.persisted import DEFAULT_MANIFEST, manifest_json

    settings = Settings()
    output = Path(args.output) if args.output else DEFAULT_MANIFEST
    text = manifest_json(load_operations(settings.operations_dir))
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            sys.exit(f"{output} is stale: run `gateway persisted-manifest`")
        print(f"{output} is current", file=sys.stderr)
        return
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}", file=sys.stderr)


def _check_schema(_: argparse.Namespace) -> None:
    from gateway.schema_guard import check, render
    from schema.api import schema

    report = check(schema.as_str() + "\n")
    print("\n".join(render(report)), file=sys.stderr)
    if not report.ok:
        sys.exit(1)


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    # httpx logs every upstream request at INFO: the gateway logs what fails.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the gateway")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    fleet = sub.add_parser(
        "fleet", help="Redis, the sandboxes, N replicas and a load balancer"
    )
    fleet.add_argument("--replicas", type=int, default=2)
    fleet.add_argument("--host", default="127.0.0.1")
    fleet.add_argument("--port", type=int, default=8000, help="the load balancer's")
    fleet.add_argument(
        "--no-redis", action="store_true", help="each replica its own limits"
    )
    fleet.add_argument("--sandbox-latency", type=float, default=0.0)
    fleet.set_defaults(run=_fleet)

    sandbox = sub.add_parser("sandbox", help="serve provider sandboxes on own ports")
    sandbox.add_argument(
        "--provider", choices=[p.name.lower() for p in Provider], default=None
    )
    sandbox.add_argument("--port", type=int, default=None)
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--latency", type=float, default=0.0)
    sandbox.add_argument(
        "--bench-applications",
        type=int,
        default=0,
        metavar="N",
        help="seed N extra running Apiture applications (for state actions under "
        "load; POST /_sandbox/seed/applications does the same at run time)",
    )
    sandbox.set_defaults(run=_sandbox)

    export = sub.add_parser("export-schema", help="print the schema as SDL")
    export.set_defaults(run=_export_schema)

    manifest = sub.add_parser(
        "persisted-manifest",
        help="write the persisted-query manifest from operations/",
    )
    manifest.add_argument("--check", action="store_true", help="fail if stale")
    manifest.add_argument("--output", default=None)
    manifest.set_defaults(run=_persisted_manifest)

    guard = sub.add_parser(
        "check-schema",
        help="fail on unacknowledged breaking changes against schema.graphql",
    )
    guard.set_defaults(run=_check_schema)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
