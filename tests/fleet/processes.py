"""Gateway replicas as real uvicorn processes (``gateway serve``) on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


class Replica:
    """One ``gateway serve`` process; its log (stderr) in a temporary file."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop)
            prefix="gateway-replica-", suffix=".log"
        )
        clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env={**clean, **env},
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"replica exited: {self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"replica not ready in {timeout} s: {self.log()}")

    def log(self) -> str:
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._log.close()


def replicas(count: int, env: Mapping[str, str]) -> list[Replica]:
    """``count`` replicas started together, each ready."""
    started = [Replica(env) for _ in range(count)]
    try:
        for replica in started:
            replica.wait_ready()
    except BaseException:
        for replica in started:
            replica.stop()
        raise
    return started
