"""A lean HTTP/1.1 server for the benchmark's sandboxes: the provider's hot reads
answered straight from its endpoints, everything else through its whole app.

Why: under ``make bench`` a sandbox must cost next to nothing per call (issue 18:
a provider above a third of a core invalidates the row). Measured on the c/mix
call pattern, uvicorn with an ASGI app that answers fixed bytes costs ~95 µs of
CPU per call, a bare ``asyncio.Protocol`` with the same ``httptools`` parser
~25 µs, and the Apiture sandbox under uvicorn ~160 µs (uvicorn, Starlette's
middleware stack and router, the guard, the endpoint). So the server is its own:

- every request is parsed here (``httptools``, as uvicorn does) and counted in the
  sandbox's ``control.counts`` as :class:`~adapters.sandbox_kit.Controlled` counts
  it;
- a **hot read** (a :class:`HotRoute`: a method and one of the app's own Starlette
  routes, e.g. Apiture's ``GET /applications/{applicationId}``) is answered by
  calling that route's endpoint directly, after the provider's ``precheck`` (the
  Apiture guard's credential and contract checks) passed. The endpoint is the
  real one, so the answer is the app's (status, headers, body bytes) and reflects
  every write made before; it is computed at arrival and sent after the sandbox's
  ``--latency``. A route's ``memo`` keeps its 200 answers while what they were
  made from is unchanged (an Apiture detail: the record at its revision), and
  the route a method and path go to is kept, so a kept read runs no endpoint;
- anything else, and any hot read whose precheck or endpoint raises (a refusal,
  a 404, a 400), goes through the whole ASGI app (:class:`SandboxAdmin` →
  :class:`Controlled` → the provider's app), which adds the latency itself and
  answers its exact error. So do all requests while the sandbox logs requests
  (``control.record``), has observers (the test suite's contract check) or
  injected faults, and any request whose path is percent-encoded, a ``HEAD`` or
  under ``/_sandbox/``.

The bridge to the app is a minimal ASGI 3 HTTP server: one request at a time per
connection (answers in order when a client pipelines), the body read whole, the
answer buffered and sent with its ``Content-Length``. Every answer carries a
``Date``; keep-alive unless the client asks to close. No lifespan: no sandbox
app has one.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import (
    Callable,
    Coroutine,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import httptools
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from adapters.sandbox_kit import (
    ADMIN_PREFIX,
    OBSERVERS,
    Message,
    SandboxAdmin,
    Scope,
)

log = logging.getLogger(__name__)

# (scope, body) -> None when the request may go to the endpoint; raising means
# the whole app answers (it refuses the request its own way).
Precheck = Callable[[Scope, bytes], None]


# (scope, path params) -> (key, owner, version): the endpoint's answer is kept
# under ``key`` and served again while the same ``owner`` object (kept alive with
# the answer) is at the same ``version`` (e.g. the key a record's id, the owner
# the record, the version its revision); None when the answer must be made
# afresh. One answer per key: a new version replaces the old.
Memo = Callable[[Scope, Mapping[str, Any]], tuple[Hashable, object, Hashable] | None]
MEMO_KEPT = 20_000  # answers kept per front, at most (then all are dropped)


@dataclass(frozen=True)
class HotRoute:
    """A read the front answers from ``route``'s endpoint: ``method`` at the
    route's path. The endpoint must have no side effect but its answer (it may
    run again through the whole app when it raises). With ``memo``, a 200
    answer is kept and served again while the memo's witness holds."""

    method: str
    route: Route
    memo: Memo | None = None


