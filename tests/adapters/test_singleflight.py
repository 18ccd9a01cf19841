"""Identical safe reads in flight together share one upstream call; nothing else
does. Counted at a fake upstream that answers only when the test lets it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.transport.deadline import deadline_scope
from adapters.transport.resilience import RETRY_SAFE, DeadlineExceeded
from adapters.transport.singleflight import STAGGER_MAX, Coalescing, _key


class Upstream(httpx.AsyncBaseTransport):
    """Counts calls; each waits for ``release`` then answers or fails."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[httpx.Request] = []
        self.release = asyncio.Event()
        self.error = error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return httpx.Response(200, json={"n": len(self.calls)}, headers={"ETag": '"1"'})


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
async def client(upstream: Upstream) -> AsyncIterator[httpx.AsyncClient]:
    transport = Coalescing(upstream, total_timeout=5.0)
    async with httpx.AsyncClient(transport=transport, base_url="http://p") as http:
        yield http


async def together(upstream: Upstream, *calls: object) -> list[object]:
    """Start every call, let them all reach the transport, then release."""
    tasks = [asyncio.ensure_future(c) for c in calls]  # type: ignore[call-overload]
    for _ in range(5):
        await asyncio.sleep(0)
    upstream.release.set()
    return list(await asyncio.gather(*tasks, return_exceptions=True))


