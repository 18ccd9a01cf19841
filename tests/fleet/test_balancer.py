"""The fleet's load balancer: round robin over the ready replicas only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from gateway.balancer import Balancer


@asynccontextmanager
async def backend(name: str, ready: list[bool]) -> AsyncIterator[tuple[str, int]]:
    """A minimal HTTP/1.1 server: ``/readyz`` as ``ready[0]`` says, else its name."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            path = line.split()[1].decode() if len(line.split()) > 1 else ""
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            status = 200 if path != "/readyz" or ready[0] else 503
            body = name.encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield ("127.0.0.1", server.sockets[0].getsockname()[1])
    finally:
        server.close()


async def test_connections_go_round_robin_to_ready_replicas_only() -> None:
    a_ready, b_ready = [True], [True]
    async with backend("a", a_ready) as a, backend("b", b_ready) as b:
        balancer = Balancer([a, b], interval=3600)  # checked by hand below
        port = await balancer.start("127.0.0.1", 0)
        try:

            async def names(count: int) -> list[str]:
                found = []
                for _ in range(count):  # a new connection each time
                    async with httpx.AsyncClient() as client:
                        answer = await client.get(f"http://127.0.0.1:{port}/x")
                        found.append(answer.text)
                return found

            assert sorted(await names(4)) == ["a", "a", "b", "b"]
            b_ready[0] = False  # b drains
            await balancer.check()
            assert await names(3) == ["a", "a", "a"]
            assert balancer.connections == 7 and balancer.refused == 0
        finally:
            await balancer.close()
