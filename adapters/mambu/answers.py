"""The shape of every Mambu answer the adapter reads, declared (seed
``004_70f253724f9fbb2d``, reference §4.3): document metadata, alone (the upload
answer) or in a list (``GET /api/{holders}/{id}/documents``).

Validated in one pass straight from the bytes into plain dicts of these
``TypedDict`` shapes, which :mod:`adapters.mambu.mapping` reads; an answer that
does not fit is "malformed" (never a document list made up from what fits).

Choices: ``encodedKey`` (non-empty) and ``name`` are required; ``fileSize`` is a
number of bytes, 0 … 2³¹-1 (GraphQL's ``Int``); ``type`` and ``creationDate``
are strings when present (mapping reads the date and drops one it cannot). Other
properties (``documentHolderKey``, ``location``…) are not checked. The content
answer (a JSON string of base64) and the ``{returnCode…}`` error bodies are read
by mapping as before.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, TypeAdapter, with_config

# pydantic needs typing_extensions' TypedDict before Python 3.12
from typing_extensions import Required, TypedDict  # noqa: UP035

INT32_MAX = 2**31 - 1

Size = Annotated[int, Field(ge=0, le=INT32_MAX)]
Key = Annotated[str, Field(min_length=1)]
Text = str | None


@with_config(ConfigDict(strict=True))
class DocumentMeta(TypedDict, total=False):
    encodedKey: Required[Key]
    name: Required[str]
    type: Text
    fileSize: Size | None
    creationDate: Text


DOCUMENT: TypeAdapter[DocumentMeta] = TypeAdapter(DocumentMeta)
DOCUMENTS: TypeAdapter[list[DocumentMeta]] = TypeAdapter(list[DocumentMeta])
