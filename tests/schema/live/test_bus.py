"""The in-process event bus: every listener gets every change, in order; a slow
listener's queue is bounded and costs no one else anything."""

from __future__ import annotations

import asyncio

from adapters.model import Provider
from schema.live.bus import InProcessBus
from schema.live.events import Change


def change(n: int) -> Change:
    return Change(
        kind="Document",
        provider=Provider.AUCO,
        key=f"DOC{n}",
        state="SIGNED",
        previous_state="AWAITING_SIGNATURE",
        cause="AUCO:FINISH",
        event_id=f"DOC{n}:FINISH",
    )


async def test_every_listener_gets_every_change_in_order() -> None:
    bus = InProcessBus()
    first, second = bus.listen(), bus.listen()
    for n in range(3):
        await bus.publish(change(n))
    first.close()
    second.close()
    got = [[c.key async for c in listener] for listener in (first, second)]
    assert got == [["DOC0", "DOC1", "DOC2"]] * 2
    assert bus.listeners == 0


async def test_a_full_queue_drops_for_that_listener_only() -> None:
    bus = InProcessBus()
    slow = bus.listen(max_queued=2)  # never read while changes arrive
    fast = bus.listen(max_queued=100)
    received: list[str] = []

    async def consume() -> None:
        async for c in fast:
            received.append(c.key)

    task = asyncio.ensure_future(consume())
    for n in range(10):
        await bus.publish(change(n))
        await asyncio.sleep(0)
    fast.close()
    await task
    assert received == [f"DOC{n}" for n in range(10)]
    assert slow.dropped == 8
    slow.close()
    assert [c.key async for c in slow] == ["DOC0", "DOC1"]


async def test_closing_wakes_a_waiting_consumer() -> None:
    bus = InProcessBus()
    listener = bus.listen()
    waiting = asyncio.ensure_future(anext(aiter(listener), None))
    await asyncio.sleep(0)
    listener.close()
    assert await waiting is None
