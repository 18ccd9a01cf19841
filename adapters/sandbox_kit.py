"""What every provider sandbox shares: a request log, latency and fault injection.

``Controlled(app)`` wraps a provider's ASGI app. Tests and benchmarks reach it through
``control``: every request is recorded (method, path, query, headers, body, start and
end times) so that tests assert what the gateway sent upstream and count the calls;
latency and faults are injected per route.

Under load the log would grow without bound, so ``control.record = False`` keeps
only counters (``control.counts``, per method and path; ``calls()`` reads them).
A sandbox served on its own port is reached through ``SandboxAdmin``, which
answers ``GET /_sandbox/calls`` (the counters), ``POST /_sandbox/reset`` and the
provider's own ``POST /_sandbox/seed/{name}`` hooks (``{"count": n}``) before the
provider's routes; the benchmark reads upstream calls per request there.

Observers: every function in :data:`OBSERVERS` sees each finished call as an
:class:`Exchange` (the request, the answer, the provider's name, whether a fault
answered). The test suite checks every one against the provider's contract
(``contracts/<provider>.yaml``); with no observer nothing is captured, so the
gateway pays nothing for it.

``allowed_methods`` lists the methods a path takes, for the ``Allow`` header a 405
must carry (RFC 9110 §15.5.6); each sandbox answers its 405 in its own error shape.

Faults: an error status (with an optional body and ``Retry-After``), a delay, a hang,
a malformed body, or a dropped connection. In process (``httpx.ASGITransport``) a
dropped connection surfaces as ``httpx.RemoteProtocolError``, which is what a client
sees from a real server that closes the socket mid-request.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    started: float
    ended: float = 0.0


@dataclass(frozen=True)
class Exchange:
    """One finished call to a sandbox, as an observer sees it."""

    provider: str | None
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    faulted: bool  # an injected fault answered, not the provider's code


Observer = Callable[[Exchange], None]
# Called with every finished sandbox call; the test suite installs its contract check.
OBSERVERS: list[Observer] = []


@dataclass
class Fault:
    """One injected misbehaviour. ``times`` None means every matching call."""

    status: int | None = None
    body: bytes = b'{"error": "injected"}'
    content_type: str = "application/json"
    retry_after: str | None = None
    delay: float = 0.0
    hang: bool = False
    malformed: bool = False
    drop: bool = False
    times: int | None = None


@dataclass
class _Rule:
    method: str | None
    pattern: re.Pattern[str]
    fault: Fault


@dataclass
class SandboxControl:
    latency: float = 0.0  # added to every call, seconds
    requests: list[RecordedRequest] = field(default_factory=list)
    # False: count calls (``counts``) but keep no request log, for long loads.
    record: bool = True
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _rules: list[_Rule] = field(default_factory=list)

    def inject(self, path_regex: str, fault: Fault, method: str | None = None) -> None:
        self._rules.append(_Rule(method, re.compile(path_regex), fault))

    def clear(self) -> None:
        self._rules.clear()
        self.reset()

    def reset(self) -> None:
        """Forget the calls seen so far; injected faults stay."""
        self.requests.clear()
        self.counts.clear()

    def calls(self, method: str | None = None, path: str | None = None) -> int:
        if self.record:
            return len(self.matching(method, path))
        return sum(
            n
            for (m, p), n in self.counts.items()
            if (method is None or m == method)
            and (path is None or re.fullmatch(path, p))
        )

    def summary(self) -> dict[str, Any]:
        """The counters as JSON: the total and one entry per ``METHOD path``."""
        routes = {f"{m} {p}": n for (m, p), n in sorted(self.counts.items())}
        return {"total": sum(self.counts.values()), "routes": routes}

    def matching(
        self, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (path is None or re.fullmatch(path, r.path))
        ]

    def _fault_for(self, method: str, path: str) -> Fault | None:
        for rule in self._rules:
            if rule.method not in (None, method) or not rule.pattern.search(path):
                continue
            if rule.fault.times is not None:
                if rule.fault.times <= 0:
                    continue
                rule.fault.times -= 1
            return rule.fault
        return None


class Controlled:
    """ASGI middleware: record, delay, and misbehave on demand."""

    def __init__(
        self, app: ASGIApp, store: Any = None, provider: str | None = None
    ) -> None:
        self.app = app
        self.store = store  # the sandbox's data, for tests that arrange a state
        self.control = SandboxControl()
        # Which provider this simulates, for the observers: given, or the package
        # its store comes from (``adapters.<provider>.…``).
        self.provider = provider or _provider_of(store)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        fault = self.control._fault_for(method, path)
        if OBSERVERS:
            faulted = fault is not None and (
                fault.status is not None or fault.malformed
            )
            send = _Capture(self.provider, scope, body, send, faulted=faulted)
        delay = self.control.latency + (fault.delay if fault else 0.0)
        try:
            if delay:
                await asyncio.sleep(delay)
            if fault and fault.hang:
                await asyncio.Event().wait()
            if fault and fault.drop:
                raise httpx.RemoteProtocolError("connection dropped by the sandbox")
            if fault and (fault.status is not None or fault.malformed):
                await _send_fault(send, fault)
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay, send)
        finally:
            self.control.counts[method, path] += 1
            if self.control.record:
                self.control.requests.append(
                    RecordedRequest(
                        method=method,
                        path=path,
                        query=scope.get("query_string", b"").decode("latin-1"),
                        headers={
                            k.decode("latin-1"): v.decode("latin-1")
                            for k, v in scope["headers"]
                        },
                        body=body,
                        started=started,
                        ended=time.perf_counter(),
                    )
                )


Seeder = Callable[[int], Any]  # n -> what was made, as JSON (e.g. the new ids)
ADMIN_PREFIX = "/_sandbox/"


class SandboxAdmin:
    """ASGI wrapper of a standalone sandbox: its counters and seeding over HTTP.

    ``GET /_sandbox/calls`` answers ``{"total", "routes"}``; ``POST
    /_sandbox/reset`` zeroes them (and drops the request log); ``POST
    /_sandbox/seed/{name}`` with ``{"count": n}`` calls ``seeders[name](n)`` and
    answers what it returns. These requests are not counted. Everything else goes
    to the wrapped sandbox. Only ``gateway sandbox`` adds this: a sandbox embedded
    in the gateway has no admin routes.
    """

    def __init__(
        self, sandbox: Controlled, seeders: Mapping[str, Seeder] | None = None
    ) -> None:
        self.sandbox = sandbox
        self.seeders = dict(seeders or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith(ADMIN_PREFIX)
            # The provider's own sandbox-only routes (webhooks) are its app's.
            or allowed_methods(self.sandbox.app, path)
        ):
            await self.sandbox(scope, receive, send)
            return
        body = await _read_body(receive)
        status, answer = self._answer(scope["method"], path[len(ADMIN_PREFIX) :], body)
        await _send_json(send, status, answer)

    def _answer(self, method: str, action: str, body: bytes) -> tuple[int, Any]:
        control = self.sandbox.control
        if action == "calls" and method == "GET":
            return 200, control.summary()
        if action == "reset" and method == "POST":
            control.reset()
            return 200, control.summary()
        name = action.removeprefix("seed/")
        if name != action and method == "POST":
            seeder = self.seeders.get(name)
            if seeder is None:
                return 404, {"error": f"no seeder {name!r}"}
            try:
                count = json.loads(body or b"{}").get("count")
            except (ValueError, AttributeError):
                count = None
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                return 400, {"error": 'send {"count": n}, n >= 0'}
            return 200, seeder(count)
        return 404, {"error": "unknown sandbox admin route"}


def _provider_of(store: Any) -> str | None:
    module = type(store).__module__.split(".") if store is not None else []
    return module[1] if len(module) > 2 and module[0] == "adapters" else None


class _Capture:
    """``send`` that keeps the answer and hands the exchange to the observers."""

    def __init__(
        self,
        provider: str | None,
        scope: Scope,
        body: bytes,
        send: Send,
        *,
        faulted: bool,
    ) -> None:
        self.provider, self.scope, self.body, self.send = provider, scope, body, send
        self.faulted = faulted
        self.status = 0
        self.headers: dict[str, str] = {}
        self.answer = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in message.get("headers", [])
            }
        elif message["type"] == "http.response.body":
            self.answer.extend(message.get("body", b""))
            if not message.get("more_body"):
                self._observe()
        await self.send(message)

    def _observe(self) -> None:
        scope = self.scope
        exchange = Exchange(
            provider=self.provider,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in scope["headers"]
            },
            body=self.body,
            status=self.status,
            response_headers=self.headers,
            response_body=bytes(self.answer),
            faulted=self.faulted,
        )
        for observer in list(OBSERVERS):
            observer(exchange)


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` says JSON: a JSON API reads no other body."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json"


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method some route of the Starlette ``app`` takes at ``path``."""
    methods: set[str] = set()
    for route in getattr(app, "routes", ()):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) and route.methods:
            methods.update(route.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _read_body(receive: Receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        body.extend(message.get("body", b""))
        if not message.get("more_body"):
            return bytes(body)


async def _send_json(send: Send, status: int, answer: Any) -> None:
    body = json.dumps(answer).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_fault(send: Send, fault: Fault) -> None:
    status = fault.status if fault.status is not None else 200
    body = b'{"code": "0", "data": {' if fault.malformed else fault.body
    headers = [(b"content-type", fault.content_type.encode())]
    if fault.retry_after is not None:
        headers.append((b"retry-after", fault.retry_after.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
