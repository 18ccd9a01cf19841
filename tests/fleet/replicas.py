"""Two gateway processes sharing one Redis and one set of sandboxes.

The sandboxes run in a process of their own (``tests.fleet.sandboxes``) so both
replicas call the same upstreams, and the tests count those calls there
(``GET /_sandbox/calls``). Each replica is ``gateway serve`` on a free port,
configured only from the environment, as in a deployment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from adapters.apiture import sandbox as apiture_sandbox
from adapters.apiture.sandbox.guard import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from adapters.auco import sandbox as auco_sandbox
from adapters.connectfi import sandbox as connectfi_sandbox
from adapters.mambu import sandbox as mambu_sandbox
from adapters.model import Provider
from benchmarks import processes
from tests.security.tokens import AUDIENCE, ISSUER, SECRET, bearer, token

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_TOKEN = "fleet-connectfi-webhook-token-0123456789"
STAFF = bearer(token("fleet-staff", roles=["staff"], expires_in=3600))


@dataclass
class Fleet:
    sandboxes: dict[Provider, str]  # provider -> base URL
    replicas: list[str]  # base URLs of the gateways

    def calls(self, provider: Provider, route: str | None = None) -> int:
        """Calls the sandbox received: all, or of one ``METHOD path``."""
        found = httpx.get(self.sandboxes[provider] + "/_sandbox/calls").json()
        if route is None:
            return int(found["total"])
        return int(found["routes"].get(route, 0))

    def routes(self, provider: Provider) -> dict[str, int]:
        found = httpx.get(self.sandboxes[provider] + "/_sandbox/calls").json()
        return dict(found["routes"])

    def seed_running(self, count: int) -> list[str]:
        answer = httpx.post(
            self.sandboxes[Provider.APITURE] + "/_sandbox/seed/applications",
            json={"count": count},
        )
        answer.raise_for_status()
        ids: list[str] = answer.json()
        return ids


def environment(redis_url: str, sandboxes: dict[Provider, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    values: dict[str, Any] = {
        "REDIS_URL": redis_url,
        "APITURE_URL": sandboxes[Provider.APITURE] + apiture_sandbox.BASE_PATH,
        "APITURE_API_KEY": DEMO_API_KEY,
        "APITURE_ACCESS_TOKEN": DEMO_ACCESS_TOKEN,
        "CONNECTFI_URL": sandboxes[Provider.CONNECTFI] + connectfi_sandbox.BASE_PATH,
        "CONNECTFI_LOGIN": "sandbox",
        "CONNECTFI_PASSWORD": "sandbox",
        "AUCO_URL": sandboxes[Provider.AUCO] + auco_sandbox.BASE_PATH,
        "AUCO_PRIVATE_KEY": "prk_sandbox",
        "AUCO_PUBLIC_KEY": "puk_sandbox",
        "MAMBU_URL": sandboxes[Provider.MAMBU] + mambu_sandbox.BASE_PATH,
        "MAMBU_USERNAME": "sandbox",
        "MAMBU_PASSWORD": "sandbox",
        "AUTH_JWT_SECRET": SECRET,
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "CONNECTFI_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "AUCO_WEBHOOK_SECRET": "fleet-auco-webhook-secret",
        "REDIS_TIMEOUT": "0.5",
    }
    env.update({f"GATEWAY_{k}": str(v) for k, v in values.items()})
    return env


def running_fleet(redis_url: str, logs: Path, replicas: int = 2) -> Iterator[Fleet]:
    started: list[processes.Started] = []
    try:
        ports = [processes.free_port() for _ in Provider]
        sandboxes = {
            p: f"http://127.0.0.1:{port}"
            for p, port in zip(Provider, ports, strict=True)
        }
        upstream = processes.start(
            "sandboxes",
            [sys.executable, "-m", "tests.fleet.sandboxes", *map(str, ports)],
            log=logs / "sandboxes.log",
            env={k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")},
            cwd=ROOT,
        )
        started.append(upstream)
        env = environment(redis_url, sandboxes)
        urls = []
        for n in range(replicas):
            port = processes.free_port()
            urls.append(f"http://127.0.0.1:{port}")
            started.append(
                processes.start(
                    f"replica {n}",
                    [
                        sys.executable,
                        "-m",
                        "gateway.cli",
                        "serve",
                        "--host=127.0.0.1",
                        f"--port={port}",
                    ],
                    log=logs / f"replica{n}.log",
                    env=env,
                    cwd=ROOT,
                )
            )
        for provider in Provider:
            processes.wait_until_ready(
                upstream, sandboxes[provider] + "/_sandbox/calls"
            )
        for replica, url in zip(started[1:], urls, strict=True):
            processes.wait_until_ready(replica, url + "/healthz")
        yield Fleet(sandboxes, urls)
    finally:
        processes.stop(started)
