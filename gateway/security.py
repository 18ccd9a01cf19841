"""The guard in front of ``/graphql``: CSRF, request size, authentication.

For every request that runs an operation (a POST, or a GET with a query), before
Strawberry reads the body and long before any provider is called:

- CSRF: a request a browser could send cross-site without a preflight (a GET, a
  ``multipart/form-data``, ``text/plain`` or form-encoded POST) must carry a
  preflight header (``GraphQL-Preflight``, ``Apollo-Require-Preflight`` or
  ``X-Apollo-Operation-Name``); a JSON POST needs none, its content type already
  forces a preflight. The refusal (400, ``CSRF_PREFLIGHT_REQUIRED``) names the
  header to add: urql sends queries as GET by default, and a front-end developer
  should read what to change, not a hint that their query is wrong.
- Size: a non-multipart body over ``max_request_bytes`` is refused (413,
  ``QUERY_TOO_COMPLEX``); multipart uploads are bounded by ``UploadLimit``.
- Authentication: the bearer token becomes the request's caller
  (``request.state.caller``), or the request is refused (401, ``UNAUTHENTICATED``).

The GraphiQL page and its assets need none of this: they carry no data.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from gateway.auth import Authenticator, Unauthenticated
from gateway.limits import ASGIApp, Receive, Scope, Send, bounded, refuse_with

log = logging.getLogger("gateway.security")

PREFLIGHT_HEADERS = (
    b"graphql-preflight",
    b"apollo-require-preflight",
    b"x-apollo-operation-name",
)
CSRF_CODE = "CSRF_PREFLIGHT_REQUIRED"
CSRF_MESSAGE = (
    "this {kind} needs a CSRF preflight header, which no other site can make a "
    "browser send cross-site: add the header 'GraphQL-Preflight: 1' (or "
    "'Apollo-Require-Preflight: true') to GET and multipart requests; a POST "
    "with Content-Type: application/json needs none"
)
SIMPLE_CONTENT_TYPES = (
    b"multipart/form-data",
    b"text/plain",
    b"application/x-www-form-urlencoded",
)


class GraphQLGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        max_request_bytes: int,
        csrf: bool = True,
        path: str = "/graphql",
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.max_request_bytes = max_request_bytes
        self.csrf = csrf
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        method = scope["method"]
        runs = method == "POST"
        if not runs:  # a query string only matters to the other methods
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            runs = method == "GET" and "query" in query
            if not runs and "extensions" in query:
                runs = True  # a persisted query by hash
        if not runs:
            await self.app(scope, receive, send)
            return
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip()
        simple = method == "GET" or content_type.lower() in SIMPLE_CONTENT_TYPES
        if self.csrf and simple and not any(h in headers for h in PREFLIGHT_HEADERS):
            kind = "GET request" if method == "GET" else f"{_text(content_type)} POST"
            await refuse_with(
                send,
                400,
                CSRF_CODE,
                CSRF_MESSAGE.format(kind=kind),
                headers=["GraphQL-Preflight", "Apollo-Require-Preflight"],
            )
            return
        try:
            caller = await self.authenticator.caller(
                _text(headers.get(b"authorization"))
            )
        except Unauthenticated as exc:
            await refuse_with(send, 401, "UNAUTHENTICATED", str(exc))
            return
        scope.setdefault("state", {})["caller"] = caller
        if content_type.lower() == b"multipart/form-data":
            await self.app(scope, receive, send)  # UploadLimit bounds it
            return
        await bounded(
            self.app, scope, receive, send, self.max_request_bytes, self._too_large
        )

    async def _too_large(self, send: Send) -> None:
        await refuse_with(
            send,
            413,
            "QUERY_TOO_COMPLEX",
            f"the request is larger than {self.max_request_bytes} bytes",
        )


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