async def test_concurrent_identical_reads_make_one_upstream_call(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    answers = await together(upstream, *(client.get("/apps/1") for _ in range(10)))

    assert len(upstream.calls) == 1
    assert all(isinstance(a, httpx.Response) for a in answers)
    responses = [a for a in answers if isinstance(a, httpx.Response)]
    assert [r.json() for r in responses] == [{"n": 1}] * 10
    assert all(r.headers["etag"] == '"1"' for r in responses)
    assert len({id(r) for r in responses}) == 10  # each caller its own response
    assert all(r.request.url.path == "/apps/1" for r in responses)
    transport = client._transport
    assert isinstance(transport, Coalescing) and transport.shared == 9


async def test_different_reads_are_not_shared(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    await together(
        upstream,
        client.get("/apps/1"),
        client.get("/apps/2"),
        client.get("/apps/1", params={"page": 2}),
        client.get("/apps/1", headers={"If-None-Match": '"1"'}),
        client.get("/apps/1", headers={"Authorization": "Basic other"}),
        client.get("/apps/1"),
    )

    assert len(upstream.calls) == 5


async def test_a_mutation_is_never_shared(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    await together(
        upstream,
        *(client.post("/approvedApplications?application=1") for _ in range(4)),
        *(client.put("/apps/1", json={"a": 1}) for _ in range(2)),
    )

    assert len(upstream.calls) == 6


async def test_a_read_by_post_is_shared_only_when_marked_safe_and_alike(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    def read(body: dict[str, str]) -> object:
        request = client.build_request("POST", "/akepa/list", json=body)
        request.extensions[RETRY_SAFE] = True
        return client.send(request)

    def probe() -> object:
        request = client.build_request("HEAD", "")
        request.extensions[RETRY_SAFE] = False
        return client.send(request)

    await together(
        upstream,
        read({"customerId": "a"}),
        read({"customerId": "a"}),
        read({"customerId": "b"}),
        probe(),
        probe(),
    )

    assert len(upstream.calls) == 2 + 2


async def test_an_error_reaches_every_caller() -> None:
    upstream = Upstream(error=httpx.ConnectError("refused"))
    transport = Coalescing(upstream, total_timeout=5.0)
    async with httpx.AsyncClient(transport=transport, base_url="http://p") as http:
        answers = await together(upstream, *(http.get("/apps/1") for _ in range(5)))

    assert len(upstream.calls) == 1
    assert all(isinstance(a, httpx.ConnectError) for a in answers)


async def test_a_read_after_the_answer_goes_upstream_again(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    upstream.release.set()
    await client.get("/apps/1")
    await client.get("/apps/1")

    assert len(upstream.calls) == 2


async def test_a_caller_past_its_deadline_stops_waiting_alone(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    patient = asyncio.ensure_future(client.get("/apps/1"))
    await asyncio.sleep(0)

    async def hurried() -> httpx.Response:
        with deadline_scope(0.0):
            return await client.get("/apps/1")

    with pytest.raises(DeadlineExceeded):
        await hurried()
    upstream.release.set()

    assert (await patient).json() == {"n": 1}
    assert len(upstream.calls) == 1


async def test_a_caller_with_more_time_goes_on_when_the_call_runs_out() -> None:
    class Slow(httpx.AsyncBaseTransport):
        calls = 0

        async def handle_async_request(self, r: httpx.Request) -> httpx.Response:
            Slow.calls += 1
            if Slow.calls == 1:  # the first runs out of its starter's time
                raise DeadlineExceeded("the request's deadline has passed")
            return httpx.Response(200, json={"n": Slow.calls})

    transport = Coalescing(Slow(), total_timeout=5.0)
    async with httpx.AsyncClient(transport=transport, base_url="http://p") as http:

        async def within(seconds: float) -> httpx.Response:
            with deadline_scope(seconds):
                return await http.get("/apps/1")

        first, second = await asyncio.gather(
            within(1.0), within(3.0), return_exceptions=True
        )

    assert isinstance(first, DeadlineExceeded)
    assert isinstance(second, httpx.Response) and second.json() == {"n": 2}
    assert Slow.calls == 2


async def test_a_joiner_that_goes_away_leaves_the_call_to_the_others(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    starter = asyncio.ensure_future(client.get("/apps/1"))
    leaving = asyncio.ensure_future(client.get("/apps/1"))
    staying = asyncio.ensure_future(client.get("/apps/1"))
    for _ in range(5):
        await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    upstream.release.set()

    assert (await staying).json() == {"n": 1}
    assert (await starter).json() == {"n": 1}
    assert leaving.cancelled()
    assert len(upstream.calls) == 1


async def test_when_the_starter_goes_away_the_others_send_their_own(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    # The call runs in its starter's task: it goes with it, and the joiners
    # (told at once) send one call of their own, which they share.
    leaving = asyncio.ensure_future(client.get("/apps/1"))
    staying = [asyncio.ensure_future(client.get("/apps/1")) for _ in range(3)]
    for _ in range(5):
        await asyncio.sleep(0)
    leaving.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(upstream.calls) == 2  # the second already sent, before release
    upstream.release.set()

    assert [(await s).json() for s in staying] == [{"n": 2}] * 3
    assert leaving.cancelled()
    assert len(upstream.calls) == 2
    transport = client._transport
    assert isinstance(transport, Coalescing) and not transport._calls


async def test_when_every_caller_goes_away_the_call_is_cancelled(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    alone = asyncio.ensure_future(client.get("/apps/1"))
    for _ in range(5):
        await asyncio.sleep(0)
    alone.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    upstream.release.set()
    # A new caller is not handed the cancelled call: it goes upstream itself.
    answer = await client.get("/apps/1")

    assert answer.json() == {"n": 2}
    assert len(upstream.calls) == 2


async def test_callers_resume_one_loop_iteration_apart_in_join_order(
    upstream: Upstream, client: httpx.AsyncClient
) -> None:
    ticks = 0

    async def clock() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    resumed: dict[int, int] = {}

    async def read(n: int) -> None:
        await client.get("/apps/1")
        resumed[n] = ticks

    counter = asyncio.ensure_future(clock())
    try:
        await together(upstream, *(read(n) for n in range(12)))
    finally:
        counter.cancel()
    assert len(upstream.calls) == 1
    late = [resumed[n] - resumed[0] for n in range(12)]
    # The starter (sending the call itself) first; then joiner n one iteration
    # after joiner n - 1, at most STAGGER_MAX (8) iterations after the first.
    assert late[0] == 0 and min(late[1:]) > 0
    steps = [b - a for a, b in itertools.pairwise(late[1:])]
    assert steps == [1] * (STAGGER_MAX - 1) + [0] * 3


class Prepared(httpx.AsyncBaseTransport):
    """Answers every call with a response made in advance (the way the pooled
    transport hands one over: in memory, unread)."""

    def __init__(self, *, encoded: bool) -> None:
        import gzip

        body = b'{"ok": true}'
        self.headers = [(b"Content-Type", b"application/json")]
        if encoded:
            body = gzip.compress(body)
            self.headers.append((b"Content-Encoding", b"gzip"))
        self.body = body
        self.made: list[httpx.Response] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        response = httpx.Response(
            200, headers=self.headers, stream=httpx.ByteStream(self.body)
        )
        self.made.append(response)
        return response


async def test_a_caller_nobody_joined_gets_the_response_as_it_came() -> None:
    upstream = Prepared(encoded=True)
    transport = Coalescing(upstream, total_timeout=5.0)
    request = httpx.Request("GET", "http://p/apps/1")
    response = await transport.handle_async_request(request)
    assert response is upstream.made[0]  # not a copy
    await response.aread()
    assert response.json() == {"ok": True}
    # Joined: each caller its own copy, still encoded as it came, decoded once.
    requests = [httpx.Request("GET", "http://p/apps/1") for _ in range(3)]
    copies = await asyncio.gather(*map(transport.handle_async_request, requests))
    assert len(upstream.made) == 2
    assert all(c is not upstream.made[1] for c in copies)
    for copy in copies:
        assert copy.headers["content-encoding"] == "gzip"
        await copy.aread()
        assert copy.json() == {"ok": True}


async def test_an_answer_read_already_is_shared_decoded() -> None:
    # httpx reads (and decodes) a response made with content=: the copies carry
    # the decoded bytes without the encoding's headers.
    import gzip

    class Read(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0)
            return httpx.Response(
                200,
                headers={"Content-Encoding": "gzip"},
                content=gzip.compress(b"hello"),
            )

    async with httpx.AsyncClient(
        transport=Coalescing(Read(), total_timeout=5.0), base_url="http://p"
    ) as http:
        answers = await asyncio.gather(*(http.get("/a") for _ in range(3)))
        alone = await http.get("/a")
    assert [a.content for a in answers] == [b"hello"] * 3
    assert all("content-encoding" not in a.headers for a in answers)
    # Nobody joined: the response itself, read, its headers as they came.
    assert alone.content == b"hello"
    assert alone.headers["content-encoding"] == "gzip"


_SEGMENT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6
)
_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E))


def _wire(request: httpx.Request) -> tuple[object, ...]:
    """What goes on the wire: the method, the URL as a string, the headers as
    sent, the body."""
    return (request.method, str(request.url), request.headers.raw, request.content)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    paths=st.tuples(_SEGMENT, _SEGMENT),
    queries=st.tuples(st.none() | _SEGMENT, st.none() | _SEGMENT),
    etags=st.tuples(st.none() | _VALUE, st.none() | _VALUE),
)
def test_two_reads_share_a_call_only_when_alike_on_the_wire(
    paths: tuple[str, str],
    queries: tuple[str | None, str | None],
    etags: tuple[str | None, str | None],
) -> None:
    def read(i: int) -> httpx.Request:
        headers = {"If-None-Match": etags[i]} if etags[i] is not None else {}
        params = {"q": queries[i]} if queries[i] is not None else None
        return httpx.Request(
            "GET",
            "http://p/base/" + quote(paths[i], safe=""),
            params=params,
            headers=headers,
        )

    a, b = read(0), read(1)
    assert (_key(a) == _key(b)) == (_wire(a) == _wire(b))
    assert _key(a) == _key(read(0))  # the same read made again: shared
