"""Conditional polling of Apiture applications: one poller per watched record
however many subscribers, a 304 while unchanged, a ``poll`` change when it
changes, stopped when nobody watches. Driven by a clock the test advances: calls
are counted, nothing is timed."""

from __future__ import annotations

import asyncio

from adapters.model import Provider
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes, create_upstreams
from schema import ids
from schema.live.events import Change
from schema.live.polling import Budget, Pollers


class Clock:
    """Pollers wait on it; ``tick`` lets each waiting one poll once more."""

    def __init__(self) -> None:
        self.waiting = 0
        self._turn = asyncio.Event()

    async def wait(self) -> None:
        self.waiting += 1
        turn = self._turn
        await turn.wait()

    async def tick(self, pollers: int) -> None:
        await self.until_waiting(pollers)
        turn, self._turn = self._turn, asyncio.Event()
        self.waiting = 0
        turn.set()
        await self.until_waiting(pollers)

    async def until_waiting(self, pollers: int) -> None:
        for _ in range(10_000):
            if self.waiting >= pollers:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"{self.waiting} pollers waiting, not {pollers}")


async def test_one_poller_per_record_304_while_unchanged_and_stops() -> None:
    settings = Settings()
    sandboxes = create_sandboxes(settings)
    upstreams = create_upstreams(settings, sandboxes)
    apiture = sandboxes[Provider.APITURE]
    store = apiture.store
    key = store.ids_in_state("running")[0]
    gid = ids.GlobalId("Application", Provider.APITURE, key)
    published: list[Change] = []

    async def publish(change: Change) -> None:
        published.append(change)

    # What each read answered: None is a 304 (unchanged, no body).
    answers: list[str | None] = []
    read = upstreams.apiture.application_if_changed

    async def spied(key: str, etag: str | None) -> object:
        found = await read(key, etag)
        answers.append(found.state.name if found else None)
        return found

    upstreams.apiture.application_if_changed = spied  # type: ignore[method-assign,assignment]
    clock = Clock()
    pollers = Pollers(upstreams.apiture, publish, wait=clock.wait)
    path = f"/accountApplications/applications/{key}"
    try:
        with pollers.watch(gid), pollers.watch(gid), pollers.watch(gid):
            assert pollers.watched == 1
            await clock.until_waiting(1)  # the first read: the ETag, no event
            for _ in range(3):
                await clock.tick(1)
            gets = [r for r in apiture.control.requests if r.path == path]
            assert len(gets) == 4  # one a round, not one per subscriber
            assert [r.headers.get("if-none-match") is not None for r in gets] == [
                False,
                True,
                True,
                True,
            ]
            assert answers == ["RUNNING", None, None, None]
            assert pollers.polls == 4 and published == []
            store.set_application_state(key, "blocked")
            await clock.tick(1)
            assert [(c.cause, c.key, c.state, c.previous_state) for c in published] == [
                ("poll", key, "BLOCKED", "RUNNING")
            ]
        assert pollers.watched == 0
        await asyncio.sleep(0)
        calls = pollers.polls
        await asyncio.sleep(0)
        assert pollers.polls == calls  # stopped: no more reads
    finally:
        await upstreams.aclose()


async def test_the_budget_skips_polls_beyond_it() -> None:
    now = [0.0]
    budget = Budget(2, clock=lambda: now[0])
    assert [budget.take() for _ in range(3)] == [True, True, False]
    now[0] += 30.0  # half a minute: one more read
    assert [budget.take(), budget.take()] == [True, False]
