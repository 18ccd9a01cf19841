"""The shape of every Auco answer the adapter reads, declared (seed ``003``,
reference §3.3-§3.5): the upload answer, the cancel answer and ``GET /document``.

Validated in one pass (from the bytes where the client has them) into plain dicts
of these ``TypedDict`` shapes, which :mod:`adapters.auco.mapping` reads. An answer
that does not fit is "malformed", never a document made up from what is there.

Choices:

- ``GET /document``: ``status`` is required (reference §3.5: every document has
  one), and a code, at the top or in ``data`` (mapping checks that one is there;
  the client checks it is the code asked for). ``signProfile`` entries are
  objects; ``order`` is a number (or a string of digits, as some integrations
  send it) within GraphQL's 32-bit ``Int``, ≥ 0.
- The upload answer: ``code`` (seed) or ``document`` (newer page), ``url`` and
  ``package`` optional. The cancel answer: ``errors.cant`` ≥ 0, ``documents`` a
  list of codes.
- Strict types; ``null`` is accepted where a property is optional. Properties
  the gateway does not read (``custom``, ``camera``…) are not checked.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, TypeAdapter, with_config

# pydantic needs typing_extensions' TypedDict before Python 3.12
from typing_extensions import Required, TypedDict  # noqa: UP035

INT32_MAX = 2**31 - 1

Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
Digits = Annotated[str, Field(pattern=r"^[0-9]{1,9}$")]
Text = str | None

_CHECKED = ConfigDict(strict=True)


@with_config(_CHECKED)
class SignerEntry(TypedDict, total=False):
    """A participant in ``signProfile`` (summary) or ``data.signProfile``."""

    id: Text
    name: Text
    email: Text
    phone: Text
    role: Text
    status: Text
    order: Count | Digits | None


@with_config(_CHECKED)
class DocumentData(TypedDict, total=False):
    """``data``: the stored process."""

    code: Text
    name: Text
    createdAt: Text
    signProfile: list[SignerEntry] | None


@with_config(_CHECKED)
class Document(TypedDict, total=False):
    """``GET /document?code=``."""

    code: Text
    name: Text
    status: Required[Annotated[str, Field(min_length=1)]]
    url: Text
    data: DocumentData | None
    signProfile: list[SignerEntry] | None


@with_config(_CHECKED)
class Uploaded(TypedDict, total=False):
    """``POST /document/upload``."""

    code: Text
    document: Text
    package: Text
    url: Text


@with_config(_CHECKED)
class CancelErrors(TypedDict, total=False):
    cant: Count | None
    documents: list[str] | None


@with_config(_CHECKED)
class Cancelled(TypedDict, total=False):
    """``POST /document/cancel``."""

    success: Count | None
    errors: CancelErrors | None


DOCUMENT: TypeAdapter[Document] = TypeAdapter(Document)
UPLOADED: TypeAdapter[Uploaded] = TypeAdapter(Uploaded)
CANCELLED: TypeAdapter[Cancelled] = TypeAdapter(Cancelled)