@dataclass(frozen=True)
class Front:
    """What the server serves: the standalone sandbox and its hot reads."""

    admin: SandboxAdmin
    hot: Sequence[HotRoute] = ()
    precheck: Precheck | None = None
    kept: dict[Hashable, tuple[object, Hashable, Response]] = field(
        default_factory=dict
    )
    routed: dict[tuple[str, str], tuple[HotRoute, Scope] | None] = field(
        default_factory=dict
    )

    def lean(self) -> bool:
        """Whether hot reads may skip the app now: nothing asks to see every
        request (a request log, an observer, an injected fault)."""
        control = self.admin.sandbox.control
        return not (control.record or OBSERVERS or control._rules)

    def answer(self, scope: Scope, body: bytes) -> Response | None:
        """The hot read's answer, or None for the whole app to answer."""
        found = self._route(scope)
        if found is not None:
            hot, child = found
            try:
                if self.precheck is not None:
                    self.precheck(scope, body)
                keyed = hot.memo(scope, child["path_params"]) if hot.memo else None
                if keyed is not None:
                    kept = self.kept.get(keyed[0])
                    if kept and kept[0] is keyed[1] and kept[1] == keyed[2]:
                        return kept[2]
                request = Request({**scope, **child}, _receiver(body))
                answer = run_now(hot.route.endpoint(request))
            except Exception:  # the whole app answers it its way
                return None
            if keyed is not None and answer is not None and answer.status_code == 200:
                if len(self.kept) >= MEMO_KEPT:
                    self.kept.clear()
                self.kept[keyed[0]] = (keyed[1], keyed[2], answer)
            return answer
        return None

    def _route(self, scope: Scope) -> tuple[HotRoute, Scope] | None:
        """The hot route ``scope`` goes to and its child scope (endpoint, path
        parameters), kept by method and path: what Starlette's match reads."""
        key = (scope["method"], scope["path"])
        try:
            return self.routed[key]
        except KeyError:
            pass
        found = None
        for hot in self.hot:
            if hot.method == key[0]:
                match, child = hot.route.matches(scope)
                if match is Match.FULL:
                    found = hot, child
                    break
        if len(self.routed) >= MEMO_KEPT:
            self.routed.clear()
        self.routed[key] = found
        return found


def run_now(coroutine: Coroutine[Any, Any, Any]) -> Response | None:
    """The coroutine's result when it finishes without waiting for anything (an
    endpoint that reads its body and the store); None if it would wait (then it
    is closed and the whole app answers instead)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value if isinstance(done.value, Response) else None
    coroutine.close()
    return None


def _receiver(body: bytes) -> Callable[[], Coroutine[Any, Any, Message]]:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


_date = [0, b""]


def _date_header() -> bytes:
    now = int(time.time())
    if _date[0] != now:
        _date[0] = now
        _date[1] = b"date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
    date: bytes = _date[1]  # type: ignore[assignment]
    return date


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode()


_STATUS_LINES = {s.value: _status_line(s.value) for s in HTTPStatus}


def render(
    status: int,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    *,
    head: bool = False,
    close: bool = False,
) -> bytes:
    """The whole HTTP/1.1 answer: ``Content-Length`` is the body's (set here,
    replacing the app's and any ``Transfer-Encoding``: the body is whole)."""
    start = _head(status, headers, len(body), close)
    no_body = head or status < 200 or status in (204, 304)
    return start + _date_header() + (b"\r\n" if no_body else b"\r\n" + body)


def _head(
    status: int, headers: Iterable[tuple[bytes, bytes]], length: int, close: bool
) -> bytes:
    """The status line and the headers, ``Date`` and the blank line excepted."""
    lines = [_STATUS_LINES.get(status) or _status_line(status)]
    for name, value in headers:
        lowered = name.lower()
        if lowered in (b"content-length", b"transfer-encoding", b"connection"):
            continue
        lines.append(name + b": " + value + b"\r\n")
    if not (status < 200 or status in (204, 304)):
        lines.append(b"content-length: " + str(length).encode() + b"\r\n")
    if close:
        lines.append(b"connection: close\r\n")
    return b"".join(lines)


def rendered(answer: Response, *, close: bool) -> bytes:
    """``render`` of an endpoint's answer, its head made once per answer object
    (a kept answer is sent many times) and kept on it."""
    body = bytes(answer.body)
    status = answer.status_code
    if close:
        return render(status, answer.raw_headers, body, close=True)
    head = getattr(answer, "lean_head", None)
    if head is None:
        head = _head(status, answer.raw_headers, len(body), False)
        setattr(answer, "lean_head", head)  # noqa: B010 - not a Response field
    no_body = status < 200 or status in (204, 304)
    return head + _date_header() + (b"\r\n" if no_body else b"\r\n" + body)


