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
from typing import TypeVar

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
from adapters.transport.building import RequestBuilder as RequestBuilder
from adapters.transport.cap import (
    UpstreamTooLarge,
    request_of,
)
from adapters.transport.deadline import retry_after_seconds
from adapters.transport.resilience import (
    CircuitOpen,
    DeadlineExceeded,
)

log = logging.getLogger("gateway.upstream")

T = TypeVar("T")


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
