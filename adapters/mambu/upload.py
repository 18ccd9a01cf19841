"""The Mambu upload body, streamed (seed ``004_70f253724f9fbb2d``, ``POST
/api/documents``): the JSON's prefix, the file's base64 encoded
:data:`CHUNK_BYTES` (a multiple of 3) at a time, and its suffix, so at most one
chunk's base64 is ever in memory. The client sends it with a ``Content-Length``
computed from the upload's declared size."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import BinaryIO

from adapters.errors import ValidationFailed, Violation
from adapters.mambu.mapping import PROVIDER

CHUNK_BYTES = 48 * 1024  # read and encoded at a time; a multiple of 3


async def json_body(
    prefix: bytes, file: BinaryIO, size: int, suffix: bytes
) -> AsyncIterator[bytes]:
    """The upload body: ``prefix``, the file's base64 chunk by chunk, ``suffix``.

    Reads are synchronous: 48 KiB from a local spooled file takes microseconds, less
    than handing each chunk to a thread would cost.
    """
    yield prefix
    file.seek(0)
    remaining = size
    carry = b""
    while remaining:
        data = file.read(min(CHUNK_BYTES, remaining))
        if not data:
            raise ValidationFailed(
                "The file is shorter than its declared size.",
                [Violation(("file",), "The file is shorter than its declared size.")],
                provider=PROVIDER,
            )
        remaining -= len(data)
        data = carry + data
        # Encode whole 3-byte groups only, so that no padding appears mid-stream.
        cut = len(data) if not remaining else len(data) - len(data) % 3
        carry = data[cut:]
        yield base64.b64encode(data[:cut])
    yield suffix
