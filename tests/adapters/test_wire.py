"""The HTTP/1.1 client under the pooled transport (adapters/transport/wire.py).

Parsing is checked byte by byte on a connection fed by hand (any split of a valid
answer reads the same; garbage or a cut answer ends in the error the table
gives, at once, never a hang); pooling, framing and TLS against real sockets on
loopback, counted on the server's side."""

from __future__ import annotations

import asyncio
import itertools
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.transport.cap import UpstreamTooLarge
from adapters.transport.pooled import PooledTransport
from adapters.transport.wire import Connection
from adapters.transport.wire_pool import Pool

FAST = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ORIGIN = ("http", "provider.test", 80)

# a connection fed by hand --------------------------------------------------


class FakeTransport:
    """What a Connection writes to; closing it reports the loss as asyncio would."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        if not self.closing:
            self.closing = True
            self.conn.loop.call_soon(self.conn.connection_lost, None)

    close = abort


def hand_fed(pool: Pool) -> tuple[Connection, FakeTransport]:
    conn = Connection(pool, ORIGIN)
    fake = FakeTransport(conn)
    pool.opened += 1
    conn.connection_made(fake)  # type: ignore[arg-type]
    return conn, fake


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    framing: str  # "length", "chunked" or "eof"
    chunks: list[int] = field(default_factory=list)

    def wire(self) -> bytes:
        head = [b"HTTP/1.1 %d Whatever\r\n" % self.status]
        head += [b"%b: %b\r\n" % pair for pair in self.headers]
        if self.framing == "length":
            head.append(b"Content-Length: %d\r\n" % len(self.body))
            return b"".join([*head, b"\r\n", self.body])
        if self.framing == "eof":
            return b"".join([*head, b"Connection: close\r\n\r\n", self.body])
        head.append(b"Transfer-Encoding: chunked\r\n\r\n")
        parts, rest = [], self.body
        for size in self.chunks:
            if rest:
                parts.append(b"%x\r\n%b\r\n" % (len(rest[:size]), rest[:size]))
                rest = rest[size:]
        if rest:
            parts.append(b"%x\r\n%b\r\n" % (len(rest), rest))
        return b"".join([*head, *parts, b"0\r\n\r\n"])

    def framing_headers(self) -> list[tuple[bytes, bytes]]:
        if self.framing == "length":
            return [(b"Content-Length", b"%d" % len(self.body))]
        if self.framing == "eof":
            return [(b"Connection", b"close")]
        return [(b"Transfer-Encoding", b"chunked")]


TOKEN = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789-_", min_size=1, max_size=12
)
VALUE = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20
)
RESERVED = {"content-length", "transfer-encoding", "connection"}


@st.composite
def answers(
    draw: st.DrawFn, framings: tuple[str, ...] = ("length", "chunked", "eof")
) -> Answer:
    framing = draw(st.sampled_from(framings))
    status = draw(
        st.sampled_from([200, 201, 202, 301, 302, 400, 404, 409, 422, 500, 503])
    )
    names = draw(
        st.lists(TOKEN.filter(lambda n: n.lower() not in RESERVED), max_size=6)
    )
    headers = [(n.encode(), draw(VALUE).encode()) for n in names]
    body = draw(st.binary(max_size=3000))
    chunks = draw(st.lists(st.integers(1, 700), max_size=8))
    return Answer(status, headers, body, framing, chunks)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


async def exchange_fed(
    conn: Connection,
    pieces: list[bytes],
    *,
    eof: bool,
    limit: int = 1 << 20,
    method: str = "GET",
) -> asyncio.Task[None]:
    """Run an exchange and feed ``pieces`` to it (then EOF if ``eof``); the task
    is returned finished: parsing is synchronous, nothing may be left waiting."""
    request = httpx.Request(method, "http://provider.test/x")
    task = asyncio.ensure_future(
        conn.exchange(
            request,
            b"GET /x HTTP/1.1\r\n\r\n",
            b"",
            chunked=False,
            read_timeout=None,
            write_timeout=None,
            limit=limit,
        )
    )
    await asyncio.sleep(0)  # it writes and waits for the answer
    for piece in pieces:
        if not conn.lost and not (conn.transport and conn.transport.is_closing()):
            conn.data_received(piece)
    if eof and not conn.lost:
        conn.connection_lost(None)
    for _ in range(3):  # a few loop iterations at most; never a timer
        await asyncio.sleep(0)
    assert task.done(), "the exchange is still waiting"
    return task


def run(coro: Awaitable[Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@FAST
@given(answer=answers(), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_a_valid_answer_split_anywhere_reads_the_same(
    answer: Answer, cuts: list[int]
) -> None:
    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 10, 5.0)
        conn, _ = hand_fed(pool)
        pieces = split(answer.wire(), cuts)
        task = await exchange_fed(conn, pieces, eof=answer.framing == "eof")
        task.result()
        assert conn.status == answer.status
        assert conn.headers.raw == answer.headers + answer.framing_headers()
        assert b"".join(conn.body) == answer.body

    run(check())


@FAST
@given(
    garbage=st.binary(max_size=400).filter(
        lambda b: not b.lstrip(b"\r\n").startswith(b"H")
    ),
    cuts=st.lists(st.integers(0, 1000), max_size=6),
)
def test_garbage_is_a_remote_protocol_error(garbage: bytes, cuts: list[int]) -> None:
    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 10, 5.0)
        conn, _ = hand_fed(pool)
        task = await exchange_fed(conn, split(garbage, cuts), eof=True)
        with pytest.raises(httpx.RemoteProtocolError):
            task.result()
        assert not conn.alive()

    run(check())


@FAST
@given(answer=answers(("length", "chunked")), data=st.data())
def test_a_cut_answer_is_never_taken_for_a_whole_one(
    answer: Answer, data: st.DataObject
) -> None:
    whole = answer.wire()
    cut = data.draw(st.integers(0, len(whole) - 1))
    head_end = whole.index(b"\r\n\r\n") + 4

    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 10, 5.0)
        conn, _ = hand_fed(pool)
        task = await exchange_fed(conn, [whole[:cut]], eof=True)
        expected = httpx.RemoteProtocolError if cut < head_end else httpx.ReadError
        with pytest.raises(expected):
            task.result()

    run(check())


@FAST
@given(
    sequence=st.lists(answers(("length", "chunked")), min_size=1, max_size=5),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_one_kept_alive_connection_reads_a_sequence_of_answers(
    sequence: list[Answer], cuts: list[int]
) -> None:
    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 1, 5.0)
        first, fake = hand_fed(pool)
        pool.release(first)  # idle in the pool, as after an earlier answer
        for answer in sequence:
            request = httpx.Request("GET", "http://provider.test/x")
            conn = await pool.acquire(ORIGIN, request, None, 5.0)
            assert conn is first  # taken again, never a second connection
            task = await exchange_fed(conn, split(answer.wire(), cuts), eof=False)
            task.result()
            assert (conn.status, b"".join(conn.body)) == (answer.status, answer.body)
            pool.release(conn)
        assert pool.opened == 1 and not fake.closing
        assert len(fake.written) == len(sequence)

    run(check())


def test_an_idle_connection_already_closing_is_not_taken_again() -> None:
    # Closed by the server, its connection_lost not yet delivered by the loop.
    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 2, 5.0)
        first, fake = hand_fed(pool)
        pool.release(first)
        fake.closing = True
        opened: list[Connection] = []

        async def connect(*args: Any) -> Connection:  # counted by acquire already
            conn = Connection(pool, ORIGIN)
            conn.connection_made(FakeTransport(conn))  # type: ignore[arg-type]
            opened.append(conn)
            return conn

        pool._connect = connect  # type: ignore[method-assign]
        request = httpx.Request("GET", "http://provider.test/x")
        taken = await pool.acquire(ORIGIN, request, None, 5.0)
        assert opened == [taken] and taken is not first and not fake.written

    run(check())


def test_an_answer_nobody_asked_for_closes_an_idle_connection() -> None:
    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 1, 5.0)
        conn, fake = hand_fed(pool)
        answer = Answer(200, [], b"ok", "length").wire()
        (await exchange_fed(conn, [answer], eof=False)).result()
        pool.release(conn)
        conn.data_received(answer)  # while idle
        assert fake.closing and not conn.alive()

    run(check())


def test_an_upload_goes_out_part_by_part_as_it_is_read() -> None:
    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 1, 5.0)
        conn, fake = hand_fed(pool)
        sent_before: list[bytes] = []

        async def parts() -> AsyncIterator[bytes]:
            for n in range(3):
                yield bytes([65 + n]) * 1000
                # asked for the next part: the one before is on the wire already
                sent_before.append(b"".join(fake.written))

        request = httpx.Request("POST", "http://provider.test/up", content=parts())
        task = asyncio.ensure_future(
            conn.exchange(
                request,
                b"POST /up HTTP/1.1\r\n\r\n",
                request.stream,  # type: ignore[arg-type]
                chunked=True,
                read_timeout=None,
                write_timeout=None,
                limit=1 << 20,
            )
        )
        while not task.done() and len(sent_before) < 3:
            await asyncio.sleep(0)
        framed = [b"3e8\r\n" + bytes([65 + n]) * 1000 + b"\r\n" for n in range(3)]
        head = b"POST /up HTTP/1.1\r\n\r\n"
        assert sent_before == [head + b"".join(framed[: n + 1]) for n in range(3)]
        conn.data_received(Answer(201, [], b"", "length").wire())
        await task
        assert b"".join(fake.written) == head + b"".join(framed) + b"0\r\n\r\n"
        assert conn.status == 201

    run(check())


def test_an_informational_answer_is_passed_over() -> None:
    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 1, 5.0)
        conn, _ = hand_fed(pool)
        early = b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
        answer = Answer(201, [(b"X-Real", b"yes")], b"made", "length").wire()
        (await exchange_fed(conn, [early + answer], eof=False)).result()
        assert (conn.status, b"".join(conn.body)) == (201, b"made")
        assert conn.headers.raw == [(b"X-Real", b"yes"), (b"Content-Length", b"4")]
        assert conn.alive()

    run(check())


def test_a_body_past_the_cap_stops_the_reading() -> None:
    async def check() -> None:
        pool = Pool(asyncio.get_running_loop(), 1, 5.0)
        conn, fake = hand_fed(pool)
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
        task = await exchange_fed(
            conn, [head, chunk, chunk, chunk], eof=False, limit=1500
        )
        with pytest.raises(UpstreamTooLarge):
            task.result()
        assert fake.closing and b"".join(conn.body) == b"x" * 1024

    run(check())


# real sockets --------------------------------------------------------------


Handler = Callable[
    ["Upstream", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]
]


@dataclass
class Upstream:
    """A loopback server counting its connections (opened, open at once, ended)."""

    handler: Handler
    port: int = 0
    opened: int = 0
    open_now: int = 0
    most_open: int = 0
    ended: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.opened += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            await self.handler(self, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            self.ended += 1
            writer.close()

    async def head(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        return head


@pytest.fixture
async def upstream(request: pytest.FixtureRequest) -> AsyncIterator[Upstream]:
    running = Upstream(request.param)
    server = await asyncio.start_server(running.handle, "127.0.0.1", 0)
    running.port = server.sockets[0].getsockname()[1]
    async with server:
        yield running
        server.close()


def ok(body: bytes = b"ok", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n%b" % (
        len(body),
        extra,
        body,
    )


async def keep_answering(
    up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while True:
        head = await up.head(reader)
        if b"content-length" in head.lower():
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        await asyncio.sleep(0.01)  # long enough for the others to pile up
        writer.write(ok())
        await writer.drain()


async def answer_then_close(
    up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await up.head(reader)
    writer.write(ok())  # no Connection: close said: the client finds out
    await writer.drain()


async def answer_saying_close(
    up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while True:
        await up.head(reader)
        writer.write(ok(extra=b"Connection: close\r\n"))  # and keeps it open
        await writer.drain()


async def answer_to_eof(
    up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await up.head(reader)
    writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
    for n in range(5):
        writer.write(bytes([65 + n]) * 10_000)
        await writer.drain()


def client(up: Upstream, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=PooledTransport(**options), base_url=f"http://127.0.0.1:{up.port}"
    )


@pytest.mark.parametrize("upstream", [keep_answering], indirect=True)
async def test_sequential_requests_share_one_connection(upstream: Upstream) -> None:
    async with client(upstream, max_connections=2) as http:
        for _ in range(8):
            assert (await http.get("/a")).content == b"ok"
    assert (upstream.opened, len(upstream.requests)) == (1, 8)


@pytest.mark.parametrize("upstream", [keep_answering], indirect=True)
async def test_concurrent_requests_never_open_more_than_max_connections(
    upstream: Upstream,
) -> None:
    async with client(upstream, max_connections=2) as http:
        answers = await asyncio.gather(*(http.get(f"/a{n}") for n in range(12)))
    assert [a.content for a in answers] == [b"ok"] * 12
    assert upstream.most_open == 2 and upstream.opened == 2
    assert len(upstream.requests) == 12


@pytest.mark.parametrize("upstream", [keep_answering], indirect=True)
async def test_waiting_for_a_free_connection_counts_against_the_pool_timeout(
    upstream: Upstream,
) -> None:
    async with client(upstream, max_connections=1) as http:
        first = asyncio.ensure_future(http.get("/slow"))
        await asyncio.sleep(0)
        with pytest.raises(httpx.PoolTimeout):
            await http.get("/waits", timeout=httpx.Timeout(5.0, pool=0.001))
        assert (await first).content == b"ok"
    assert upstream.opened == 1 and len(upstream.requests) == 1


@pytest.mark.parametrize("upstream", [answer_then_close], indirect=True)
async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    upstream: Upstream,
) -> None:
    async with client(upstream) as http:
        assert (await http.get("/one")).content == b"ok"
        while upstream.ended < 1:  # the server has closed its end
            await asyncio.sleep(0)
        for _ in range(20):  # the loop sees the EOF
            await asyncio.sleep(0)
        assert (await http.get("/two")).content == b"ok"
    assert upstream.opened == 2 and len(upstream.requests) == 2


@pytest.mark.parametrize("upstream", [keep_answering], indirect=True)
async def test_an_expired_connection_is_not_reused(upstream: Upstream) -> None:
    async with client(upstream, keepalive_expiry=0.0) as http:
        for _ in range(3):
            assert (await http.get("/a")).content == b"ok"
    assert upstream.opened == 3


@pytest.mark.parametrize("upstream", [answer_saying_close], indirect=True)
async def test_connection_close_is_honoured(upstream: Upstream) -> None:
    async with client(upstream) as http:
        for _ in range(3):
            assert (await http.get("/a")).content == b"ok"
    assert upstream.opened == 3


@pytest.mark.parametrize("upstream", [answer_to_eof], indirect=True)
async def test_an_answer_without_a_length_is_read_to_eof(upstream: Upstream) -> None:
    async with client(upstream) as http:
        response = await http.get("/a")
    assert response.content == b"".join(bytes([65 + n]) * 10_000 for n in range(5))


@pytest.mark.parametrize("upstream", [keep_answering], indirect=True)
async def test_aclose_closes_every_connection(upstream: Upstream) -> None:
    transport = PooledTransport(max_connections=3)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://127.0.0.1:{upstream.port}"
    ) as http:
        await asyncio.gather(*(http.get("/a") for _ in range(3)))
    while upstream.ended < upstream.opened:  # each handler sees its EOF
        await asyncio.sleep(0.001)
    assert upstream.opened == 3 and upstream.open_now == 0


@pytest.mark.parametrize("upstream", [keep_answering], indirect=True)
async def test_an_upload_with_a_length_is_sent_unframed(upstream: Upstream) -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b"defg"

    async with client(upstream) as http:
        response = await http.post(
            "/up", content=parts(), headers={"Content-Length": "7"}
        )
    assert response.content == b"ok"
    (head,) = upstream.requests
    assert b"Content-Length: 7" in head and b"transfer-encoding" not in head.lower()


@FAST
@given(
    value=st.text(st.characters(max_codepoint=0x7E), min_size=1, max_size=20).filter(
        lambda v: any(c in v for c in "\r\n\0")
    )
)
def test_a_header_that_would_split_the_head_is_never_sent(value: str) -> None:
    async def check() -> None:
        transport = PooledTransport()
        request = httpx.Request("GET", "http://127.0.0.1:9/", headers={"X-Id": value})
        with pytest.raises(httpx.LocalProtocolError):
            await transport.handle_async_request(request)
        assert transport._pool is not None and transport._pool.opened == 0
        await transport.aclose()

    run(check())


def test_requests_go_through_under_uvloop() -> None:
    async def check() -> tuple[list[bytes], int]:
        up = Upstream(keep_answering)
        server = await asyncio.start_server(up.handle, "127.0.0.1", 0)
        up.port = server.sockets[0].getsockname()[1]
        async with server, client(up, max_connections=2) as http:
            answers = await asyncio.gather(*(http.get("/a") for _ in range(6)))
        return [a.content for a in answers], up.opened

    loop = uvloop.new_event_loop()
    try:
        contents, opened = loop.run_until_complete(check())
    finally:
        loop.close()
    assert contents == [b"ok"] * 6 and opened <= 2


# https ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` (the openssl command line)."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no openssl to make a certificate: {exc}")
    return cert, key


async def tls_upstream(cert: Path, key: Path) -> tuple[Upstream, asyncio.Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    up = Upstream(keep_answering)
    server = await asyncio.start_server(up.handle, "127.0.0.1", 0, ssl=context)
    up.port = server.sockets[0].getsockname()[1]
    return up, server


async def test_https_verifies_the_certificate_for_the_host_name(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    up, server = await tls_upstream(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with server:
        transport = PooledTransport(ssl_context=trusting)
        async with httpx.AsyncClient(transport=transport) as http:
            for _ in range(3):
                answer = await http.get(f"https://localhost:{up.port}/a")
                assert answer.content == b"ok"
            # the same server by another name: the certificate does not match
            with pytest.raises(httpx.ConnectError, match="mismatch"):
                await http.get(f"https://127.0.0.1:{up.port}/a")
        # not trusted by the system's store (the default context)
        async with httpx.AsyncClient(transport=PooledTransport()) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(f"https://localhost:{up.port}/a")
    assert len(up.requests) == 3


async def test_https_uses_the_default_context_and_the_host_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []

    async def refuse(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs)
        raise ConnectionRefusedError("refused")

    transport = PooledTransport()
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "create_connection", refuse)
    with pytest.raises(httpx.ConnectError):
        await transport.handle_async_request(
            httpx.Request("GET", "https://bank.example/v1/x")
        )
    (kwargs,) = calls
    assert kwargs["server_hostname"] == "bank.example"
    context = kwargs["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    await transport.aclose()
