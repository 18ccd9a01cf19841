"""``POST /webhooks/auco`` and ``POST /webhooks/connectfi/{token}``.

Outside the GraphQL guard (no CSRF, no JWT): the provider is the caller, and
proves it with what it can send. In order, each delivery:

1. **Authenticated** before its body is read: Auco's configured header
   (``GATEWAY_AUCO_WEBHOOK_HEADER``) must carry the secret, connectFi's path the
   token, both compared with :func:`hmac.compare_digest`; otherwise 401 and nothing
   recorded. A receiver with no secret (its provider real and none configured) is
   off: 404.
2. **Read** up to ``GATEWAY_WEBHOOK_MAX_BYTES``; a longer body is 413.
3. **Validated** (:mod:`.bodies`): malformed is 400, logged with the body's size and
   SHA-256 and where it failed, never its values (names, emails, phones).
4. **De-duplicated** (:mod:`.dedupe`): a duplicate or a retry answers 200 and
   publishes nothing.
5. **Published** on the event bus; 200 only after ``publish`` returned. If it
   raises, the claim is released and the answer is 503, so the provider's retry
   publishes it.

With embedded sandboxes (:func:`Webhooks.connect_sandboxes`) the secret and the
token are random per start (unless configured) and the sandboxes deliver to this
app in process, so ``make run`` needs no configuration; their sandbox-only routes
are reachable as ``POST /_sandbox/<provider>/…`` (:func:`embedded_sandbox_route`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.auco.sandbox.store import Store as AucoStore
from adapters.connectfi.sandbox.store import ConnectFiStore
from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from gateway.settings import Settings, secret
from gateway.webhooks.bodies import Event, Malformed, auco_event, connectfi_event
from gateway.webhooks.dedupe import DedupeStore, InMemoryDedupe, LastSeen
from schema.live.bus import EventBus
from schema.live.events import Change

log = logging.getLogger("gateway.webhooks")

AUCO_PATH = "/webhooks/auco"
CONNECTFI_PATH = "/webhooks/connectfi"
# Where the embedded sandboxes post: any host, the transport is the app itself.
IN_PROCESS_URL = "http://gateway.internal"


@dataclass
class Webhooks:
    bus: EventBus
    dedupe: DedupeStore
    last_seen: LastSeen
    max_bytes: int
    auco_header: str
    # None: that receiver is off. Never in a repr (or a log line).
    auco_secret: str | None = field(repr=False)
    connectfi_token: str | None = field(repr=False)
    public_url: str = IN_PROCESS_URL
    sandbox_time_factor: float = 1.0
    # connectFi served by its embedded sandbox (which reaches this app in process).
    connectfi_sandboxed: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, bus: EventBus) -> Webhooks:
        sandboxed = settings.sandboxed()

        def credential(configured: str | None, provider: Provider) -> str | None:
            if configured:
                return configured
            if provider in sandboxed:
                return secrets.token_urlsafe(32)
            log.warning("%s webhooks are off: no secret configured", provider.name)
            return None

        return cls(
            bus=bus,
            dedupe=InMemoryDedupe(
                settings.webhook_dedupe_size, settings.webhook_dedupe_ttl
            ),
            last_seen=LastSeen(settings.webhook_dedupe_size),
            max_bytes=settings.webhook_max_bytes,
            auco_header=settings.auco_webhook_header,
            auco_secret=credential(secret(settings.auco_webhook_secret), Provider.AUCO),
            connectfi_token=credential(
                secret(settings.connectfi_webhook_token), Provider.CONNECTFI
            ),
            public_url=(settings.public_url or IN_PROCESS_URL).rstrip("/"),
            sandbox_time_factor=settings.sandbox_webhook_time_factor,
            connectfi_sandboxed=Provider.CONNECTFI in sandboxed,
        )

    # routes ---------------------------------------------------------------------

    def install(self, app: Starlette) -> None:
        app.add_route(AUCO_PATH, self.auco, methods=["POST"])
        app.add_route(f"{CONNECTFI_PATH}/{{token}}", self.connectfi, methods=["POST"])
        app.add_route(
            "/_sandbox/{provider}/{rest:path}", embedded_sandbox_route, methods=["POST"]
        )

    async def auco(self, request: Request) -> Response:
        if self.auco_secret is None:
            return _answer(404, "not found")
        given = request.headers.get(self.auco_header)
        if not _same(given, self.auco_secret):
            log.warning("auco webhook refused: wrong or missing secret header")
            return _answer(401, "unauthorized")
        return await self._receive(request, "auco", auco_event)

    async def connectfi(self, request: Request) -> Response:
        if self.connectfi_token is None:
            return _answer(404, "not found")
        if not _same(request.path_params["token"], self.connectfi_token):
            log.warning("connectfi webhook refused: wrong path token")
            return _answer(401, "unauthorized")
        return await self._receive(request, "connectfi", connectfi_event)

    async def _receive(
        self,
        request: Request,
        source: str,
        interpret: Callable[[bytes], Event | None],
    ) -> Response:
        raw = await _read(request, self.max_bytes)
        if raw is None:
            log.warning(
                "%s webhook refused: body over %d bytes", source, self.max_bytes
            )
            return _answer(413, "too large")
        digest = hashlib.sha256(raw).hexdigest()[:16]
        try:
            event = interpret(raw)
        except Malformed as exc:
            log.warning(
                "%s webhook refused: malformed (%d bytes, sha256 %s): %s",
                source,
                len(raw),
                digest,
                exc.reason,
            )
            return _answer(400, "malformed")
        if event is None:
            log.info("%s webhook acknowledged, no event (sha256 %s)", source, digest)
            return _answer(200, "ignored")
        if not await self.dedupe.claim(event.event_id):
            log.info(
                "%s webhook %s: duplicate (sha256 %s)", source, event.status, digest
            )
            return _answer(200, "duplicate")
        previous = self.last_seen.swap(f"{event.kind}:{event.key}", event.state)
        change = Change(
            kind=event.kind,
            provider=event.provider,
            key=event.key,
            state=event.state,
            previous_state=previous,
            cause=event.cause,
            event_id=event.event_id,
        )
        try:
            await self.bus.publish(change)
        except Exception:
            await self.dedupe.release(event.event_id)
            log.exception("%s webhook %s: publishing failed", source, event.status)
            return _answer(503, "not recorded, retry")
        log.info("%s webhook %s published (sha256 %s)", source, event.status, digest)
        return _answer(200, "published")

    # embedded sandboxes ---------------------------------------------------------

    def connect_sandboxes(
        self, sandboxes: dict[Provider, Controlled], app: Starlette
    ) -> None:
        """Point the embedded sandboxes' webhooks at this app, in process."""
        # A failure inside the gateway is a 500 to the sandbox, as over a network.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        auco = sandboxes.get(Provider.AUCO)
        if (
            auco is not None
            and isinstance(auco.store, AucoStore)
            and auco.store.webhooks is not None
            and self.auco_secret is not None
        ):
            auco.store.webhooks.configure(
                f"{self.public_url}{AUCO_PATH}",
                self.auco_header,
                self.auco_secret,
                time_factor=self.sandbox_time_factor,
                transport=transport,
            )
        connectfi = sandboxes.get(Provider.CONNECTFI)
        if (
            connectfi is not None
            and isinstance(connectfi.store, ConnectFiStore)
            and self.connectfi_token is not None
        ):
            connectfi.store.webhook_url = self.connectfi_url()
            connectfi.store.webhooks.transport = transport

    def connectfi_url(self) -> str | None:
        """The ``webhookURL`` to give connectFi when identification starts:
        ``GATEWAY_PUBLIC_URL`` + ``/webhooks/connectfi/{token}``. None (no URL
        given) when the receiver is off, or when a real connectFi could not reach
        the gateway (no public URL configured)."""
        if self.connectfi_token is None:
            return None
        if self.public_url == IN_PROCESS_URL and not self.connectfi_sandboxed:
            return None
        return f"{self.public_url}{CONNECTFI_PATH}/{self.connectfi_token}"

    @staticmethod
    async def disconnect_sandboxes(sandboxes: dict[Provider, Controlled]) -> None:
        for sandbox in sandboxes.values():
            store = sandbox.store
            if isinstance(store, AucoStore) and store.webhooks is not None:
                await store.webhooks.sender.aclose()
            elif isinstance(store, ConnectFiStore):
                await store.webhooks.aclose()


