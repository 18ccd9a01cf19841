"""``/readyz`` and ``/livez``: may this replica take traffic; is it alive at all.

``/healthz`` stays what it was (a plain "ok" with the sandboxes' names). For an
orchestrator or load balancer:

- ``/readyz`` answers ``503`` while the app is **starting** (before the lifespan's
  start-up has finished: the upstream clients do not exist yet), while it is
  **draining** (from the moment SIGTERM arrives), and while **every provider's
  breaker is open** and cooling down (no request could be served; one provider
  down costs only its own fields, so that alone is not a reason to leave the
  pool). When a cool-down ends the replica is ready again, so that traffic
  brings the probe that can close the breaker. Otherwise ``200``.
- ``/livez`` answers ``503`` only when the event loop is wedged: a watchdog task
  ticks every second, and a tick older than ``GATEWAY_LIVENESS_STALL`` seconds
  (the loop blocked, or the watchdog dead) fails it. A loop blocked for good
  answers nothing at all, which a probe's timeout counts as a failure too.
  Nothing a provider or Redis does can fail it: restarting a replica does not
  mend a provider.

Graceful shutdown (:func:`drain_on_sigterm`): on SIGTERM ``/readyz`` turns
``503`` at once; the server keeps serving for ``GATEWAY_SHUTDOWN_DRAIN``
seconds (time for the load balancer to see it and send no new requests), then
hands the signal to uvicorn, which stops accepting and lets in-flight requests
finish for up to ``GATEWAY_SHUTDOWN_GRACE`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from adapters.transport.breaker import CircuitBreaker

log = logging.getLogger("gateway.health")

TICK = 1.0  # seconds between two watchdog ticks


class Health:
    """The replica's state, as the probes read it."""

    def __init__(
        self, *, stall: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stall = stall
        self._clock = clock
        self.started = False
        self.draining = False
        self.last_tick = clock()
        self.breakers: Iterable[CircuitBreaker] = ()
        self._watchdog: asyncio.Task[None] | None = None

    def readiness(self) -> tuple[bool, str]:
        if not self.started:
            return False, "starting"
        if self.draining:
            return False, "draining"
        breakers = list(self.breakers)
        # Open and cooling down: once a cool-down ends a probe may pass, so the
        # replica takes traffic again (nothing else would close its breakers).
        if breakers and all(b.refusing for b in breakers):
            return False, "every provider's circuit is open"
        return True, "ready"

    def liveness(self) -> tuple[bool, str]:
        stalled = self._clock() - self.last_tick
        if stalled > self.stall:
            return False, f"no watchdog tick for {stalled:.1f} s"
        return True, "alive"

    def start_watchdog(self) -> None:
        self.last_tick = self._clock()
        self._watchdog = asyncio.ensure_future(self._tick())

    async def stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None

    async def _tick(self) -> None:
        while True:
            self.last_tick = self._clock()
            await asyncio.sleep(TICK)


Handler = Callable[[int, FrameType | None], Any] | int | None


def drain_on_sigterm(health: Health, delay: float) -> Callable[[], None]:
    """On SIGTERM: not ready at once, then (after ``delay``) uvicorn's own exit.

    Wraps whichever SIGTERM handler is installed (uvicorn's, in a worker too);
    answers the function that puts it back. Outside the main thread (a test's
    app) signals cannot be handled: nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: Handler = signal.getsignal(signal.SIGTERM)

    def forward(sig: int, frame: FrameType | None) -> None:
        if callable(previous):
            previous(sig, frame)
        else:  # no handler of the server's: exit as SIGTERM would
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        if health.draining:
            return
        health.draining = True
        log.warning("SIGTERM: draining (not ready), stopping in %.1f s", delay)
        if delay > 0:
            loop.call_soon_threadsafe(loop.call_later, delay, forward, sig, None)
        else:
            forward(sig, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore
