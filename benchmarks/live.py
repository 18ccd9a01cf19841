"""``make bench BENCH_ARGS="--live"``: live status (subscriptions) under load.

    python -m benchmarks.live [--subscribers 1000] [--events 20] [--watched 1000]
        [--window 30] [--processes 4]

Two figures, each on its own gateway started as production runs it (bearer-token
authentication, every caller its own token subject), with Apiture served by its
sandbox in a process of its own and the other providers by the gateway's embedded
sandboxes:

1. **Fan-out.** ``--subscribers`` graphql-transport-ws clients (spread over
   ``--processes`` client processes, each with many connections) subscribe to one
   Auco document (``documentUpdated(id:)``). The benchmark then plays Auco: it posts
   ``--events`` webhooks (``NOTIFICATION``, a new signer each) to the gateway's
   receiver ``POST /webhooks/auco`` with the configured secret header, one after
   the other once every subscriber has the previous one. Latency is from just
   before the POST to each subscriber's receipt of its ``next`` message (both read
   from the machine's monotonic clock, shared by every process), so it includes
   the receiver, the bus, one read of the document per subscriber (each delivery
   reads the record as it is now, with the subscriber's authorization) and the
   WebSocket. p50 and p99 over every (event, subscriber) pair.
2. **Polls per minute.** ``--watched`` running Apiture applications, none of
   which changes, each watched by two subscriptions (``applicationUpdated(id:)``,
   on different connections). The Apiture sandbox counts what it answers, by
   status and by whether the request carried ``If-None-Match``, over a window of
   ``--window`` seconds once every poller has made its first read. Expected: one
   poller per record (not per subscription), every poll a 304, and the total held
   to ``GATEWAY_POLL_BUDGET_PER_MINUTE`` (default 1200) although 1,000 records
   every ``GATEWAY_POLL_INTERVAL`` (5 s) would be 12,000 a minute.

Prints the figures and writes ``bench-results/live-<time>.json``. Every process
listens on 127.0.0.1 on a port the OS gave, and is stopped by its own pid.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt

from benchmarks import processes
from benchmarks.processes import Started

ROOT = Path(__file__).resolve().parent.parent
JWT_SECRET = "bench-only-secret-not-for-production-0123456789"
AUCO_HEADER = "X-Auco-Webhook-Secret"
AUCO_SECRET = "bench-only-webhook-secret"
DOCUMENT = "DEMOWAIT01"  # an Auco demo document awaiting its signer
FAN_OUT = """subscription Doc($id: ID) {
  documentUpdated(id: $id) { eventId cause status document { id status } }
}"""
WATCH = """subscription App($id: ID) {
  applicationUpdated(id: $id) { eventId cause state }
}"""


def token(subject: str) -> str:
    claims = {"sub": subject, "roles": ["staff"], "exp": int(time.time()) + 86_400}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


# The Apiture sandbox, counting what it answers ---------------------------------


def serve_apiture(port: int, applications: int, latency: float, ids: Path) -> None:
    """``gateway sandbox``'s Apiture with ``applications`` running ones more,
    behind a counter of answers by (method, status, If-None-Match sent):
    ``GET /_bench/counts``, ``POST /_bench/reset``."""
    import uvicorn
    from starlette.types import Message, Receive, Scope, Send

    from adapters.apiture.sandbox.bench import seed_running_applications
    from adapters.model import Provider
    from gateway.cli import SANDBOX_KEEP_ALIVE, standalone_sandboxes

    admin = standalone_sandboxes(latency)[Provider.APITURE]
    seeded = seed_running_applications(admin.sandbox.store, applications)
    ids.write_text(json.dumps(seeded), "utf-8")
    counts: Counter[str] = Counter()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/_bench/"):
            if path == "/_bench/reset":
                counts.clear()
            body = json.dumps(dict(counts)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "http":
            await admin(scope, receive, send)
            return
        conditional = any(k.lower() == b"if-none-match" for k, _ in scope["headers"])

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                tag = "conditional" if conditional else "plain"
                counts[f"{scope['method']} {message['status']} {tag}"] += 1
            await send(message)

        await admin(scope, receive, counted)

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_keep_alive=SANDBOX_KEEP_ALIVE,
    )


# Subscriber processes -------------------------------------------------------------


async def subscribe_many(
    url: str, query: str, ids: list[str], per_connection: int, name: str
) -> None:
    """One connection per ``per_connection`` ids (each its own token subject), one
    subscription per id. Prints ``ready``; then ``all <eventId>`` once every
    subscription here has that event; on ``report`` from stdin, every receipt
    (``{eventId: [monotonic ns, …]}``) as one JSON line, and exits."""
    import websockets

    receipts: dict[str, list[int]] = {}
    expected = len(ids)
    connections = []
    for n in range(0, len(ids), per_connection):
        connection = await websockets.connect(
            url,
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            max_queue=None,
            open_timeout=60,
            ping_interval=None,
        )
        init = {"Authorization": f"Bearer {token(f'{name}-{n}')}"}
        await connection.send(json.dumps({"type": "connection_init", "payload": init}))
        ack = json.loads(await connection.recv())
        assert ack["type"] == "connection_ack", ack
        for m, record in enumerate(ids[n : n + per_connection]):
            payload = {"query": query, "variables": {"id": record}}
            message = {"id": str(m), "type": "subscribe", "payload": payload}
            await connection.send(json.dumps(message))
        connections.append(connection)

    async def read(connection: Any) -> None:
        async for raw in connection:
            now = time.monotonic_ns()
            message = json.loads(raw)
            if message["type"] == "ping":
                await connection.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] != "next":
                print(f"unexpected {raw[:300]!r}", flush=True)
                continue
            data = message["payload"].get("data") or {}
            update = next(iter(data.values()), None) or {}
            event = update.get("eventId", "?")
            got = receipts.setdefault(event, [])
            got.append(now)
            if len(got) == expected:
                print(f"all {event}", flush=True)

    readers = [asyncio.create_task(read(c)) for c in connections]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "report":
            break
    print(json.dumps(receipts), flush=True)
    for task in readers:
        task.cancel()
    for connection in connections:
        await connection.close()


class Clients:
    """Subscriber processes, driven over their stdin and stdout."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []
        self.done: dict[str, int] = Counter()
        self._readers: list[asyncio.Task[None]] = []
        self.reports: list[dict[str, list[int]]] = []
        self.ready = 0
        self.problems: list[str] = []

    async def start(
        self, url: str, query: str, ids: list[str], processes_: int, per: int, tag: str
    ) -> None:
        share = -(-len(ids) // processes_)
        for p in range(processes_):
            mine = ids[p * share : (p + 1) * share]
            if not mine:
                continue
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.live",
                "subscribers",
                "--url",
                url,
                "--query",
                query,
                "--ids",
                json.dumps(mine),
                "--per-connection",
                str(per),
                "--name",
                f"{tag}{p}",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=ROOT,
                limit=2**28,
            )
            self.procs.append(proc)
            self._readers.append(asyncio.create_task(self._read(proc)))
        await self.until(lambda: self.ready == len(self.procs), 300, "ready")

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode().strip()
            if line == "ready":
                self.ready += 1
            elif line.startswith("all "):
                self.done[line[4:]] += 1
            elif line.startswith("{"):
                self.reports.append(json.loads(line))
            elif line:
                self.problems.append(line[:300])

    async def until(self, condition: Any, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {seconds} s")
            if any(p.returncode is not None for p in self.procs):
                raise RuntimeError(f"a subscriber process exited ({what})")
            await asyncio.sleep(0.005)

    async def everyone_has(self, event: str, seconds: float) -> bool:
        try:
            await self.until(
                lambda: self.done[event] == len(self.procs), seconds, event
            )
        except TimeoutError:
            return False
        return True

    async def stop(self) -> list[dict[str, list[int]]]:
        for proc in self.procs:
            if proc.stdin is not None and proc.returncode is None:
                proc.stdin.write(b"report\n")
                await proc.stdin.drain()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)
        return self.reports


