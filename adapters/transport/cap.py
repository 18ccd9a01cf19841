"""The size cap on every answer (``GATEWAY_MAX_UPSTREAM_BYTES``).

:func:`read_within` refuses a declared ``Content-Length`` above it before reading,
stops reading the body as soon as it passes it, and caps the decoded size too,
feeding a compressed body to its decoder a few KiB at a time so that a small gzip
bomb stops inflating at the cap. :class:`CappedTransport` applies it to any httpx
transport (the in-process sandboxes);
:class:`adapters.transport.pooled.PooledTransport` applies it to what its own
HTTP/1.1 client reads. :func:`adapters.transport.http.send` turns
:class:`UpstreamTooLarge` into ``AnswerTooLarge``.
"""

from __future__ import annotations

from typing import Protocol

import httpx

DEFAULT_MAX_ANSWER_BYTES = 24 * 1024 * 1024
# Compressed bytes given to the decoder at once: deflate inflates at most ~1032:1,
# so one step can overshoot the cap by ~4 MiB at worst, never by the whole bomb.
_DECODE_STEP = 4096


class Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class UpstreamTooLarge(httpx.DecodingError):
    """An answer (as sent, or decoded) over the size cap. A DecodingError: not a
    transport failure, so never retried and no mark against the breaker."""

    def __init__(self, limit: int, *, request: httpx.Request | None = None) -> None:
        super().__init__(f"answer over {limit} bytes", request=request)
        self.limit = limit


def _declared_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def refuse_declared(
    headers: httpx.Headers, limit: int, request: httpx.Request | None
) -> None:
    """``UpstreamTooLarge`` when the answer announces more than ``limit`` bytes.
    (The answer to a HEAD announces the size of a body it does not carry.)"""
    if request is not None and request.method == "HEAD":
        return
    declared = _declared_length(headers)
    if declared is not None and declared > limit:
        raise UpstreamTooLarge(limit, request=request)


def request_of(response: httpx.Response) -> httpx.Request | None:
    """The request ``response`` answers; None for one made without a request."""
    try:
        return response.request
    except RuntimeError:  # httpx: "The request instance has not been set"
        return None


def content_decoder(response: httpx.Response) -> Decoder:
    """httpx's decoder for the response's ``Content-Encoding`` (private:
    ``Response._get_content_decoder``; ``decode(bytes)``, ``flush()``). httpx's
    public ``aiter_bytes`` decodes each raw chunk whole, so a small compressed
    chunk could expand past the cap before it is counted; fed a few KiB at a time
    here, it never does. The same decoders as httpx's (gzip, deflate, and br and
    zstd when installed), chosen as it chooses them."""
    return response._get_content_decoder()


async def read_within(response: httpx.Response, limit: int) -> None:
    """Read ``response`` (decoded, as ``aread`` would) without ever holding more
    than ``limit`` bytes of it, raw or decoded; ``UpstreamTooLarge`` past that.

    Afterwards the response is read: ``content`` is the decoded body and the
    layers above take it as it is.
    """
    request = request_of(response)
    if response.is_stream_consumed:  # made with ``content=``: in memory, decoded
        if len(response.content) > limit:
            raise UpstreamTooLarge(limit, request=request)
        return
    try:
        refuse_declared(response.headers, limit, request)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        decoder = None if encoding in ("", "identity") else content_decoder(response)
        parts: list[bytes] = []
        raw_total = total = 0
        async for raw in response.aiter_raw():
            raw_total += len(raw)
            if raw_total > limit:
                raise UpstreamTooLarge(limit, request=request)
            if decoder is None:
                parts.append(raw)
                continue
            for start in range(0, len(raw), _DECODE_STEP):
                piece = decoder.decode(raw[start : start + _DECODE_STEP])
                total += len(piece)
                if total > limit:
                    raise UpstreamTooLarge(limit, request=request)
                parts.append(piece)
        if decoder is not None:
            piece = decoder.flush()
            total += len(piece)
            if total > limit:
                raise UpstreamTooLarge(limit, request=request)
            parts.append(piece)
    finally:
        await response.aclose()
    answered(response, b"".join(parts))


Entries = list[tuple[bytes, bytes, bytes]]  # (name, lower-case name, value)


def headers_of(entries: Entries) -> httpx.Headers:
    """``httpx.Headers`` holding ``entries`` as they are (private:
    ``Headers._list``, the layout httpx keeps them in): its constructor encodes
    and lower-cases every name again. Checked against it by
    ``tests/test_private_internals.py``."""
    headers = httpx.Headers.__new__(httpx.Headers)
    headers._list = entries
    headers._encoding = None
    return headers


def response_of(
    status: int, headers: httpx.Headers, body: bytes, request: httpx.Request
) -> httpx.Response:
    """``httpx.Response(status, headers=headers,
    stream=httpx.ByteStream(body), extensions=…, request=request)``, unread,
    its attributes set directly (private: the constructor copies the headers
    and the extensions again). ``headers`` is the response's own from then on.
    Checked against the constructor by ``tests/test_private_internals.py``."""
    response = httpx.Response.__new__(httpx.Response)
    response.status_code = status
    response.headers = headers
    response._request = request
    response.next_request = None
    response.extensions = {"http_version": b"HTTP/1.1"}
    response.history = []
    response.is_closed = False
    response.is_stream_consumed = False
    response.default_encoding = "utf-8"
    response.stream = httpx.ByteStream(body)
    response._num_bytes_downloaded = 0
    return response


def answered(response: httpx.Response, content: bytes) -> None:
    """Give a response read by hand its body, as ``aread`` would (private:
    ``Response._content``; httpx has no public setter, and a new Response would
    lose the request, the extensions and the elapsed time its callers read)."""
    response._content = content


class CappedTransport(httpx.AsyncBaseTransport):
    """Another httpx transport's answers, each read through :func:`read_within`."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, max_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    ) -> None:
        self._inner = inner
        self.max_bytes = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        response.request = request
        await read_within(response, self.max_bytes)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