class _Exchange:
    """One request on a connection, and its answer once made."""

    __slots__ = ("answer", "close")

    def __init__(self, close: bool) -> None:
        self.answer: bytes | None = None
        self.close = close


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, front: Front, loop: asyncio.AbstractEventLoop) -> None:
        self.front = front
        self.loop = loop
        self.parser = httptools.HttpRequestParser(self)
        # uvloop's transports are not asyncio.Transport subclasses
        self.transport: Any = None
        self.queue: list[_Exchange] = []
        self.closed = asyncio.Event()
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    # asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        self.server = sock.getsockname()[:2] if sock is not None else None
        self.client = transport.get_extra_info("peername")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(b"upgrades are not served here")
        except httptools.HttpParserError:
            self._refuse(b"malformed HTTP request")

    # httptools callbacks -----------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        parsed = httptools.parse_url(self.url)
        raw_path = parsed.path
        path = raw_path.decode("ascii")
        encoded = "%" in path
        if encoded:
            path = unquote(path)
        method = self.parser.get_method().decode("ascii")
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": self.parser.get_http_version(),
            "server": self.server,
            "client": self.client,
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": raw_path,
            "query_string": parsed.query or b"",
            "headers": self.headers,
            "state": {},
        }
        body = bytes(self.body)
        self._reset()
        exchange = _Exchange(close=not self.parser.should_keep_alive())
        self.queue.append(exchange)
        front = self.front
        if not (encoded or method == "HEAD" or path.startswith(ADMIN_PREFIX)) and (
            front.hot and front.lean()
        ):
            answer = front.answer(scope, body)
            if answer is not None:
                control = front.admin.sandbox.control
                control.counts[method, path] += 1
                data = rendered(answer, close=exchange.close)
                if control.latency:
                    self.loop.call_later(control.latency, self._done, exchange, data)
                else:
                    self._done(exchange, data)
                return
        self.loop.create_task(self._through_app(scope, body, exchange))

    # answers -------------------------------------------------------------------

    def _done(self, exchange: _Exchange, data: bytes) -> None:
        exchange.answer = data
        while self.queue and self.queue[0].answer is not None:
            head = self.queue.pop(0)
            if self.transport is None:
                continue
            self.transport.write(head.answer or b"")
            if head.close:
                self.transport.close()
                self.transport = None

    def _refuse(self, message: bytes) -> None:
        if self.transport is not None:
            self.transport.write(
                render(400, [(b"content-type", b"text/plain")], message, close=True)
            )
            self.transport.close()
            self.transport = None

    async def _through_app(
        self, scope: Scope, body: bytes, exchange: _Exchange
    ) -> None:
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        started = finished = False
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await self.closed.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers, started, finished
            if finished:
                return
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Sent as soon as it is whole: work the app does after its
                    # answer (a background task) does not hold it back.
                    finished = True
                    self._answer(scope, exchange, status, headers, chunks)

        try:
            await self.front.admin(scope, receive, send)
        except Exception:
            log.exception("the sandbox failed on %s %s", scope["method"], scope["path"])
            if not started:  # as uvicorn: a 500 when nothing was sent yet
                finished = True
                self._answer(scope, exchange, 500, [], [b"Internal Server Error"])
        if not finished:  # the app stopped mid-answer: the connection is dropped
            exchange.close = True
            exchange.answer = b""
            if self.transport is not None:
                self.transport.close()
                self.transport = None

    def _answer(
        self,
        scope: Scope,
        exchange: _Exchange,
        status: int,
        headers: list[tuple[bytes, bytes]],
        chunks: list[bytes],
    ) -> None:
        data = render(
            status,
            headers,
            b"".join(chunks),
            head=scope["method"] == "HEAD",
            close=exchange.close,
        )
        self._done(exchange, data)


async def serve(front: Front, host: str, port: int) -> None:
    """Serve ``front`` on ``host:port`` until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HttpProtocol(front, loop), host, port, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def run(front: Front, host: str, port: int) -> None:
    try:
        import uvloop

        uvloop.run(serve(front, host, port))
    except ImportError:  # pragma: no cover - uvloop is installed with uvicorn[standard]
        asyncio.run(serve(front, host, port))


def hot_routes(
    app: Any,
    wanted: Mapping[str, Iterable[str]],
    memos: Mapping[str, Memo] | None = None,
) -> list[HotRoute]:
    """The ``HotRoute`` of each ``method -> route paths`` in ``wanted``, from the
    Starlette ``app``'s routes (a path it does not have is an error), with the
    ``memos`` given by route path."""
    routes = {r.path: r for r in app.routes if isinstance(r, Route)}
    out = []
    for method, paths in wanted.items():
        for path in paths:
            route = routes[path]
            assert route.methods and method in route.methods, (method, path)
            out.append(HotRoute(method, route, (memos or {}).get(path)))
    return out
