"""The de-duplication store and the last-seen map stay bounded and forget on time;
a sandbox's sender survives a receiver that crashes."""

from __future__ import annotations

import httpx

from adapters.sandbox_webhooks import WebhookSender
from gateway.webhooks.dedupe import InMemoryDedupe, LastSeen


async def test_a_key_is_claimed_once_until_it_expires_or_is_released() -> None:
    now = [0.0]
    dedupe = InMemoryDedupe(max_entries=100, ttl=60.0, clock=lambda: now[0])
    assert await dedupe.claim("a")
    assert not await dedupe.claim("a")
    now[0] = 59.0
    assert not await dedupe.claim("a")
    now[0] = 60.0  # expired: a new event with the same id
    assert await dedupe.claim("a")
    await dedupe.release("a")  # publishing failed: the retry is a first delivery
    assert await dedupe.claim("a")
    assert len(dedupe) == 1


async def test_the_store_keeps_at_most_max_entries_oldest_out_first() -> None:
    dedupe = InMemoryDedupe(max_entries=3, ttl=1e9, clock=lambda: 0.0)
    for key in "abcde":
        assert await dedupe.claim(key)
    assert len(dedupe) == 3
    assert not await dedupe.claim("e")
    assert await dedupe.claim("a")  # forgotten: the oldest went first


def test_last_seen_answers_the_previous_state_and_stays_bounded() -> None:
    seen = LastSeen(max_entries=2)
    assert seen.swap("x", "RUNNING") is None
    assert seen.swap("x", "APPROVED") == "RUNNING"
    seen.swap("y", "RUNNING")
    seen.swap("z", "RUNNING")  # x, the least recently seen, goes
    assert seen.swap("x", "APPROVED") is None
    assert seen.swap("z", "BLOCKED") == "RUNNING"


async def test_a_crashing_receiver_is_a_failed_attempt_and_is_retried() -> None:
    calls = []

    def crash(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        if len(calls) == 1:
            raise RuntimeError("receiver crashed")
        return httpx.Response(204)

    sender = WebhookSender(
        schedule=(1.0, 1.0), time_factor=0.0, transport=httpx.MockTransport(crash)
    )
    sender.send("http://r/hook", {"status": "CREATE"}, {"k": "v"})
    sender.send("http://r/hook", {"status": "FINISH"}, {"k": "v"})
    await sender.drain()
    assert [(a.number, a.status) for a in sender.attempts] == [
        (0, None),
        (0, 204),
        (1, 204),
    ]
    assert calls[0] == calls[2] == b'{"status":"CREATE"}'
    await sender.aclose()
