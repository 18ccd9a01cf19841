"""ASGI middleware in front of the sandbox's routes: what Apiture refuses before
any endpoint runs (credentials, method, parameters, body), per
:mod:`adapters.apiture.sandbox.contract`. The endpoints then see only requests
that fit the contract, so a wrongly typed field is a 400, never a crash.

Credentials (contract ``x-security-inference``): ``API-Key`` and ``Authorization:
Bearer`` together, each the sandbox's own (``DEMO_API_KEY``, ``DEMO_ACCESS_TOKEN``,
which the gateway sends to its embedded sandbox). A missing or other value is 401;
the message says which header, never echoes it. A method a documented path does not
take is 405 with ``Allow`` before the credentials are looked at (the contract's
``info.x-inference``).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Hashable

from adapters.apiture.sandbox import hal
from adapters.apiture.sandbox.contract import Contract
from adapters.apiture.sandbox.store import ApiError, Store
from adapters.sandbox_kit import ASGIApp, Message, Receive, Scope, Send

DEMO_API_KEY = "sandbox-api-key"
DEMO_ACCESS_TOKEN = "sandbox-access-token"
HAL = "application/hal+json"
PASSED_KEPT = 50_000


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        contract: Contract,
        store: Store,
        *,
        api_key: str = DEMO_API_KEY,
        access_token: str = DEMO_ACCESS_TOKEN,
    ) -> None:
        self.app = app
        self.contract = contract
        self.store = store
        self.api_key = api_key
        self.access_token = access_token
        self._passed: set[Hashable] = set()  # see ``check``
        # The headers the checks read: the credentials, Content-Type and every
        # header parameter of the contract.
        self._read = frozenset(
            {b"api-key", b"authorization", b"content-type"}
            | {
                str(parameter["name"]).lower().encode("latin-1")
                for route in contract.routes
                for operation in route.operations.values()
                for parameter in map(contract.resolve, operation["parameters"])
                if parameter["in"] == "header"
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in scope["headers"]
        }
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        try:
            self._check(scope, headers, bytes(body))
        except ApiError as exc:
            await self._refuse(send, exc)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def check(self, scope: Scope, body: bytes) -> None:
        """Raise the :class:`ApiError` this guard refuses the request with, if
        any (for a front that answers some reads without the whole app).

        The verdict is a function of the method, path, query, body and the
        headers the checks read (``_read``) alone, so a bodiless request that
        passed once passes again without the contract being walked: up to
        :data:`PASSED_KEPT` of them are kept."""
        key = None
        if not body:
            read = self._read
            key = (
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                tuple((k, v) for k, v in scope["headers"] if k.lower() in read),
            )
            if key in self._passed:
                return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in scope["headers"]
        }
        self._check(scope, headers, body)
        if key is not None:
            if len(self._passed) >= PASSED_KEPT:
                self._passed.clear()
            self._passed.add(key)

    def _check(self, scope: Scope, headers: dict[str, str], body: bytes) -> None:
        route = self.contract.route(scope["path"])
        if route is None:
            self._check_credentials(headers)
            return  # the app answers 404
        # A method the path does not take is 405 whoever asks: the answer names
        # the methods of a documented path, nothing of any record.
        operation = route.operations.get(scope["method"])
        if operation is None:
            allow = ", ".join(route.operations)
            raise _MethodNotAllowed(
                405,
                "methodNotAllowed",
                f"{scope['method']} is not allowed here; allowed: {allow}.",
                attributes={"allow": list(route.operations)},
            ).allowing(allow)
        self._check_credentials(headers)
        query = scope.get("query_string", b"").decode("latin-1")
        self.contract.check_request(operation, query, headers, body)

    def _check_credentials(self, headers: dict[str, str]) -> None:
        key = headers.get("api-key")
        if key is None or not _same(key, self.api_key):
            raise ApiError(
                401,
                "invalidApiKey" if key is not None else "apiKeyRequired",
                "A valid API-Key request header is required.",
                remediation="Pass the client application's API key in API-Key.",
            )
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not _same(token.strip(), self.access_token):
            raise ApiError(
                401,
                "invalidAccessToken" if token else "accessTokenRequired",
                "A valid access token is required in Authorization: Bearer.",
                remediation="Obtain an access token and pass it as a bearer token.",
            )

    async def _refuse(self, send: Send, exc: ApiError) -> None:
        answer = hal.error_body(exc, self.store.new_id(), self.store.now())
        content = json.dumps(answer).encode()
        headers = [
            (b"content-type", HAL.encode()),
            (b"content-length", str(len(content)).encode()),
        ]
        if isinstance(exc, _MethodNotAllowed):
            headers.append((b"allow", exc.allow.encode()))
        if exc.status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="apiture"'))
        await send(
            {"type": "http.response.start", "status": exc.status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": content})


class _MethodNotAllowed(ApiError):
    allow = ""

    def allowing(self, allow: str) -> _MethodNotAllowed:
        self.allow = allow
        return self


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
