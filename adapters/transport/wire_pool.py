"""Keep-alive connections of :mod:`adapters.transport.wire`, per origin (scheme,
host, port), ``max_connections`` open at most in all.

A kept-alive connection is taken again only if the server has not closed it
(``connection_lost`` seen, or ``transport.is_closing()``: the loss not yet
delivered), nothing arrived while it sat idle, and it is younger than
``keepalive_expiry`` since its last answer; otherwise it is closed and another
one used, before anything is written on it. The most recently used is taken
first. Waiting for a free connection counts against the pool timeout
(``PoolTimeout``); a connection freed goes straight to the first waiter for its
origin. Idle connections past their expiry are closed by one timer for the
pool, not one per connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

import httpx

from adapters.transport.wire import Connection, Origin


class Pool:
    """Connections per origin, ``max_connections`` open at most in all; waiting
    for one counts against the pool timeout."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        max_connections: int,
        keepalive_expiry: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.loop = loop
        self.max_connections = max_connections
        self.keepalive_expiry = keepalive_expiry
        self.idle: dict[Origin, list[Connection]] = {}
        self.connections: set[Connection] = set()
        self.opened = 0  # connecting or connected, until connection_lost
        self.waiters: deque[tuple[Origin, asyncio.Future[Connection | None]]] = deque()
        self.sweep: asyncio.TimerHandle | None = None
        self._ssl = tls

    def ssl_context(self) -> ssl.SSLContext:
        """The one given, or the system's trust store, made once: building a
        context costs milliseconds."""
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def acquire(
        self,
        origin: Origin,
        request: httpx.Request,
        connect_timeout: float | None,
        pool_timeout: float | None,
    ) -> Connection:
        idle = self.idle.get(origin)
        if idle:
            now = self.loop.time()
            while idle:
                conn = idle.pop()  # the most recently used first
                if conn.usable(now):
                    return conn
                conn.abort()
        if self.opened < self.max_connections:
            self.opened += 1
            return await self._connect(origin, request, connect_timeout)
        waiting: asyncio.Future[Connection | None] = self.loop.create_future()
        self.waiters.append((origin, waiting))
        try:
            async with asyncio.timeout(pool_timeout):
                handed = await waiting
        except BaseException as exc:
            self._withdraw(origin, waiting)
            if isinstance(exc, TimeoutError):
                message = "no free connection within the pool timeout"
                raise httpx.PoolTimeout(message, request=request) from None
            raise
        if handed is not None:
            return handed
        return await self._connect(origin, request, connect_timeout)  # a slot freed

    def _withdraw(
        self, origin: Origin, waiting: asyncio.Future[Connection | None]
    ) -> None:
        """A waiter gone (timed out, cancelled): what it was handed goes back."""
        if (origin, waiting) in self.waiters:
            self.waiters.remove((origin, waiting))
        if waiting.done() and not waiting.cancelled():
            handed = waiting.result()
            if handed is None:
                self.opened -= 1
                self._wake()
            else:
                self.release(handed)

    async def _connect(
        self, origin: Origin, request: httpx.Request, timeout: float | None
    ) -> Connection:
        scheme, host, port = origin
        conn = Connection(self, origin)
        tls = self.ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                await self.loop.create_connection(
                    lambda: conn,
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
        except BaseException as exc:
            if conn.transport is None:
                self.opened -= 1
                self._wake()
            else:
                conn.abort()
            message = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, TimeoutError):  # before OSError: it is one
                raise httpx.ConnectTimeout(message, request=request) from exc
            if isinstance(exc, OSError):  # refused, DNS, TLS
                raise httpx.ConnectError(message, request=request) from exc
            raise
        return conn

    def release(self, conn: Connection) -> None:
        """Back to the pool after a whole answer, or closed if it cannot serve
        another."""
        if not conn.alive():
            conn.abort()
            return
        conn.reset()
        conn.expires = self.loop.time() + self.keepalive_expiry
        for n, (origin, waiting) in enumerate(self.waiters):
            if origin == conn.origin and not waiting.done():
                del self.waiters[n]
                waiting.set_result(conn)
                return
        if self.waiters:  # all wait for other origins: free the slot for them
            conn.abort()
            return
        self.idle.setdefault(conn.origin, []).append(conn)
        if self.sweep is None:
            self.sweep = self.loop.call_at(conn.expires, self._sweep)

    def adopt(self, conn: Connection) -> None:
        self.connections.add(conn)

    def forget(self, conn: Connection) -> None:
        """``conn`` is closed: its slot is free."""
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        idle = self.idle.get(conn.origin)
        if idle and conn in idle:
            idle.remove(conn)
        self.opened -= 1
        self._wake()

    def _wake(self) -> None:
        while self.waiters and self.opened < self.max_connections:
            _, waiting = self.waiters.popleft()
            if not waiting.done():
                self.opened += 1
                waiting.set_result(None)

    def _sweep(self) -> None:
        """Close connections idle past ``keepalive_expiry``."""
        self.sweep = None
        now = self.loop.time()
        due: float | None = None
        for idle in self.idle.values():
            for conn in list(idle):
                if conn.usable(now):
                    due = conn.expires if due is None else min(due, conn.expires)
                else:
                    idle.remove(conn)
                    conn.abort()
        if due is not None:
            self.sweep = self.loop.call_at(due, self._sweep)

    def close(self) -> None:
        if self.sweep is not None:
            self.sweep.cancel()
            self.sweep = None
        for conn in list(self.connections):
            conn.reusable = False
            if conn.transport is not None:
                conn.transport.close()
        self.idle.clear()
