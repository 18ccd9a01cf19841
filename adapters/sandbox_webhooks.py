"""How a provider sandbox delivers its webhooks: in order, with the provider's retries.

``WebhookSender.send(url, body, headers)`` queues one delivery. One worker posts the
first attempts in the order they were queued (so a test sees a document's events in
the order they happened); a delivery that does not get a 2xx is retried on its own
after each delay of ``schedule`` (seconds, multiplied by ``time_factor`` so that tests
and demos compress it), with the same body, and dropped after the last one. Every
attempt is recorded in ``attempts`` (URL, body, status or None for a transport
error) so tests count them instead of timing them.

``transport`` decides where the posts go: a real network client by default, or
``httpx.ASGITransport(app=gateway)`` to deliver to the gateway in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger("gateway.sandbox.webhooks")


@dataclass(frozen=True)
class Attempt:
    url: str
    body: bytes
    status: int | None  # None: no answer (connection error, timeout)
    number: int  # 0 for the first attempt, 1.. for the retries


@dataclass(frozen=True)
class _Delivery:
    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...]


class WebhookSender:
    def __init__(
        self,
        *,
        schedule: Sequence[float] = (),
        time_factor: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.schedule = tuple(schedule)
        self.time_factor = time_factor
        self.transport = transport
        self.timeout = timeout
        self.attempts: list[Attempt] = []
        self._queue: asyncio.Queue[_Delivery] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._retries: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def send(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        """Queue a delivery; needs a running event loop (a sandbox route's)."""
        if self._queue is None:
            self._queue = asyncio.Queue()
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._queue.put_nowait(_Delivery(url, payload, tuple(headers.items())))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def drain(self) -> None:
        """Wait until every queued delivery and every scheduled retry has ended."""
        while True:
            if self._queue is not None:
                await self._queue.join()
            if not self._retries:
                return
            await asyncio.gather(*tuple(self._retries), return_exceptions=True)

    async def aclose(self) -> None:
        for task in (self._worker, *self._retries):
            if task is not None:
                task.cancel()
        for task in (self._worker, *tuple(self._retries)):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._worker = None
        self._retries.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self.transport, timeout=self.timeout, trust_env=False
            )
        return self._client

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            delivery = await self._queue.get()
            try:
                if not await self._attempt(delivery, 0) and self.schedule:
                    task = asyncio.get_running_loop().create_task(self._retry(delivery))
                    self._retries.add(task)
                    task.add_done_callback(self._retries.discard)
            finally:
                self._queue.task_done()

    async def _retry(self, delivery: _Delivery) -> None:
        for number, delay in enumerate(self.schedule, start=1):
            await asyncio.sleep(delay * self.time_factor)
            if await self._attempt(delivery, number):
                return
        log.info(
            "webhook to %s dropped after %d attempts",
            delivery.url,
            len(self.schedule) + 1,
        )

    async def _attempt(self, delivery: _Delivery, number: int) -> bool:
        status: int | None = None
        try:
            response = await self._http().post(
                delivery.url,
                content=delivery.body,
                headers={"content-type": "application/json", **dict(delivery.headers)},
            )
            status = response.status_code
        except Exception as exc:  # no answer, whatever the transport raised
            log.info("webhook to %s failed: %s", delivery.url, type(exc).__name__)
        self.attempts.append(Attempt(delivery.url, delivery.body, status, number))
        return status is not None and 200 <= status < 300
