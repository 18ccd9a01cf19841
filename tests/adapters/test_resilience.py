"""The resilient transport, alone: retries, budget, breaker and deadline.

A scripted ``httpx.MockTransport`` stands in for the provider; a fake clock whose
``sleep`` only moves time keeps backoffs and cool-downs instant. The tests that need
a real hang (attempt timeouts, the deadline) use the real clock and tens of ms.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapters.errors import ProviderTimeout, ProviderUnavailable, RateLimited
from adapters.model import Provider
from adapters.transport.breaker import BreakerState, CircuitBreaker, RetryBudget
from adapters.transport.deadline import current_deadline, deadline_scope, set_deadline
from adapters.transport.http import send
from adapters.transport.resilience import (
    RETRY_SAFE,
    AttemptTimeout,
    CircuitOpen,
    DeadlineExceeded,
    Policy,
    ResilientTransport,
)

Script = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Upstream:
    """Answers from a list of statuses or exceptions, the last one repeated."""

    def __init__(self, *answers: int | Exception, retry_after: str | None = None):
        self.answers = list(answers)
        self.retry_after = retry_after
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        headers = {"retry-after": self.retry_after} if self.retry_after else {}
        return httpx.Response(answer, headers=headers, json={"n": len(self.calls)})


FAST = Policy(attempts=3, base_backoff=0.1, max_backoff=0.3, jitter=0.0)


def transport(
    upstream: Upstream | httpx.AsyncBaseTransport,
    clock: FakeClock | None = None,
    policy: Policy = FAST,
    **kwargs: Any,
) -> ResilientTransport:
    inner = (
        httpx.MockTransport(upstream) if isinstance(upstream, Upstream) else upstream
    )
    if clock is None:
        return ResilientTransport(inner, name="test", policy=policy, **kwargs)
    kwargs.setdefault("breaker", CircuitBreaker(clock=clock))
    return ResilientTransport(
        inner, name="test", policy=policy, clock=clock, sleep=clock.sleep, **kwargs
    )


def client(t: ResilientTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=t, base_url="http://provider.test")


@pytest.fixture(autouse=True)
def no_deadline() -> None:
    set_deadline(None)  # each test starts without a request deadline


# What is retried ------------------------------------------------------------------


async def test_a_read_answered_503_is_tried_three_times_with_growing_backoff() -> None:
    clock, upstream = FakeClock(), Upstream(503)
    async with client(transport(upstream, clock)) as http:
        response = await http.get("/x")
    assert response.status_code == 503
    assert len(upstream.calls) == 3
    assert clock.sleeps == [0.1, 0.2]


async def test_a_read_that_recovers_returns_the_good_answer() -> None:
    clock, upstream = FakeClock(), Upstream(502, 200)
    async with client(transport(upstream, clock)) as http:
        response = await http.get("/x")
    assert (response.status_code, response.json()) == (200, {"n": 2})


@pytest.mark.parametrize("status", [500, 400, 404, 409, 412, 200])
async def test_500_and_4xx_other_than_429_are_not_retried(status: int) -> None:
    upstream = Upstream(status)
    async with client(transport(upstream, FakeClock())) as http:
        response = await http.get("/x")
    assert response.status_code == status
    assert len(upstream.calls) == 1


async def test_a_mutation_is_not_retried_on_503_or_a_dropped_connection() -> None:
    for answer in (503, httpx.RemoteProtocolError("dropped")):
        upstream = Upstream(answer)
        async with client(transport(upstream, FakeClock())) as http:
            with contextlib.suppress(httpx.RemoteProtocolError):
                await http.post("/x", json={"a": 1})
        assert len(upstream.calls) == 1


async def test_a_post_marked_retry_safe_is_retried_like_a_read() -> None:
    upstream = Upstream(503, 200)
    async with client(transport(upstream, FakeClock())) as http:
        request = http.build_request(
            "POST", "/list", json={"a": 1}, extensions={RETRY_SAFE: True}
        )
        response = await http.send(request)
    assert response.status_code == 200
    assert [r.content for r in upstream.calls] == [b'{"a":1}'] * 2


async def test_a_get_marked_unsafe_is_tried_once() -> None:
    upstream = Upstream(503)
    async with client(transport(upstream, FakeClock())) as http:
        await http.get("/", extensions={RETRY_SAFE: False})
    assert len(upstream.calls) == 1


async def test_a_mutation_that_never_connected_is_sent_again() -> None:
    upstream = Upstream(httpx.ConnectError("refused"), 201)
    async with client(transport(upstream, FakeClock())) as http:
        response = await http.post("/x", json={"a": 1})
    assert response.status_code == 201
    assert len(upstream.calls) == 2


async def test_a_streamed_upload_is_never_sent_twice() -> None:
    async def body() -> Any:
        yield b"chunk"

    upstream = Upstream(httpx.ConnectError("refused"), 201)
    async with client(transport(upstream, FakeClock())) as http:
        with pytest.raises(httpx.ConnectError):
            await http.post("/x", content=body(), extensions={RETRY_SAFE: True})
    assert len(upstream.calls) == 1


async def test_dropped_connections_and_read_errors_are_retried_for_reads() -> None:
    upstream = Upstream(
        httpx.RemoteProtocolError("dropped"), httpx.ReadError("reset"), 200
    )
    async with client(transport(upstream, FakeClock())) as http:
        response = await http.get("/x")
    assert response.status_code == 200
    assert len(upstream.calls) == 3


# Retry-After and the deadline -----------------------------------------------------


async def test_retry_after_is_honoured_when_it_fits_the_deadline() -> None:
    clock, upstream = FakeClock(), Upstream(429, 200, retry_after="2")
    with deadline_scope(5, clock=clock):
        async with client(transport(upstream, clock)) as http:
            response = await http.get("/x")
    assert response.status_code == 200
    assert clock.sleeps == [2.0]


async def test_retry_after_past_the_deadline_answers_at_once_rate_limited() -> None:
    clock, upstream = FakeClock(), Upstream(429, retry_after="30")
    with deadline_scope(5, clock=clock):
        async with client(transport(upstream, clock)) as http:
            request = http.build_request("GET", "/x")
            with pytest.raises(RateLimited) as caught:
                await send(http, Provider.AUCO, request)
    assert caught.value.retry_after == 30
    assert len(upstream.calls) == 1
    assert clock.sleeps == []


async def test_no_backoff_sleep_starts_that_would_end_past_the_deadline() -> None:
    clock, upstream = FakeClock(), Upstream(503)
    policy = Policy(attempts=5, base_backoff=1.0, max_backoff=8.0, jitter=0.0)
    with deadline_scope(3.5, clock=clock):
        async with client(transport(upstream, clock, policy)) as http:
            await http.get("/x")
    assert clock.sleeps == [1.0, 2.0]  # a third wait (4 s) would pass the deadline
    assert len(upstream.calls) == 3


async def test_a_call_after_the_deadline_is_not_sent() -> None:
    clock, upstream = FakeClock(), Upstream(200)
    with deadline_scope(1, clock=clock):
        clock.now += 2
        async with client(transport(upstream, clock)) as http:
            with pytest.raises(ProviderTimeout, match="deadline"):
                await send(http, Provider.MAMBU, http.build_request("GET", "/x"))
    assert upstream.calls == []


async def test_each_attempt_timeout_is_clamped_to_the_time_left() -> None:
    clock, upstream = FakeClock(), Upstream(200)
    with deadline_scope(1.5, clock=clock):
        async with client(transport(upstream, clock)) as http:
            await http.get("/x", timeout=10.0)
    assert upstream.calls[0].extensions["timeout"] == {
        "connect": 1.5,
        "read": 1.5,
        "write": 1.5,
        "pool": 1.5,
    }


async def test_the_deadline_is_the_innermost_of_nested_scopes() -> None:
    clock = FakeClock()
    with deadline_scope(10, clock=clock) as outer, deadline_scope(20, clock=clock):
        assert current_deadline() == outer


class Hang(httpx.AsyncBaseTransport):
    """Never answers (until cancelled); counts the attempts."""

    def __init__(self) -> None:
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_hanging_read_times_out_per_attempt_and_is_retried() -> None:
    hang = Hang()
    policy = Policy(attempts=3, base_backoff=0.001, attempt_timeout=0.03)
    async with client(transport(hang, policy=policy)) as http:
        with pytest.raises(AttemptTimeout):
            await http.get("/x")
    assert hang.calls == 3


async def test_the_request_deadline_cuts_a_hanging_attempt_short() -> None:
    hang = Hang()
    policy = Policy(attempts=3, attempt_timeout=10.0)
    with deadline_scope(0.05):
        async with client(transport(hang, policy=policy)) as http:
            with pytest.raises(DeadlineExceeded):
                await http.get("/x")
    assert hang.calls == 1  # cut short at the deadline, not the 10 s attempt limit


# Budget ---------------------------------------------------------------------------


async def test_under_a_persistent_503_retries_stay_within_the_budget() -> None:
    clock, upstream = FakeClock(), Upstream(503)
    policy = Policy(attempts=3, base_backoff=0.0, budget_ratio=0.1, budget_minimum=2)
    # Backoffs of 0 s: no time passes, nothing trickles in, the bound is exact.
    budget = RetryBudget(ratio=0.1, minimum=2, clock=clock)
    breaker = CircuitBreaker(threshold=1000, clock=clock)
    t = transport(upstream, clock, policy, budget=budget, breaker=breaker)
    calls = 50
    async with client(t) as http:
        for _ in range(calls):
            await http.get("/x")
    retries = len(upstream.calls) - calls
    assert 0 < retries <= calls * 0.1 + 2


def test_the_budget_trickles_its_minimum_back_over_its_window() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.0, minimum=2, window=10.0, clock=clock)
    assert [budget.withdraw() for _ in range(3)] == [True, True, False]
    clock.now += 5
    assert [budget.withdraw() for _ in range(2)] == [True, False]


def test_deposits_add_up_to_whole_retries() -> None:
    budget = RetryBudget(ratio=0.1, minimum=0, clock=FakeClock())
    for _ in range(10):
        budget.deposit()
    assert budget.withdraw() is True
    assert budget.withdraw() is False


# Breaker --------------------------------------------------------------------------


async def test_the_breaker_opens_after_its_threshold_and_then_fails_fast() -> None:
    clock, upstream = FakeClock(), Upstream(500)
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=clock)
    async with client(transport(upstream, clock, breaker=breaker)) as http:
        for _ in range(3):
            assert (await http.get("/x")).status_code == 500
        assert breaker.state is BreakerState.OPEN
        assert breaker.last_error == "http_500"
        with pytest.raises(ProviderUnavailable, match="circuit open"):
            await send(http, Provider.APITURE, http.build_request("GET", "/x"))
    assert len(upstream.calls) == 3


async def test_after_the_cooldown_one_probe_decides() -> None:
    clock, upstream = FakeClock(), Upstream(503, 503, 200)
    policy = Policy(attempts=1)
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    async with client(transport(upstream, clock, policy, breaker=breaker)) as http:
        await http.get("/x")
        assert breaker.state is BreakerState.OPEN
        clock.now += 10
        assert (await http.get("/x")).status_code == 503  # the probe fails: reopen
        assert breaker.state is BreakerState.OPEN
        with pytest.raises(CircuitOpen):
            await http.get("/x")
        clock.now += 10
        assert (await http.get("/x")).status_code == 200
    assert breaker.state is BreakerState.CLOSED
    assert len(upstream.calls) == 3


def test_half_open_lets_one_probe_through_at_a_time() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=1, clock=clock)
    breaker.record_failure("timeout")
    clock.now += 1
    assert breaker.try_acquire() is True
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.try_acquire() is False
    breaker.release()  # the probe was cancelled: another may go
    assert breaker.try_acquire() is True


async def test_answers_below_500_count_as_success_and_reset_the_count() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, clock=clock)
    upstream = Upstream(500, 404, 500, 429, 500)
    async with client(
        transport(upstream, clock, Policy(attempts=1), breaker=breaker)
    ) as http:
        for _ in range(5):
            await http.get("/x")
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 1


async def test_a_breaker_that_opens_mid_retries_returns_the_last_answer() -> None:
    clock, upstream = FakeClock(), Upstream(503)
    breaker = CircuitBreaker(threshold=2, clock=clock)
    async with client(transport(upstream, clock, breaker=breaker)) as http:
        response = await http.get("/x")
    assert response.status_code == 503
    assert len(upstream.calls) == 2


async def test_latency_is_a_moving_average_and_errors_are_short_codes() -> None:
    breaker = CircuitBreaker(smoothing=0.5)
    breaker.record_success(0.100)
    breaker.record_success(0.200)
    assert breaker.latency_ms == pytest.approx(150.0)
    upstream = Upstream(httpx.RemoteProtocolError("http://secret.example/x body"))
    async with client(transport(upstream, FakeClock(), breaker=breaker)) as http:
        with pytest.raises(ProviderUnavailable) as caught:
            await send(http, Provider.AUCO, http.build_request("GET", "/x"))
    assert breaker.last_error == "connection_dropped"
    assert "secret" not in caught.value.message
