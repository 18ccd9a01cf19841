"""Counting the event loop's iterations, for tests of what happens per turn."""

from __future__ import annotations

import asyncio


class Iterations:
    """Counts the running loop's iterations from now on: a callback that
    schedules itself again runs once per iteration (``call_soon`` from a
    callback runs in the next one)."""

    def __init__(self) -> None:
        self.count = 0
        self._stopped = False
        asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        if not self._stopped:
            self.count += 1
            asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._stopped = True
