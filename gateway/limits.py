"""Request-size guard for multipart uploads, enforced while the body streams in.

A GraphQL multipart request larger than ``max_bytes`` is refused with 413 and a
GraphQL error coded ``UPLOAD_TOO_LARGE``: at once when ``Content-Length`` says so,
otherwise as soon as the bytes received pass the limit. Nothing reaches a resolver,
so nothing reaches a provider.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gateway.observability import current

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLarge(Exception):
    pass


async def bounded(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    max_bytes: int,
    refuse: Callable[[Send], Awaitable[None]],
) -> None:
    """Run ``app``, refusing through ``refuse`` once the body passes ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before a byte is read;
    otherwise bytes are counted as they arrive, and the request is cut off there
    (unless the app already answered).
    """
    declared = _content_length(scope)
    if declared is not None and declared > max_bytes:
        await refuse(send)
        return
    received = 0
    started = False

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > max_bytes:
            raise _TooLarge
        return message

    async def tracking_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, counting_receive, tracking_send)
    except _TooLarge:
        if not started:
            await refuse(send)


class UploadLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_multipart(scope):
            await self.app(scope, receive, send)
            return
        await bounded(self.app, scope, receive, send, self.max_bytes, self._refuse)

    async def _refuse(self, send: Send) -> None:
        await refuse_with(
            send,
            413,
            "UPLOAD_TOO_LARGE",
            f"the request is larger than {self.max_bytes} bytes, the gateway's "
            "upload limit",
            limit=self.max_bytes,
        )


async def refuse_with(
    send: Send, status: int, code: str, message: str, **extensions: object
) -> None:
    """Answer a request the gateway refuses with one coded GraphQL error (with
    the request's id, ``gateway.observability``)."""
    info = current()
    if info is not None:
        extensions = {**extensions, "requestId": info.request_id}
        info.outcome = code
        if status == 413:
            info.limit = (
                "upload_bytes" if code == "UPLOAD_TOO_LARGE" else "request_bytes"
            )
        elif status == 401:
            info.auth_failed = True
    body = json.dumps(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status in (408, 413):
        headers.append((b"connection", b"close"))
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return None


def _is_multipart(scope: Scope) -> bool:
    value = _header(scope, b"content-type") or b""
    return value.lower().startswith(b"multipart/")


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
