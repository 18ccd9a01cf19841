"""``adapters.batches.each``: every key answered by its own fetch, its error its
own; one key in the caller's task, several all started in one loop iteration."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.batches import each
from adapters.errors import AdapterError, NotFound
from adapters.model import Provider
from tests.loop_turns import Iterations


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=9), max_size=12))
def test_every_key_answered_by_its_own_fetch(keys: list[int]) -> None:
    fetched: list[int] = []

    async def fetch(key: int) -> str:
        fetched.append(key)
        if key % 3 == 0:
            raise NotFound(f"no {key}", provider=Provider.MAMBU)
        await asyncio.sleep(0)
        return f"record {key}"

    found = asyncio.run(each(keys, fetch))

    assert list(found) == list(dict.fromkeys(keys))
    assert sorted(fetched) == sorted(set(keys))  # each distinct key once
    for key, value in found.items():
        if key % 3 == 0:
            assert isinstance(value, NotFound) and str(key) in str(value)
        else:
            assert value == f"record {key}"


async def test_one_key_is_fetched_in_the_callers_own_task() -> None:
    caller = asyncio.current_task()
    seen: list[asyncio.Task[object] | None] = []
    before = len(asyncio.all_tasks())

    async def fetch(key: str) -> str:
        seen.append(asyncio.current_task())
        assert len(asyncio.all_tasks()) == before  # no task made for it
        return key.upper()

    ticks = Iterations()
    assert await each(["a", "a"], fetch) == {"a": "A"}
    ticks.stop()
    assert seen == [caller]
    assert ticks.count == 0  # answered without a turn of the loop


async def test_several_keys_all_leave_in_one_loop_iteration() -> None:
    ticks = Iterations()
    events: list[tuple[str, str, int]] = []

    async def fetch(key: str) -> str:
        events.append(("sent", key, ticks.count))
        await asyncio.sleep(0)
        return key

    keys = [f"k{i}" for i in range(20)]
    assert await each(keys, fetch) == {k: k for k in keys}
    ticks.stop()
    sent = [e for e in events if e[0] == "sent"]
    assert [k for _, k, _ in sent] == keys  # in the order given
    assert len({n for _, _, n in sent}) == 1  # all in the same iteration


async def test_another_error_propagates_and_cancelling_cancels_every_fetch() -> None:
    async def failing(key: str) -> str:
        if key == "bad":
            raise RuntimeError("broken")
        return key

    with pytest.raises(RuntimeError, match="broken"):
        await each(["ok", "bad"], failing)
    with pytest.raises(RuntimeError, match="broken"):
        await each(["bad"], failing)

    started: list[str] = []
    cancelled: list[str] = []

    async def slow(key: str) -> str:
        started.append(key)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(key)
            raise
        return key

    before = asyncio.all_tasks()
    reading = asyncio.ensure_future(each(["x", "y", "z"], slow))
    for _ in range(3):
        await asyncio.sleep(0)
    assert started == ["x", "y", "z"]
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    for _ in range(3):
        await asyncio.sleep(0)
    assert sorted(cancelled) == ["x", "y", "z"]
    assert asyncio.all_tasks() - before == set()


def test_an_adapter_error_is_never_raised_for_a_key() -> None:
    async def fetch(key: str) -> str:
        raise AdapterError(f"down: {key}", provider=Provider.AUCO)

    found = asyncio.run(each(["a", "b"], fetch))
    assert {k: str(v) for k, v in found.items()} == {"a": "down: a", "b": "down: b"}
