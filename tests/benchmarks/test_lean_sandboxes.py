"""The bench sandboxes' lean server (``benchmarks/lean_server.py``) answers what the
whole app answers.

Each test runs the same sandbox twice, seeded alike: one served by the lean server
on a socket (its hot reads answered by their endpoints directly), one as the whole
app in process (``httpx.ASGITransport``), and sends both the same requests. Answers
must agree on status, the headers that matter and the body bytes; where the
provider puts a fresh value in every answer (an error's ``_id`` and
``occurredAt``, connectFi's ``requestId``) those values are set aside. The whole
app's answers are checked against the contracts by the suite's observer, so the
lean answers keep the contracts too.

While an observer is installed every sandbox call goes through the whole app (the
contract check must see it), so the lean side is asked with the observers set
aside (:func:`observers_off`), and one test checks the fall-through itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import sandbox_kit
from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from adapters.apiture.sandbox import query as apiture_query
from adapters.model import Provider
from adapters.sandbox_kit import Exchange, Fault, SandboxAdmin
from benchmarks import lean_server, population, sandboxes
from gateway.cli import standalone_sandboxes

APITURE = "/accountApplications"
APITURE_AUTH = {"API-Key": DEMO_API_KEY, "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"}
MAMBU_AUTH = {"Authorization": "Basic c2FuZGJveDpzYW5kYm94"}  # sandbox:sandbox
VOLATILE = {"requestId", "occurredAt"}
MATTER = ("content-type", "etag", "location", "allow", "www-authenticate")


@contextmanager
def observers_off() -> Iterator[None]:
    kept = list(sandbox_kit.OBSERVERS)
    sandbox_kit.OBSERVERS.clear()
    try:
        yield
    finally:
        sandbox_kit.OBSERVERS.extend(kept)


def seeded(provider: Provider) -> SandboxAdmin:
    admin = standalone_sandboxes(0.0)[provider]
    store = admin.sandbox.store
    if provider == Provider.APITURE:
        # Both sandboxes' clock the same (a state change stamps completedAt).
        store.clock = lambda: population.EPOCH
        population.seed_apiture(store, 60)
        population.seed_apiture_enrollments(store, 10)
    elif provider == Provider.CONNECTFI:
        population.seed_connectfi(store, 6)
    elif provider == Provider.MAMBU:
        population.seed_mambu(store, 6)
    return admin


class Pair:
    """One provider's sandbox, lean-served and whole, and a client for each."""

    def __init__(
        self, lean: SandboxAdmin, whole: SandboxAdmin, port: int, ref: httpx.AsyncClient
    ) -> None:
        self.lean, self.whole = lean, whole
        self.port = port
        self.lean_client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
        self.ref = ref
        self.tokens = ("", "")
        self.through: list[str] = []  # paths the lean side's whole app answered

    async def both(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> tuple[httpx.Response, httpx.Response]:
        answers = []
        for client, token in (
            (self.lean_client, self.tokens[0]),
            (self.ref, self.tokens[1]),
        ):
            sent = {k: v.replace("{token}", token) for k, v in (headers or {}).items()}
            with observers_off() if client is self.lean_client else _nothing():
                answers.append(
                    await client.request(
                        method,
                        url,
                        headers=sent,
                        content=None if body is None else json.dumps(body).encode(),
                    )
                )
        return answers[0], answers[1]

    async def same(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        lean, whole = await self.both(method, url, headers, body)
        assert_same(lean, whole)
        return lean


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def assert_same(lean: httpx.Response, whole: httpx.Response) -> None:
    assert lean.status_code == whole.status_code, (lean.text, whole.text)
    for name in MATTER:
        assert lean.headers.get(name) == whole.headers.get(name), name
    if lean.status_code == 204 or lean.status_code == 304:
        assert lean.content == whole.content == b""
        return
    assert lean.headers["content-length"] == str(len(lean.content))
    if b"requestId" in whole.content or b"occurredAt" in whole.content:
        assert steady(lean.json()) == steady(whole.json())
    else:
        assert lean.content == whole.content


def steady(answer: Any) -> Any:
    """The answer without the values the provider makes afresh per call."""
    if isinstance(answer, dict):
        error = answer.get("_error")
        kept = {k: steady(v) for k, v in answer.items() if k not in VOLATILE}
        if isinstance(error, dict):
            kept["_error"] = {
                k: steady(v) for k, v in error.items() if k not in (*VOLATILE, "_id")
            }
        return kept
    if isinstance(answer, list):
        return [steady(v) for v in answer]
    return answer


@asynccontextmanager
async def pair(provider: Provider) -> AsyncIterator[Pair]:
    lean, whole = seeded(provider), seeded(provider)
    loop = asyncio.get_running_loop()
    front = sandboxes.front(provider, lean)
    server = await loop.create_server(
        lambda: lean_server.HttpProtocol(front, loop), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    # Count what reaches the lean side's whole app (the front's hot reads do not).
    inner = lean.sandbox.app
    through: list[str] = []

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        through.append(scope["path"])
        await inner(scope, receive, send)

    lean.sandbox.app = counting
    transport = httpx.ASGITransport(app=whole)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as ref:
        p = Pair(lean, whole, port, ref)
        p.through = through
        try:
            if provider == Provider.CONNECTFI:
                login = {"user": {"login": "sandbox", "password": "sandbox"}}
                a, b = await p.both("POST", "/auth/get-token", JSON_BODY, login)
                p.tokens = (a.json()["data"]["token"], b.json()["data"]["token"])
            yield p
        finally:
            await p.lean_client.aclose()
            server.close()
            await server.wait_closed()
            for _ in range(3):  # the connections' close callbacks run
                await asyncio.sleep(0)


JSON_BODY = {"Content-Type": "application/json"}
CONNECTFI = {**JSON_BODY, "x-connectfi-token": "{token}"}


def hot_calls(admin: SandboxAdmin) -> int:
    return sum(admin.sandbox.control.counts.values())


# Apiture ---------------------------------------------------------------------------


async def test_apiture_details_and_pages_are_the_apps_bytes_and_counted() -> None:
    async with pair(Provider.APITURE) as p:
        ids = list(p.lean.sandbox.store.applications)
        assert ids == list(p.whole.sandbox.store.applications)
        for id_ in ids[::7]:
            answer = await p.same("GET", f"{APITURE}/applications/{id_}", APITURE_AUTH)
            assert answer.status_code == 200 and answer.json()["_id"] == id_
        for query in (
            "sortBy=-createdAt&start=0&limit=20",
            "sortBy=-createdAt&start=37&limit=20",
            "start=5&limit=50",
            "",
            "sortBy=state,-createdAt&start=3&limit=4",
            "filter=eq(state,running)&limit=5",
        ):
            answer = await p.same(
                "GET", f"{APITURE}/applications?{query}", APITURE_AUTH
            )
            assert answer.json()["_embedded"]["items"]
        enrollment = next(iter(p.lean.sandbox.store.enrollments))
        await p.same("GET", f"{APITURE}/enrollments/{enrollment}", APITURE_AUTH)
        assert p.through == []  # every one answered by the front
        calls = (await p.lean_client.get("/_sandbox/calls")).json()
        assert calls["total"] == len(ids[::7]) + 7
        assert calls["routes"][f"GET {APITURE}/applications"] == 6


async def test_apiture_an_approval_changes_what_the_lean_reads_answer() -> None:
    async with pair(Provider.APITURE) as p:
        page = f"{APITURE}/applications?sortBy=-createdAt&start=0&limit=100"
        listed = (await p.same("GET", page, APITURE_AUTH)).json()["_embedded"]["items"]
        id_ = next(i["_id"] for i in listed if i["state"] == "running")
        url = f"{APITURE}/applications/{id_}"
        before = await p.same("GET", url, APITURE_AUTH)
        approve = f"{APITURE}/approvedApplications?application={id_}"
        stale = {**APITURE_AUTH, "If-Match": '"0000"'}
        refused = await p.same("POST", approve, stale)
        assert refused.status_code == 412
        fresh = {**APITURE_AUTH, "If-Match": before.headers["etag"]}
        assert (await p.same("POST", approve, fresh)).json()["state"] == "approved"
        after = await p.same("GET", url, APITURE_AUTH)
        assert after.json()["state"] == "approved"
        assert after.headers["etag"] != before.headers["etag"]
        items = (await p.same("GET", page, APITURE_AUTH)).json()["_embedded"]["items"]
        assert [i["state"] for i in items if i["_id"] == id_] == ["approved"]
        # A conditional read of the new version: the whole app's 304.
        again = {**APITURE_AUTH, "If-None-Match": after.headers["etag"]}
        assert (await p.same("GET", url, again)).status_code == 304
        # A change made on the store itself (a test hook) is seen too.
        for sandbox in (p.lean, p.whole):
            sandbox.sandbox.store.set_application_state(id_, "blocked")
        assert (await p.same("GET", url, APITURE_AUTH)).json()["state"] == "blocked"


@pytest.mark.sends_invalid_requests
async def test_apiture_refusals_are_the_apps() -> None:
    async with pair(Provider.APITURE) as p:
        id_ = next(iter(p.lean.sandbox.store.applications))
        url = f"{APITURE}/applications/{id_}"
        # Passed and kept by the guard: the same path with other credentials
        # is still refused.
        assert (await p.same("GET", url, APITURE_AUTH)).status_code == 200
        for headers in (
            {},
            {"API-Key": DEMO_API_KEY},
            {"API-Key": "other", "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"},
            {"API-Key": DEMO_API_KEY, "Authorization": "Bearer other"},
        ):
            answer = await p.same("GET", url, headers)
            assert answer.status_code == 401
            answer = await p.same("GET", f"{APITURE}/applications?limit=5", headers)
            assert answer.status_code == 401
        missing = await p.same("GET", f"{APITURE}/applications/nope", APITURE_AUTH)
        assert missing.status_code == 404
        bad = await p.same("GET", f"{APITURE}/applications?limit=-1", APITURE_AUTH)
        assert bad.status_code == 422
        assert hot_calls(p.lean) == hot_calls(p.whole) == 11
        assert len(p.through) == 10  # each refusal is the whole app's


# connectFi and Mambu -----------------------------------------------------------------


async def test_connectfi_lists_are_the_apps() -> None:
    async with pair(Provider.CONNECTFI) as p:
        for customer in population.customers(6):
            for body in (
                {"customerId": customer, "numberOfRecords": 10, "skipRecords": 0},
                {"customerId": customer, "numberOfRecords": 2, "skipRecords": 1},
                {"customerId": customer},
            ):
                answer = await p.same("POST", "/akepa/list", CONNECTFI, body)
                assert answer.json()["data"]["items"]
        lost = {"customerId": "cstap_nobody"}
        answer = await p.same("POST", "/akepa/list", CONNECTFI, lost)
        assert answer.json()["data"]["items"] == []
        assert p.through == ["/auth/get-token"]


@pytest.mark.sends_invalid_requests
async def test_connectfi_refusals_are_the_apps() -> None:
    async with pair(Provider.CONNECTFI) as p:
        body = {"customerId": population.customer_id(0)}
        wrong = {**JSON_BODY, "x-connectfi-token": "stale"}
        assert (await p.same("POST", "/akepa/list", wrong, body)).status_code == 401
        assert (await p.same("POST", "/akepa/list", JSON_BODY, body)).status_code == 401
        too_many = {**body, "numberOfRecords": 10_000}
        assert (
            await p.same("POST", "/akepa/list", CONNECTFI, too_many)
        ).status_code == 400
        assert (await p.same("POST", "/akepa/list", CONNECTFI, {})).status_code == 400


async def test_mambu_documents_are_the_apps() -> None:
    async with pair(Provider.MAMBU) as p:
        for client in population.customers(6):
            for query in ("offset=0&limit=1000", "", "offset=1&limit=1"):
                url = f"/api/clients/{client}/documents?{query}"
                answer = await p.same("GET", url, MAMBU_AUTH)
                assert answer.json()
            await p.same("GET", f"/api/clients/{client}/documents/", MAMBU_AUTH)
        assert p.through == []


@pytest.mark.sends_invalid_requests
async def test_mambu_refusals_are_the_apps() -> None:
    async with pair(Provider.MAMBU) as p:
        url = f"/api/clients/{population.customer_id(0)}/documents"
        assert (await p.same("GET", url, {})).status_code == 401
        wrong = {"Authorization": "Basic d3Jvbmc6d3Jvbmc="}
        assert (await p.same("GET", url, wrong)).status_code == 401
        missing = await p.same("GET", "/api/clients/nobody/documents", MAMBU_AUTH)
        assert missing.status_code == 404
        assert (
            await p.same("GET", "/api/nowhere/x/documents", MAMBU_AUTH)
        ).status_code == 404


# what always goes through the whole app --------------------------------------------


async def test_with_an_observer_every_call_goes_through_the_app() -> None:
    seen: list[Exchange] = []
    async with pair(Provider.APITURE) as p:
        id_ = next(iter(p.lean.sandbox.store.applications))
        with observers_off():
            sandbox_kit.OBSERVERS.append(seen.append)
            try:
                answer = await p.lean_client.get(
                    f"{APITURE}/applications/{id_}", headers=APITURE_AUTH
                )
            finally:
                sandbox_kit.OBSERVERS.remove(seen.append)
        assert answer.status_code == 200
        assert [(e.method, e.path, e.status) for e in seen] == [
            ("GET", f"{APITURE}/applications/{id_}", 200)
        ]


async def test_a_keep_alive_connection_answers_in_order_and_closes_when_asked() -> None:
    async with pair(Provider.APITURE) as p:
        ids = list(p.lean.sandbox.store.applications)[:3]
        auth = "".join(f"{k}: {v}\r\n" for k, v in APITURE_AUTH.items())
        raw = "".join(
            f"GET {APITURE}/applications/{i} HTTP/1.1\r\nHost: x\r\n{auth}\r\n"
            for i in ids
        )
        # A pipelined miss (404, through the app) between two hot reads.
        raw = raw.replace(ids[1], "unknown-id")
        raw += f"GET {APITURE}/applications/{ids[2]} HTTP/1.1\r\nHost: x\r\n"
        raw += f"Connection: close\r\n{auth}\r\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", p.port)
        with observers_off():
            writer.write(raw.encode())
            data = await reader.read()  # until the server closes
        writer.close()
        await writer.wait_closed()
        statuses = [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]
        assert statuses == [200, 404, 200, 200]
        assert (
            data.count(ids[0].encode()) >= 1 and data.count(b"connection: close") == 1
        )


# hypothesis: what the lean server sees from a client -------------------------------

segments = st.one_of(
    st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF),
        min_size=1,
        max_size=24,
    ),
    st.uuids().map(str),
    st.text(alphabet="abcXYZ019-._~!$'()*+,;=:@", min_size=1, max_size=40),
)
query_keys = st.sampled_from(
    ["start", "limit", "sortBy", "filter", "q", "applicant", "offset", "x", "start"]
)
query_values = st.one_of(
    st.integers(-3, 120).map(str),
    st.text(max_size=12),
    st.sampled_from(["-createdAt", ""]),
)
queries = st.lists(st.tuples(query_keys, query_values), max_size=4).map(urlencode)


