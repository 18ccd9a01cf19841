"""The event bus behind one small interface.

``publish`` hands a change to every listener; ``listen`` opens a bounded queue of
changes for one consumer. In-process by default (``InProcessBus``); a bus shared by
several replicas implements the same two methods (and delivers each change to each
replica's listeners once).

A slow consumer never delays the others: each listener has its own bounded queue,
and a change that finds a listener's queue full is dropped for that listener only
and counted in ``Listener.dropped`` (the consumer can tell it missed something and
read the records again).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

from schema.live.events import Change


class Listener:
    """One consumer's bounded queue of changes; iterate it, ``close`` it when done."""

    def __init__(self, bus: InProcessBus, max_queued: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue(max_queued)
        self.dropped = 0
        self.closed = False

    def offer(self, change: Change) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            self.dropped += 1

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus.forget(self)
            # Wake a consumer waiting on an empty queue; a full one ends on its own.
            if not self._queue.full():
                self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Change]:
        while not self.closed or not self._queue.empty():
            change = await self._queue.get()
            if change is None:
                return
            yield change


class EventBus(Protocol):
    async def publish(self, change: Change) -> None: ...

    def listen(self, max_queued: int = 100) -> Listener: ...


class InProcessBus:
    """Every listener of this process gets every change published in it."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()

    async def publish(self, change: Change) -> None:
        for listener in tuple(self._listeners):
            listener.offer(change)

    def listen(self, max_queued: int = 100) -> Listener:
        listener = Listener(self, max_queued)
        self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)