def _same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of bytes (``compare_digest`` takes ASCII str only)."""
    if given is None:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8")
    )


async def _read(request: Request, limit: int) -> bytes | None:
    """The body, or None past ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


def _answer(status: int, outcome: str) -> JSONResponse:
    return JSONResponse({"status": outcome}, status_code=status)


async def embedded_sandbox_route(request: Request) -> Response:
    """``POST /_sandbox/{provider}/{rest}``: an embedded sandbox's own sandbox-only
    route (``/_sandbox/{rest}``), so that with ``make run`` a signer signs or a
    review resolves over HTTP and the webhook comes back to this gateway. Only for
    a provider served by its embedded sandbox; 404 otherwise."""
    name = request.path_params["provider"].upper()
    provider = Provider.__members__.get(name)
    upstreams = getattr(request.app.state, "upstreams", None)
    sandboxes = upstreams.sandboxes if upstreams is not None else {}
    sandbox = sandboxes.get(provider) if provider is not None else None
    if sandbox is None:
        return _answer(404, "not found")
    body = await _read(request, 64 * 1024)
    if body is None:
        return _answer(413, "too large")
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        answer = await client.post(
            f"/_sandbox/{request.path_params['rest']}",
            content=body,
            headers={"content-type": "application/json"},
        )
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type"),
    )
