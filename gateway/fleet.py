"""``gateway fleet --replicas N``: a fleet on one machine, as a bank would run several.

Started, each its own process group, and stopped together on Ctrl-C or SIGTERM:

1. Redis: ``GATEWAY_REDIS_URL`` if set, else Debian's ``redis-server`` on a free
   loopback port (nothing saved to disk); ``--no-redis`` runs without (each
   replica its own limits: to compare).
2. The four sandboxes, once, each ``gateway sandbox --provider P`` on a free
   port, unless the environment configures the providers (``GATEWAY_*_URL``):
   every replica talks to the same sandboxes, as replicas share real providers.
3. N replicas, ``gateway serve`` on free ports, with the environment passed on
   (configuration only from the environment, as in Kubernetes). Because the
   providers are then "configured", authentication is required: without
   ``GATEWAY_AUTH_JWT_SECRET`` a random secret is made and a development token
   for it printed.
4. The load balancer (:mod:`gateway.balancer`) on ``--port`` (8000), round robin
   over the replicas that answer ``/readyz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
import jwt

from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from adapters.model import Provider
from gateway.balancer import Balancer

CLI = [sys.executable, "-m", "gateway.cli"]
SANDBOX_PATHS = {
    Provider.APITURE: "/accountApplications",
    Provider.CONNECTFI: "",
    Provider.AUCO: "/v1.5/ext",
    Provider.MAMBU: "",
}
SANDBOX_CREDENTIALS = {
    "GATEWAY_APITURE_API_KEY": DEMO_API_KEY,
    "GATEWAY_APITURE_ACCESS_TOKEN": DEMO_ACCESS_TOKEN,
    "GATEWAY_CONNECTFI_LOGIN": "sandbox",
    "GATEWAY_CONNECTFI_PASSWORD": "sandbox",
    "GATEWAY_AUCO_PRIVATE_KEY": "prk_sandbox",
    "GATEWAY_AUCO_PUBLIC_KEY": "puk_sandbox",
    "GATEWAY_MAMBU_USERNAME": "sandbox",
    "GATEWAY_MAMBU_PASSWORD": "sandbox",
}


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Fleet:
    replicas: int
    host: str = "127.0.0.1"
    port: int = 8000
    redis: bool = True
    sandbox_latency: float = 0.0
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    backends: list[tuple[str, int]] = field(default_factory=list)
    token: str | None = None

    def start_processes(self) -> dict[str, str]:
        """Redis, sandboxes and replicas; answers the replicas' environment."""
        env = dict(self.env)
        if self.redis and not env.get("GATEWAY_REDIS_URL"):
            env["GATEWAY_REDIS_URL"] = self._redis()
        if not self.redis:
            env.pop("GATEWAY_REDIS_URL", None)
        configured = any(env.get(f"GATEWAY_{p.name}_URL") for p in Provider)
        if not configured:
            env.update(self._sandboxes())
        if not env.get("GATEWAY_AUTH_JWT_SECRET") and not env.get(
            "GATEWAY_AUTH_JWKS_URL"
        ):
            secret = secrets.token_urlsafe(32)
            env["GATEWAY_AUTH_JWT_SECRET"] = secret
            claims = {
                "sub": "developer",
                "roles": ["staff"],
                "exp": int(time.time()) + 86_400,
            }
            self.token = jwt.encode(claims, secret, algorithm="HS256")
        for _ in range(self.replicas):
            port = free_port(self.host)
            self._spawn([*CLI, "serve", "--host", self.host, "--port", str(port)], env)
            self.backends.append((self.host, port))
        for host, port in self.backends:
            _wait_for(f"http://{host}:{port}/readyz", self.processes)
        return env

    def _redis(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is missing: apt-get install redis-server")
        port = free_port(self.host)
        directory = tempfile.mkdtemp(prefix="gateway-fleet-redis-")
        self._spawn(
            [
                binary,
                "--bind",
                self.host,
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
                "--loglevel",
                "warning",
            ],
            self.env,
        )
        return f"redis://{self.host}:{port}/0"

    def _sandboxes(self) -> dict[str, str]:
        env = dict(SANDBOX_CREDENTIALS)
        bases = []
        for provider in Provider:
            port = free_port(self.host)
            self._spawn(
                [
                    *CLI,
                    "sandbox",
                    "--provider",
                    provider.value,
                    "--port",
                    str(port),
                    "--host",
                    self.host,
                    "--latency",
                    str(self.sandbox_latency),
                ],
                self.env,
            )
            base = f"http://{self.host}:{port}"
            env[f"GATEWAY_{provider.name}_URL"] = base + SANDBOX_PATHS[provider]
            bases.append(base)
        for base in bases:
            _wait_for(base + "/_sandbox/calls", self.processes)
        return env

    def _spawn(self, command: list[str], env: Mapping[str, str]) -> None:
        self.processes.append(
            subprocess.Popen(command, env=dict(env), start_new_session=True)
        )

    def stop(self, grace: float = 35.0) -> None:
        """SIGTERM everything (the replicas drain), SIGKILL after ``grace``."""
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in reversed(self.processes):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_for(url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            sys.exit(f"a process of the fleet exited before {url} answered")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit(f"{url} did not answer within 90 s")


async def _balance(fleet: Fleet) -> None:
    balancer = Balancer(fleet.backends)
    port = await balancer.start(fleet.host, fleet.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"Fleet of {fleet.replicas} on http://{fleet.host}:{port}/graphql "
        f"(replicas on ports {', '.join(str(p) for _, p in fleet.backends)})",
        file=sys.stderr,
        flush=True,
    )
    if fleet.token is not None:
        print(
            f"Authorization: Bearer {fleet.token}",
            file=sys.stderr,
            flush=True,
        )
    await stop.wait()
    await balancer.close()


def run(fleet: Fleet) -> None:
    try:
        fleet.start_processes()
        asyncio.run(_balance(fleet))
    finally:
        print("stopping the fleet", file=sys.stderr, flush=True)
        fleet.stop()
