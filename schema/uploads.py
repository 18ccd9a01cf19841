"""From a GraphQL multipart upload to the domain's ``Upload``.

Starlette spools each file part to a temporary file (in memory up to 1 MiB, on disk
beyond), so the adapters read it in chunks and memory stays bounded.
"""

from __future__ import annotations

import os
from typing import Any

from adapters import model
from adapters.errors import ValidationFailed, Violation


def to_domain(file: Any, path: str = "file") -> model.Upload:
    """``file`` is what Strawberry hands a resolver for an ``Upload`` argument."""
    raw = getattr(file, "file", None)
    if raw is None:
        raise ValidationFailed(
            "no file was uploaded", [Violation((path,), "expected a file part")]
        )
    size = getattr(file, "size", None)
    if size is None:
        raw.seek(0, os.SEEK_END)
        size = raw.tell()
    raw.seek(0)
    return model.Upload(
        filename=getattr(file, "filename", None) or "upload",
        content_type=getattr(file, "content_type", None),
        size=int(size),
        file=raw,
    )
