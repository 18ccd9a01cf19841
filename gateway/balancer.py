"""A small TCP load balancer for ``gateway fleet``: round robin over the ready replicas.

Why our own: none of the load balancers Debian packages (HAProxy, nginx) is
installed here or needed by anything else in the project, and ``make fleet``
should start with what ``make run`` needs. This is a layer-4 proxy, as a
Kubernetes Service is: each client connection goes to the next replica that is
ready, and its bytes are copied both ways untouched (keep-alive, WebSockets and
Server-Sent Events included). It asks each replica's ``/readyz`` every
``interval`` seconds and sends new connections only to those answering 200, so a
draining replica (SIGTERM) gets no new connection while it finishes its own.

Not for production: a real load balancer (or the platform's) does TLS, health
checks with thresholds, connection limits and per-request balancing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Sequence

import httpx

log = logging.getLogger("gateway.balancer")

CHUNK = 64 * 1024


class Balancer:
    """Listens on ``host:port``; forwards each connection to a ready backend."""

    def __init__(
        self, backends: Sequence[tuple[str, int]], *, interval: float = 1.0
    ) -> None:
        self.backends = list(backends)
        self.ready: set[tuple[str, int]] = set()
        self.interval = interval
        self.connections = 0  # accepted, for the curious
        self.refused = 0  # no ready backend could take it
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None
        self._checker: asyncio.Task[None] | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        """Start listening; answers the port (``port`` 0: a free one)."""
        await self.check()
        self._checker = asyncio.ensure_future(self._check_forever())
        self._server = await asyncio.start_server(self._serve, host, port)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._pipes):
            task.cancel()

    async def check(self) -> None:
        async with httpx.AsyncClient(timeout=max(self.interval, 0.5)) as client:
            answers = await asyncio.gather(
                *(self._ready(client, b) for b in self.backends)
            )
        self.ready = {b for b, ok in zip(self.backends, answers, strict=True) if ok}

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.check()

    @staticmethod
    async def _ready(client: httpx.AsyncClient, backend: tuple[str, int]) -> bool:
        host, port = backend
        try:
            answer = await client.get(f"http://{host}:{port}/readyz")
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def _order(self) -> list[tuple[str, int]]:
        """The backends from the next one's turn on, ready ones first."""
        start = next(self._turn) % len(self.backends)
        turn = self.backends[start:] + self.backends[:start]
        return [b for b in turn if b in self.ready] + [
            b for b in turn if b not in self.ready
        ]

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        for host, port in self._order():
            try:
                up_reader, up_writer = await asyncio.open_connection(host, port)
            except OSError:
                continue
            break
        else:
            self.refused += 1
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._pipes.discard(task)
            for w in (writer, up_writer):
                w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()
