"""The boundary every adapter crosses to reach its provider.

``send`` performs one upstream call and turns transport failures into the domain
errors of :mod:`adapters.errors`, so that no ``httpx`` exception escapes an adapter.
Status codes that mean the same thing for every provider (429, 5xx) are translated
here too; the provider-specific 4xx bodies are each client's business.

Under the client, :class:`adapters.transport.resilience.ResilientTransport` has already
applied the provider's breaker, the request's deadline and the retries: what reaches
``send`` is the call's final outcome.

    breaker open                      → ProviderUnavailable ("circuit open")
    deadline or attempt timeout       → ProviderTimeout
    other transport error             → ProviderUnavailable
    a body its Content-Encoding does
    not decode (httpx.DecodingError)  → ProviderError ("malformed answer")
    a body over the size cap
    (UpstreamTooLarge)                → AnswerTooLarge, a ProviderError
    HTTP 429                          → RateLimited (``retry_after`` when given)
    HTTP 5xx                          → ProviderUnavailable

Answers are read through a size cap (``GATEWAY_MAX_UPSTREAM_BYTES``,
:mod:`adapters.transport.cap`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from json import dumps as json_dumps
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import orjson
from pydantic import TypeAdapter, ValidationError

from adapters.errors import (
    AnswerTooLarge,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from adapters.model import Provider
from adapters.transport.cap import (
    UpstreamTooLarge,
    headers_of,
    request_of,
)
from adapters.transport.deadline import retry_after_seconds
from adapters.transport.paths import ROUTE, template_of
from adapters.transport.resilience import (
    CircuitOpen,
    DeadlineExceeded,
)

log = logging.getLogger("gateway.upstream")

T = TypeVar("T")


class RequestBuilder:
    """``client.build_request`` for paths under the client's base URL, made cheaply.

    httpx parses a request's URL three times (the path, its merge with
    ``base_url``, the query parameters), checking it character by character in
    Python each time, normalizes every header three times over (the client's, the
    merge, the request's own) and merges the client's cookies into every request:
    a fifth of the CPU of a page that reads twenty applications. Here the base URL
    is parsed once, when the builder is made; a call's path and query, when they
    hold only characters httpx would leave as they are (what the adapters write:
    quoted ids, ``urlencode`` output), are set on it without parsing again, and
    the headers are written out once, as bytes, in httpx's order. Anything else
    (another character, a dot segment, a header that is not ASCII, a streamed
    body) takes httpx's own parse. The result is the request httpx would build:
    the same URL, the client's default headers under the call's own, ``Host`` and
    the body's headers where httpx puts them, the client's timeout (tests compare
    the two). No cookies: none of the four providers sets one that a later call
    must send.
    """

    def __init__(
        self, client: httpx.AsyncClient, headers: Mapping[str, str] | None = None
    ) -> None:
        self.client = client
        # httpx keeps a trailing slash on the base path, but a bare host prints
        # without one.
        self.base = str(client.base_url).rstrip("/") + "/"
        # The client's headers, and ``headers`` over them (as if every call
        # gave them first): made into entries once rather than on every call.
        merged = client.headers.copy()
        if headers:
            merged.update(headers)
        self.defaults = list(merged.multi_items())
        self.timeout = client.timeout.as_dict()
        self._base_url = httpx.URL(self.base)
        self._base_path = self._base_url.path
        self._host = self._base_url.netloc
        self._default_raw = list(merged.raw)
        # httpx.Headers' own entries, (name, lower-case name, value), made once.
        self._default_entries = [(k, k.lower(), v) for k, v in self._default_raw]
        ascii_defaults = all(k.isascii() and v.isascii() for k, v in self._default_raw)
        self._fast = ascii_defaults and _url_with(
            self._base_url, self._base_url.path, None
        ) == httpx.URL(self.base)

    def __call__(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: object = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> httpx.Request:
        query = None
        if params:
            query = urlencode([(k, _query_value(v)) for k, v in params.items()])
        extensions = {
            "timeout": dict(self.timeout),
            ROUTE: template_of(path),
            **(extensions or {}),
        }
        if self._fast and (content is None or isinstance(content, bytes)):
            request = self._quick(method, path, query, json, content, headers)
            if request is not None:
                request.extensions = extensions
                return request
        url = self.base + path.lstrip("/")
        if query is not None:
            url += "?" + query
        merged = httpx.Headers(self.defaults)
        if headers:
            merged.update(headers)
        return httpx.Request(
            method,
            url,
            headers=merged,
            content=content,
            json=json,
            extensions=extensions,
        )

    def _quick(
        self,
        method: str,
        path: str,
        query: str | None,
        json: object,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Request | None:
        """The request without parsing, or None when httpx must parse it."""
        full = self._base_path + path.lstrip("/")
        if not _UNCHANGED_PATH.fullmatch(full) or "/." in full:
            return None
        if query is not None and not _UNCHANGED_QUERY.fullmatch(query):
            return None
        entries = self._default_entries
        if headers:
            # httpx.Headers.update: the call's headers replace the client's of
            # the same names and go last.
            given = _ascii_headers(list(headers.items()))
            if given is None:
                return None
            names = {name.lower() for name, _ in given}
            entries = [e for e in entries if e[1] not in names]
            entries += [(k, k.lower(), v) for k, v in given]
        else:
            entries = list(entries)  # each request its own (tracing writes in it)
        method = method.upper()
        body = b""
        if json is not None:
            body = json_dumps(
                json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
            _default_header(entries, b"Content-Length", str(len(body)).encode())
            _default_header(entries, b"Content-Type", b"application/json")
        elif content:
            body = content
            _default_header(entries, b"Content-Length", str(len(body)).encode())
        auto: list[tuple[bytes, bytes, bytes]] = []
        lowered = {lower for _, lower, _ in entries}
        if b"host" not in lowered:
            auto.append((b"Host", b"host", self._host))
        if (
            b"content-length" not in lowered
            and b"transfer-encoding" not in lowered
            and method in ("POST", "PUT", "PATCH")
        ):
            auto.append((b"Content-Length", b"content-length", b"0"))
        return _request(
            method, _url_with(self._base_url, full, query), auto + entries, body
        )


def _request(
    method: str, url: httpx.URL, entries: list[tuple[bytes, bytes, bytes]], body: bytes
) -> httpx.Request:
    """``httpx.Request(method, url, headers=…, stream=httpx.ByteStream(body))``,
    read, its attributes set directly: the headers given as httpx keeps them
    (``Headers._list``: name, lower-case name, value), not normalized again.
    ~5 us of CPU less per upstream call. Checked against httpx's own
    constructor by ``tests/test_private_internals.py``."""
    request = httpx.Request.__new__(httpx.Request)
    request.method = method
    request.url = url
    request.headers = headers_of(entries)
    request.extensions = {}
    request.stream = httpx.ByteStream(body)
    request._content = body
    return request


def _printable_except(excluded: str) -> re.Pattern[str]:
    kept = "".join(c for c in map(chr, range(0x21, 0x7F)) if c not in excluded)
    return re.compile("[" + re.escape(kept) + "]*")


# What httpx's URL parse leaves unchanged: it percent-encodes every other character
# (or refuses it). '%' is in both sets: an escape stays as it is.
_UNCHANGED_PATH = _printable_except('"#<>?`{}')
_UNCHANGED_QUERY = _printable_except('"#<>')


def _url_with(base: httpx.URL, path: str, query: str | None) -> httpx.URL:
    """``base`` with this path and query, both already in httpx's canonical form.

    Private: ``httpx.URL._uri_reference`` (a named tuple of the parsed parts).
    The public ``copy_with`` parses and checks path and query again, on every
    upstream request: ~0.13M instructions of operation a's 5.5M when this was
    measured (benchmarks/README.md, "built with one URL parse"). Checked against
    httpx's own parse when a client is wrapped (``RequestBuilder._fast``) and by
    ``tests/test_private_internals.py``."""
    url = httpx.URL.__new__(httpx.URL)
    ref = base._uri_reference
    # ``ref._replace(path=path, query=query)`` without its generic road (a map
    # over every field): scheme, userinfo, host, port, path, query, fragment.
    url._uri_reference = tuple.__new__(
        type(ref), (ref[0], ref[1], ref[2], ref[3], path, query, ref[6])
    )
    return url


def _ascii_headers(
    items: list[tuple[str, str]],
) -> list[tuple[bytes, bytes]] | None:
    try:
        return [(k.encode("ascii"), v.encode("ascii")) for k, v in items]
    except (UnicodeEncodeError, AttributeError):
        return None


def _default_header(
    entries: list[tuple[bytes, bytes, bytes]], name: bytes, value: bytes
) -> None:
    lower = name.lower()
    if not any(e[1] == lower for e in entries):
        entries.append((name, lower, value))


async def exchange(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """``client.send(request)``, read, without httpx's work this gateway never needs.

    httpx runs every response through its cookie jar (with a urllib request and
    response built around it), and through auth and redirect handling: an eighth
    of a two-call query's CPU. The providers' clients here have no auth, no event
    hooks, no mounts and follow no redirects, and no provider sets a cookie to send
    back, so the call goes straight to the client's transport. Any client that
    has one of those is sent through ``client.send`` as before.
    """
    transport = getattr(client, "_transport", None)
    if (
        not isinstance(transport, httpx.AsyncBaseTransport)
        or client.auth is not None
        or client.follow_redirects
        or any(client.event_hooks.values())
        or getattr(client, "_mounts", None)
        or client.is_closed
    ):
        return await client.send(request)
    response = await transport.handle_async_request(request)
    response.request = request
    if response.is_stream_consumed:
        return response  # read already (every transport of the gateway's)
    try:
        await response.aread()
    except BaseException:
        await response.aclose()
        raise
    return response


def _query_value(value: str | int) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


async def send(
    client: httpx.AsyncClient, provider: Provider, request: httpx.Request
) -> httpx.Response:
    """Send ``request``; map transport errors, 429 and 5xx to domain errors."""
    try:
        response = await exchange(client, request)
    except CircuitOpen as exc:
        raise ProviderUnavailable(
            f"{provider.name} is temporarily unavailable (circuit open)",
            provider=provider,
        ) from exc
    except DeadlineExceeded as exc:
        log.warning("%s: deadline passed: %s", provider.value, request.method)
        raise ProviderTimeout(
            f"{provider.name} did not answer within the request's deadline",
            provider=provider,
        ) from exc
    except httpx.TimeoutException as exc:
        log.warning("%s timed out: %s %s", provider.value, request.method, exc)
        raise ProviderTimeout(
            f"{provider.name} did not answer in time", provider=provider
        ) from exc
    except httpx.TransportError as exc:
        log.warning("%s unreachable: %s %r", provider.value, request.method, exc)
        raise ProviderUnavailable(
            f"{provider.name} is unreachable", provider=provider
        ) from exc
    except UpstreamTooLarge as exc:
        log.warning(
            "%s: answer over %d bytes refused: %s %s",
            provider.value,
            exc.limit,
            request.method,
            request.url.path,
        )
        raise AnswerTooLarge(
            f"{provider.name} sent an answer too large to read",
            limit=exc.limit,
            provider=provider,
        ) from exc
    except httpx.DecodingError as exc:
        log.warning("%s: undecodable body: %s %r", provider.value, request.method, exc)
        raise ProviderError(
            f"{provider.name} sent a malformed answer", provider=provider
        ) from exc
    if response.status_code == 429:
        raise RateLimited(
            f"{provider.name} is rate limiting the gateway",
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
            provider=provider,
        )
    if response.status_code >= 500:
        log.warning(
            "%s answered %s to %s %s",
            provider.value,
            response.status_code,
            request.method,
            request.url.path,
        )
        raise ProviderUnavailable(
            f"{provider.name} failed (HTTP {response.status_code})", provider=provider
        )
    return response


def json_body(response: httpx.Response, provider: Provider) -> object:
    """The decoded JSON body, or ``ProviderError`` when it is not JSON."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        pass  # not UTF-8, NaN…: what json makes of it
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderError(
            f"{provider.name} sent a malformed answer", provider=provider
        ) from exc


def validated(
    adapter: TypeAdapter[T], response: httpx.Response, provider: Provider
) -> T:
    """The body checked against its declared shape in one pass, from its bytes;
    ``ProviderError`` ("malformed answer") when it is not JSON or does not fit.

    A body pydantic-core cannot read as JSON (not UTF-8…) gets :func:`json_body`'s
    second chance, then the same check.
    """
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        if any(e["type"] != "json_invalid" for e in exc.errors(include_url=False)):
            _log_misfit(provider, response, exc)
            raise ProviderError(
                f"{provider.name} sent a malformed answer", provider=provider
            ) from exc
    try:
        return adapter.validate_python(json_body(response, provider))
    except ValidationError as exc:
        _log_misfit(provider, response, exc)
        raise ProviderError(
            f"{provider.name} sent a malformed answer", provider=provider
        ) from exc


def _log_misfit(
    provider: Provider, response: httpx.Response, exc: ValidationError
) -> None:
    """Where the answer departs from its shape (locations and error types only:
    never a value from the body)."""
    where = [
        ".".join(str(p) for p in e["loc"]) + ":" + e["type"]
        for e in exc.errors(include_url=False, include_input=False)[:5]
    ]
    request = request_of(response)
    path = request.url.path if request is not None else "?"
    log.warning("%s: answer to %s does not fit: %s", provider.value, path, where)