# The gateway and the stack ------------------------------------------------------


@contextmanager
def stack(work: Path, args: argparse.Namespace) -> Iterator[dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    apiture_port, gateway_port = processes.free_port(), processes.free_port()
    while gateway_port == apiture_port:
        gateway_port = processes.free_port()
    ids_file = work / "live-apiture-ids.json"
    started: list[Started] = []
    try:
        apiture = processes.start(
            "apiture sandbox",
            [
                sys.executable,
                "-m",
                "benchmarks.live",
                "apiture",
                f"--port={apiture_port}",
                f"--applications={args.watched}",
                f"--latency={args.latency}",
                f"--ids={ids_file}",
            ],
            log=work / "live-apiture.log",
            env=base,
            cwd=ROOT,
        )
        started.append(apiture)
        apiture_url = f"http://127.0.0.1:{apiture_port}"
        processes.wait_until_ready(apiture, apiture_url + "/_bench/counts")
        from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY

        env = dict(
            base,
            GATEWAY_ENVIRONMENT="production",
            GATEWAY_APITURE_URL=apiture_url + "/accountApplications",
            GATEWAY_APITURE_API_KEY=DEMO_API_KEY,
            GATEWAY_APITURE_ACCESS_TOKEN=DEMO_ACCESS_TOKEN,
            GATEWAY_AUTH_JWT_SECRET=JWT_SECRET,
            GATEWAY_AUCO_WEBHOOK_HEADER=AUCO_HEADER,
            GATEWAY_AUCO_WEBHOOK_SECRET=AUCO_SECRET,
            GATEWAY_PUBLIC_URL=f"http://127.0.0.1:{gateway_port}",
        )
        gateway = processes.start(
            "our gateway",
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "serve",
                f"--port={gateway_port}",
                "--workers=1",
            ],
            log=work / "live-gateway.log",
            env=env,
            cwd=ROOT,
        )
        started.append(gateway)
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        processes.wait_until_ready(gateway, gateway_url + "/healthz")
        yield {
            "apiture": apiture_url,
            "gateway": gateway_url,
            "ids": str(ids_file),
            "gateway_pid": str(gateway.pid),
        }
    finally:
        processes.stop(started)


