"""Upstream requests made cheaply: :class:`RequestBuilder` (a client's
``build_request`` for paths under its base URL) and the httpx objects it makes
directly. Every adapter builds its requests here and sends them with
:func:`adapters.transport.http.send`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from json import dumps as json_dumps
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters.transport.cap import headers_of
from adapters.transport.paths import ROUTE, template_of


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


def _query_value(value: str | int) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)