@pytest.mark.sends_invalid_requests
@settings(
    max_examples=80,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_id_or_query_gets_the_apps_answer(data: st.DataObject) -> None:
    async def check(p: Pair, provider: Provider) -> None:
        known = (
            list(p.lean.sandbox.store.applications)
            if provider == Provider.APITURE
            else population.customers(6)
        )
        segment = data.draw(st.one_of(st.sampled_from(known), segments))
        query = data.draw(queries)
        if provider == Provider.APITURE:
            path = data.draw(
                st.sampled_from(
                    [
                        f"{APITURE}/applications/{quote(segment, safe='')}",
                        f"{APITURE}/applications",
                        f"{APITURE}/enrollments/{quote(segment, safe='')}",
                    ]
                )
            )
            extra = data.draw(
                st.sampled_from(
                    [
                        {},
                        {},
                        {"If-None-Match": '"x"'},
                        {"API-Key": "other"},
                        {"Authorization": "Bearer other"},
                        {"If-Match": "*"},
                    ]
                )
            )
            await p.same("GET", f"{path}?{query}", {**APITURE_AUTH, **extra})
        elif provider == Provider.MAMBU:
            path = f"/api/clients/{quote(segment, safe='')}/documents"
            await p.same("GET", f"{path}?{query}", MAMBU_AUTH)
        else:
            body = data.draw(
                st.fixed_dictionaries(
                    {"customerId": st.one_of(st.just(segment), st.integers())},
                    optional={
                        "numberOfRecords": st.one_of(
                            st.integers(-2, 600), st.text(max_size=3)
                        ),
                        "skipRecords": st.integers(-2, 12),
                    },
                )
            )
            await p.same("POST", "/akepa/list", CONNECTFI, body)

    provider = data.draw(
        st.sampled_from([Provider.APITURE, Provider.CONNECTFI, Provider.MAMBU])
    )
    PAIRS.run(provider, check)


class _Pairs:
    """One event loop and one pair per provider for all the examples."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pairs: dict[Provider, Any] = {}

    def run(self, provider: Provider, check: Any) -> None:
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
        loop = self.loop
        if provider not in self.pairs:
            manager = pair(provider)
            self.pairs[provider] = (
                manager,
                loop.run_until_complete(manager.__aenter__()),
            )
        loop.run_until_complete(check(self.pairs[provider][1], provider))

    def close(self) -> None:
        if self.loop is None:
            return
        for manager, _ in self.pairs.values():
            self.loop.run_until_complete(manager.__aexit__(None, None, None))
        self.loop.close()
        self.loop, self.pairs = None, {}


PAIRS = _Pairs()


@pytest.fixture(autouse=True, scope="module")
def _close_pairs() -> Iterator[None]:
    yield
    PAIRS.close()


# cost, counted: Python calls per hot read ------------------------------------------


class _Transport:
    """What the protocol writes to, kept."""

    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written.extend(data)

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 9) if name == "peername" else None

    def close(self) -> None:
        pass


def _calls_in(step: Any) -> int:
    """Python function calls (every module, the library's too) while ``step``
    runs."""
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profile)
    try:
        step()
    finally:
        sys.setprofile(None)
    return count


async def test_a_kept_detail_read_runs_a_fraction_of_the_apps_python_calls() -> None:
    lean, whole = seeded(Provider.APITURE), seeded(Provider.APITURE)
    loop = asyncio.get_running_loop()
    protocol = lean_server.HttpProtocol(sandboxes.front(Provider.APITURE, lean), loop)
    transport = _Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    id_ = list(lean.sandbox.store.applications)[5]
    auth = "".join(f"{k}: {v}\r\n" for k, v in APITURE_AUTH.items())
    raw = f"GET {APITURE}/applications/{id_} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode()
    with observers_off():
        protocol.data_received(raw)  # made and kept
        first = bytes(transport.written)
        lean_calls = _calls_in(lambda: protocol.data_received(raw))
    undated = re.sub(rb"date: [^\r]*\r\n", b"", bytes(transport.written))
    assert undated == 2 * re.sub(rb"date: [^\r]*\r\n", b"", first)
    scope = {
        "type": "http",
        "method": "GET",
        "path": f"{APITURE}/applications/{id_}",
        "raw_path": b"",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in APITURE_AUTH.items()],
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
    }
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    def whole_app() -> None:
        coroutine = whole(scope, receive, send)
        with pytest.raises(StopIteration):  # finished, nothing waited for
            coroutine.send(None)

    with observers_off():
        whole_calls = _calls_in(whole_app)
    body = first.split(b"\r\n\r\n", 1)[1]
    assert sent[-1]["body"] == body  # the same answer
    # Measured: 26 calls (parsing included) against 102 in the whole app, with
    # no server under it (uvicorn's own are more).
    assert lean_calls * 3 < whole_calls, (lean_calls, whole_calls)


async def test_a_hot_answer_waits_for_the_latency_and_a_miss_gets_it_once() -> None:
    lean = seeded(Provider.APITURE)
    lean.sandbox.control.latency = 0.05
    loop = asyncio.get_running_loop()
    protocol = lean_server.HttpProtocol(sandboxes.front(Provider.APITURE, lean), loop)
    transport = _Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    id_ = next(iter(lean.sandbox.store.applications))
    auth = "".join(f"{k}: {v}\r\n" for k, v in APITURE_AUTH.items())
    hot = f"GET {APITURE}/applications/{id_} HTTP/1.1\r\nHost: x\r\n{auth}\r\n"
    with observers_off():
        protocol.data_received(hot.encode())
        assert transport.written == b""  # made, held back for the latency
        for _ in range(200):
            if transport.written:
                break
            await asyncio.sleep(0.01)
    assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n")
    # A miss (404) goes through Controlled, which waits the latency itself:
    # the front adds none of its own, so it is answered by one sleep.
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def counted(delay: float, *args: Any) -> Any:
        sleeps.append(delay)
        return await real_sleep(delay, *args)

    transport.written.clear()
    miss = hot.replace(id_, "unknown")
    with observers_off(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(asyncio, "sleep", counted)
        protocol.data_received(miss.encode())
        for _ in range(200):
            if transport.written:
                break
            await real_sleep(0.01)
    assert transport.written.startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert sleeps.count(0.05) == 1


async def test_an_injected_fault_is_answered_by_the_app_then_the_front_resumes() -> (
    None
):
    async with pair(Provider.APITURE) as p:
        id_ = next(iter(p.lean.sandbox.store.applications))
        url = f"{APITURE}/applications/{id_}"
        control = p.lean.sandbox.control
        control.inject(r"/applications/", Fault(status=503, retry_after="1", times=1))
        with observers_off():
            faulted = await p.lean_client.get(url, headers=APITURE_AUTH)
            assert (faulted.status_code, faulted.headers["retry-after"]) == (503, "1")
            assert faulted.content == Fault().body
            control.clear()
            answer = await p.lean_client.get(url, headers=APITURE_AUTH)
        assert answer.status_code == 200 and answer.json()["_id"] == id_
        # The fault was Controlled's (before the provider's app), the read after
        # it the front's: counted (clear() zeroed the counters), not the app's.
        assert p.through == [] and hot_calls(p.lean) == 1


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    params=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4),
    start=st.integers(0, 10**6),
    limit=st.integers(1, 1000),
)
def test_apiture_page_links_encode_as_urlencode_does(
    params: dict[str, str], start: int, limit: int
) -> None:
    """The page's links (the kept query encoded once) are what urlencode makes
    of the whole query, as before."""
    page = apiture_query.page(
        [],
        path="/p",
        params=params,
        start=start,
        limit=limit,
        profile="x",
        name=None,
        count=start + 2 * limit,
    )
    kept = {k: v for k, v in params.items() if k not in ("start", "limit")}
    for rel, at in (("self", start), ("first", 0), ("next", start + limit)):
        expected = f"/p?{urlencode({**kept, 'start': at, 'limit': limit})}"
        assert page["_links"][rel]["href"] == expected
