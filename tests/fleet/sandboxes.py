"""The four provider sandboxes in one process, each on the port given, as
``gateway sandbox`` serves them (counting calls, admin routes under /_sandbox/):
the upstreams shared by the fleet tests' two gateway processes.

    python -m tests.fleet.sandboxes APITURE_PORT CONNECTFI_PORT AUCO_PORT MAMBU_PORT
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn

from adapters.model import Provider
from gateway.cli import standalone_sandboxes


async def serve(ports: dict[Provider, int]) -> None:
    apps = standalone_sandboxes(0.0)
    servers = [
        uvicorn.Server(
            uvicorn.Config(apps[p], host="127.0.0.1", port=port, log_level="warning")
        )
        for p, port in ports.items()
    ]
    await asyncio.gather(*(s.serve() for s in servers))


if __name__ == "__main__":
    ports = dict(zip(Provider, (int(a) for a in sys.argv[1:5]), strict=True))
    asyncio.run(serve(ports))
