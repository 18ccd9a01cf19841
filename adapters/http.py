"""The boundary every adapter crosses to reach its provider.

``send`` performs one upstream call and turns transport failures into the domain
errors of :mod:`adapters.errors`, so that no ``httpx`` exception escapes an adapter.
Status codes that mean the same thing for every provider (429, 5xx) are translated
here too; the provider-specific 4xx bodies are each client's business.

Under the client, :class:`adapters.resilience.ResilientTransport` has already applied
the provider's breaker, the request's deadline and the retries: what reaches ``send``
is the call's final outcome.

    breaker open                      → ProviderUnavailable ("circuit open")
    deadline or attempt timeout       → ProviderTimeout
    other transport error             → ProviderUnavailable
    HTTP 429                          → RateLimited (``retry_after`` when given)
    HTTP 5xx                          → ProviderUnavailable
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from adapters.errors import (
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from adapters.model import Provider
from adapters.resilience import CircuitOpen, DeadlineExceeded, retry_after_seconds

log = logging.getLogger("gateway.upstream")


class RequestBuilder:
    """``client.build_request`` for paths under the client's base URL, made cheaply.

    httpx parses a request's URL three times (the path, its merge with
    ``base_url``, the query parameters) and merges the client's cookies into every
    request; that was a tenth of a one-record query. Here the URL is written out
    whole and parsed once, by the request. The result is the request httpx would
    build: the same URL (query encoded as ``httpx.QueryParams`` encodes it), the
    client's default headers under the call's own, the client's timeout. No
    cookies: none of the four providers sets one that a later call must send.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        # httpx keeps a trailing slash on the base path, but a bare host prints
        # without one.
        self.base = str(client.base_url).rstrip("/") + "/"
        self.defaults = list(client.headers.multi_items())
        self.timeout = client.timeout.as_dict()

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
        url = self.base + path.lstrip("/")
        if params:
            url += "?" + urlencode([(k, _query_value(v)) for k, v in params.items()])
        merged = httpx.Headers(self.defaults)
        if headers:
            merged.update(headers)
        return httpx.Request(
            method,
            url,
            headers=merged,
            content=content,
            json=json,
            extensions={"timeout": dict(self.timeout), **(extensions or {})},
        )


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