async def fan_out(urls: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    from adapters.model import Provider
    from schema import ids

    document = ids.encode("Document", Provider.AUCO, DOCUMENT)
    ws_url = urls["gateway"].replace("http://", "ws://") + "/graphql"
    clients = Clients()
    await clients.start(
        ws_url,
        FAN_OUT,
        [document] * args.subscribers,
        args.processes,
        1,
        "fan",
    )
    sent: dict[str, int] = {}
    lost = 0
    async with httpx.AsyncClient(base_url=urls["gateway"], timeout=60) as client:

        async def post(n: int) -> str:
            body = {
                "code": DOCUMENT,
                "name": "Contrato",
                "status": "NOTIFICATION",
                "signer": {"id": f"bench-signer-{n}"},
            }
            event = f"AUCO:{DOCUMENT}:NOTIFICATION:bench-signer-{n}"
            sent[event] = time.monotonic_ns()
            answer = await client.post(
                "/webhooks/auco", json=body, headers={AUCO_HEADER: AUCO_SECRET}
            )
            answer.raise_for_status()
            return event

        # Until one event reaches every subscriber: all of them listen.
        warmups: set[str] = set()
        while True:
            warm = await post(-1 - len(warmups))
            warmups.add(warm)
            if await clients.everyone_has(warm, 30):
                break
            if len(warmups) >= 10:
                raise RuntimeError("the subscribers never all listened")
        started = time.monotonic()
        for n in range(args.events):
            event = await post(n)
            if not await clients.everyone_has(event, 120):
                lost += 1
        elapsed = time.monotonic() - started
    reports = await clients.stop()
    latencies: list[float] = []
    received = 0
    for report in reports:
        for event, stamps in report.items():
            if event in sent and event not in warmups:
                received += len(stamps)
                latencies.extend((t - sent[event]) / 1e6 for t in stamps)
    return {
        "subscribers": args.subscribers,
        "client_processes": len(clients.procs),
        "events": args.events,
        "deliveries": received,
        "expected_deliveries": args.subscribers * args.events,
        "events_not_everywhere": lost,
        "p50_ms": round(percentile(latencies, 0.50), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "seconds_for_events": round(elapsed, 1),
        "warmup_events": len(warmups),
        "problems": clients.problems[:5],
    }


async def polling(urls: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    from adapters.model import Provider
    from schema import ids as global_ids

    keys: list[str] = json.loads(Path(urls["ids"]).read_text("utf-8"))
    apps = [global_ids.encode("Application", Provider.APITURE, k) for k in keys]
    ws_url = urls["gateway"].replace("http://", "ws://") + "/graphql"
    clients = Clients()
    async with httpx.AsyncClient(base_url=urls["apiture"], timeout=30) as sandbox:
        await sandbox.post("/_bench/reset")
        # Each record twice, on different connections (and token subjects).
        await clients.start(ws_url, WATCH, apps + apps, args.processes, 10, "watch")
        # The subscription checks and each poller's first read (plain GETs: the
        # ETag), then polling at its steady rate: the window starts once the
        # plain reads have stopped (unchanged for 3 s, at least one a record).
        seen, steady = -1, 0
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and steady < 3:
            await asyncio.sleep(1)
            counts = (await sandbox.get("/_bench/counts")).json()
            plain = counts.get("GET 200 plain", 0)
            steady = steady + 1 if plain == seen and plain >= len(apps) else 0
            seen = plain
        setup = (await sandbox.get("/_bench/counts")).json()
        await sandbox.post("/_bench/reset")
        await asyncio.sleep(args.window)
        window = (await sandbox.get("/_bench/counts")).json()
    await clients.stop()
    gets = sum(n for k, n in window.items() if k.startswith("GET "))
    not_modified = window.get("GET 304 conditional", 0)
    return {
        "watched_records": len(apps),
        "subscriptions": 2 * len(apps),
        "window_seconds": args.window,
        "answers_in_window": window,
        "polls_per_minute": round(gets * 60 / args.window),
        "share_304": round(not_modified / gets, 3) if gets else None,
        "setup_answers": setup,
        "without_budget_per_minute": round(len(apps) * 60 / args.poll_interval),
        "budget_per_minute": args.poll_budget,
        "problems": clients.problems[:5],
    }


async def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_before": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }
    if not args.skip_fan_out:
        with stack(work, args) as urls:
            print(
                f"  fan-out: {args.subscribers} WebSocket subscribers over "
                f"{args.processes} processes, {args.events} webhooks …",
                flush=True,
            )
            results["fan_out"] = await fan_out(urls, args)
    if not args.skip_polling:
        with stack(work, args) as urls:
            print(
                f"  polling: {args.watched} watched Apiture applications, "
                f"{args.window:.0f} s window …",
                flush=True,
            )
            results["polling"] = await polling(urls, args)
    results["loadavg_after"] = os.getloadavg()[0]
    return results


def summary(results: dict[str, Any]) -> str:
    lines = ["Live status (loaded machine: other work shared its 2 cores)", ""]
    fan = results.get("fan_out")
    if fan:
        lines += [
            f"- fan-out to {fan['subscribers']} WebSocket subscribers "
            f"({fan['client_processes']} client processes), {fan['events']} Auco "
            f"webhooks: p50 {fan['p50_ms']} ms, p99 {fan['p99_ms']} ms, max "
            f"{fan['max_ms']} ms from the webhook POST to each subscriber's receipt; "
            f"{fan['deliveries']}/{fan['expected_deliveries']} deliveries",
        ]
    poll = results.get("polling")
    if poll:
        lines += [
            f"- {poll['watched_records']} watched Apiture applications that do not "
            f"change ({poll['subscriptions']} subscriptions): "
            f"{poll['polls_per_minute']} upstream polls a minute at the sandbox "
            f"(share of 304: {poll['share_304']}; budget "
            f"{poll['budget_per_minute']}/min, {poll['without_budget_per_minute']}"
            f"/min without it); answers in the {poll['window_seconds']} s window: "
            f"{poll['answers_in_window']}",
        ]
    lines.append(
        f"- load average before {results['loadavg_before']:.2f}, after "
        f"{results['loadavg_after']:.2f}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.live")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--watched", type=int, default=1000)
    parser.add_argument("--window", type=float, default=30.0, help="seconds")
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--latency", type=float, default=0.02, help="Apiture, s")
    parser.add_argument("--skip-fan-out", action="store_true")
    parser.add_argument("--skip-polling", action="store_true")
    parser.add_argument("--output", default=str(ROOT / "bench-results"))
    args = parser.parse_args(argv)
    # The gateway's defaults (gateway/settings.py), for the report.
    args.poll_interval, args.poll_budget = 5.0, 1200
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "apiture":
        sub = argparse.ArgumentParser()
        for name in ("--port", "--applications"):
            sub.add_argument(name, type=int, required=True)
        sub.add_argument("--latency", type=float, default=0.0)
        sub.add_argument("--ids", required=True)
        a = sub.parse_args(argv[1:])
        serve_apiture(a.port, a.applications, a.latency, Path(a.ids))
        return 0
    if argv and argv[0] == "subscribers":
        sub = argparse.ArgumentParser()
        for name in ("--url", "--query", "--ids", "--name"):
            sub.add_argument(name, required=True)
        sub.add_argument("--per-connection", type=int, default=1)
        a = sub.parse_args(argv[1:])
        ids = json.loads(a.ids)
        asyncio.run(subscribe_many(a.url, a.query, ids, a.per_connection, a.name))
        return 0
    args = parse_args(argv)
    output = Path(args.output)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = output / f"live-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    print(f"live status benchmark (logs in {work})", flush=True)
    results = asyncio.run(measure(args, work))
    path = output / f"live-{stamp}.json"
    path.write_text(json.dumps(results, indent=2), "utf-8")
    print()
    print(summary(results))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
