"""A gateway served by uvicorn on a free port, in the test's own event loop, and a
graphql-transport-ws client on the ``websockets`` package."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
import websockets
from fastapi import FastAPI

from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from gateway.app import create_app
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes
from schema.live.events import Change


@dataclass
class Served:
    app: FastAPI
    port: int
    sandboxes: dict[Provider, Controlled]

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    async def publish(self, change: Change) -> None:
        """As a webhook receiver does."""
        await self.app.state.events.publish(change)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Served]:
    sandboxes = create_sandboxes(settings)
    app = create_app(settings, sandboxes=sandboxes)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="websockets")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), "the gateway did not start"
            await asyncio.sleep(0.01)
        yield Served(app, port, sandboxes)
    finally:
        server.should_exit = True
        await task
        sock.close()


class Subscriber:
    """One graphql-transport-ws connection."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.ids = 0

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> str:
        self.ids += 1
        op = str(self.ids)
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": op, "type": "subscribe", "payload": payload})
        return op

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await self.connection.recv())
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message


@asynccontextmanager
async def connect(
    served: Served, payload: dict[str, Any] | None = None
) -> AsyncIterator[Subscriber]:
    async with websockets.connect(
        served.ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as connection:
        subscriber = Subscriber(connection)
        await subscriber.send({"type": "connection_init", "payload": payload or {}})
        ack = await subscriber.receive()
        assert ack["type"] == "connection_ack", ack
        yield subscriber


async def settle(served: Served, listeners: int) -> None:
    """Until ``listeners`` subscriptions listen on the bus (counted, not timed)."""
    for _ in range(10_000):
        if served.app.state.events.listeners == listeners:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"{served.app.state.events.listeners} listeners")
