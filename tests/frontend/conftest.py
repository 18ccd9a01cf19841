"""The real gateway on a loopback port, and Node scripts run against it.

These tests need Node with this folder's packages (`npm ci`, which `make test`
runs) and, for the browser test, Debian's Chromium (`.ci/run` installs it). On
a developer's machine without them they are skipped; under CI (CI=true) a
missing tool fails them, so CI always runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gateway.app import create_app
from gateway.settings import Settings

HERE = Path(__file__).parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def require(ok: bool, what: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: .ci/run must install it")
    pytest.skip(f"{what} is missing (`make test` installs the Node packages)")


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    require(path is not None, "node")
    assert path is not None
    version = subprocess.run(
        [path, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    major, minor = (int(n) for n in version.lstrip("v").split(".")[:2])
    # apollo-upload-client 19 and the File global the guide's uploads use.
    require((major, minor) >= (20, 9), f"Node 20.9 or later (found {version})")
    installed = all(
        (HERE / "node_modules" / name).is_dir()
        for name in ("graphql-http", "@apollo/client", "@graphql-codegen/cli")
    )
    require(installed, "tests/frontend npm ci")
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    require(Path(CHROMIUM).is_file(), f"Chromium ({CHROMIUM})")
    return CHROMIUM


@pytest.fixture(scope="session")
def served() -> Iterator[str]:
    """The gateway's /graphql URL, served by uvicorn in a background thread."""
    with serving(Settings()) as url:
        yield url


@pytest.fixture(scope="session")
def served_allowlist() -> Iterator[str]:
    """A gateway in the allowlist mode, with the committed manifest."""
    with serving(Settings(persisted_queries="allowlist")) as url:
        yield url


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """Serves ``settings``'s gateway on a free loopback port; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the gateway did not start"
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run_node(node: str, script: str, *args: str, timeout: float = 90) -> Any:
    """Runs a script of this folder and returns the JSON it prints."""
    done = subprocess.run(
        [node, str(HERE / script), *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.stdout.strip(), f"{script} printed nothing: {done.stderr}"
    result = json.loads(done.stdout)
    assert done.returncode == 0, f"{script} failed: {result} {done.stderr}"
    return result
