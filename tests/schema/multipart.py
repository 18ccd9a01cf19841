"""GraphQL multipart requests, byte for byte as the spec writes them.

https://github.com/jaydenseric/graphql-multipart-request-spec: an ``operations``
part (the JSON request, every file variable ``null``), a ``map`` part (which file
part fills which variable: ``{"0": ["variables.file"]}``), then one part per file,
named by its key in the map, with a filename and a content type. This is what a
browser's GraphQL client (apollo-upload-client, urql) sends.

The body is streamed in 64 KiB pieces, as a server receives it from the socket, so
the gateway sees what it sees in production (and not one 10 MB message), and the
file is never copied whole on the test's side.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

BOUNDARY = "----GraphQLMultipartBoundary7MA4YWxkTrZu0gW"
PIECE = 64 * 1024
# Strawberry needs no preflight header today; issue 7 will make the gateway
# demand one for multipart (CSRF), so every upload sends it already.
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


@dataclass(frozen=True)
class File:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Multipart:
    """One multipart request: its head and tail around each file's bytes."""

    pieces: tuple[bytes, ...]  # headers and small parts, the files' bytes between

    @property
    def length(self) -> int:
        return sum(len(p) for p in self.pieces)

    async def stream(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            view = memoryview(piece)
            for start in range(0, len(view), PIECE):
                yield bytes(view[start : start + PIECE])

    def body(self) -> bytes:
        return b"".join(self.pieces)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(self.length),
            **PREFLIGHT,
        }


def _part(name: str, extra: str = "") -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"{extra}'
    return f"--{BOUNDARY}\r\n{disposition}\r\n".encode()


def build(
    query: str, variables: Mapping[str, Any], files: Mapping[str, File]
) -> Multipart:
    """``files`` maps a variable path (``"file"``, ``"input.files.0"``) to a file;
    each becomes ``null`` in ``operations`` and part ``"0"``, ``"1"``… in ``map``."""
    operations: dict[str, Any] = {"query": query, "variables": dict(variables)}
    file_map: dict[str, list[str]] = {}
    for index, path in enumerate(files):
        _set(operations["variables"], path.split("."), None)
        file_map[str(index)] = [f"variables.{path}"]
    pieces: list[bytes] = [
        _part("operations") + b"\r\n" + json.dumps(operations).encode() + b"\r\n",
        _part("map") + b"\r\n" + json.dumps(file_map).encode() + b"\r\n",
    ]
    for index, file in enumerate(files.values()):
        head = _part(str(index), f'; filename="{file.filename}"')
        pieces.append(head + f"Content-Type: {file.content_type}\r\n\r\n".encode())
        pieces.append(file.content)
        pieces.append(b"\r\n")
    pieces.append(f"--{BOUNDARY}--\r\n".encode())
    return Multipart(tuple(pieces))


def _set(target: Any, path: list[str], value: Any) -> None:
    for step in path[:-1]:
        target = target[int(step)] if isinstance(target, list) else target[step]
    last = path[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: Mapping[str, Any],
    files: Mapping[str, File],
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST a multipart request to ``/graphql``, streamed."""
    request = build(query, variables, files)
    return await client.post(
        "/graphql",
        content=request.stream(),
        headers={**request.headers, **(headers or {})},
    )


async def upload(
    client: httpx.AsyncClient,
    query: str,
    variables: Mapping[str, Any],
    files: Mapping[str, File],
) -> dict[str, Any]:
    """The data of a multipart request that must succeed without errors."""
    response = await post(client, query, variables, files)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def jpeg(size: int) -> bytes:
    """``size`` bytes that a sniffer takes for a JPEG: SOI, APP0 JFIF, then noise."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return head + _noise(size - len(head) - 2) + b"\xff\xd9"


def pdf(size: int) -> bytes:
    """``size`` bytes that start and end as a PDF does."""
    head, tail = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    return head + _noise(size - len(head) - len(tail)) + tail


def _noise(size: int) -> bytes:
    # Not constant, so that an off-by-one or a reordered chunk changes the digest;
    # repeated from one random block so that 20 MB costs no time to make.
    block = bytes(range(251)) * 261  # 65 511 bytes, a prime cycle against 64 KiB
    whole, rest = divmod(size, len(block))
    return block * whole + block[:rest]
