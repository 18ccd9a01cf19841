"""The shape of the ``data`` of every connectFi answer the adapter reads, declared
(seeds ``000`` and ``002``, reference §1.3-§1.4): the application object (a
``/akepa/list`` item and the ``/akepa/status`` answer), the list page, and the
document (``/akepa/document/generate`` and the upload answer).

A success answers ``{code: "0", requestId, data}``: :func:`adapters.connectfi.
envelope.unwrap` validates it in one pass from the bytes against one of the
``*_ANSWER`` shapes here (plain dicts of these ``TypedDict`` shapes, which
:mod:`adapters.connectfi.mapping` reads). A body that is not such a success is
read again as a refusal; a success whose ``data`` does not fit is a malformed
answer, never an empty page.

Choices: ids and statuses are required non-empty strings; ``outcome`` and
``reference`` optional strings; ``isCustomer`` a boolean when present;
``total.more`` and ``uploadStatus`` required booleans. Strict types (no number
read as a string). Properties the gateway does not read are not checked.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, TypeAdapter, with_config

# pydantic needs typing_extensions' TypedDict before Python 3.12
from typing_extensions import Required, TypedDict  # noqa: UP035

Id = Annotated[str, Field(min_length=1)]
Text = str | None

_CHECKED = ConfigDict(strict=True)


@with_config(_CHECKED)
class Entity(TypedDict, total=False):
    """An item of ``entityApplications``."""

    entityId: Required[Id]
    status: Required[str]
    outcome: Text
    isCustomer: bool | None


@with_config(_CHECKED)
class Application(TypedDict, total=False):
    applicationId: Required[Id]
    customerId: Required[Id]
    status: Required[str]
    outcome: Text
    reference: Text
    entityApplications: list[Entity] | None


@with_config(_CHECKED)
class Total(TypedDict):
    more: bool


@with_config(_CHECKED)
class ApplicationList(TypedDict):
    """``/akepa/list``'s ``data`` (seed 002)."""

    items: list[Application]
    total: Total


@with_config(_CHECKED)
class Document(TypedDict, total=False):
    """``/akepa/document/generate``'s ``data`` (seed 000), and the upload's."""

    id: Required[Id]
    name: Required[str]
    uploadStatus: Required[bool]
    extension: Text
    type: Text
    dtsCreatedAt: Text


@with_config(_CHECKED)
class ListAnswer(TypedDict, total=False):
    code: Required[Literal["0"]]
    requestId: Text
    data: Required[ApplicationList]


@with_config(_CHECKED)
class ApplicationAnswer(TypedDict, total=False):
    code: Required[Literal["0"]]
    requestId: Text
    data: Required[Application]


@with_config(_CHECKED)
class DocumentAnswer(TypedDict, total=False):
    code: Required[Literal["0"]]
    requestId: Text
    data: Required[Document]


APPLICATION: TypeAdapter[Application] = TypeAdapter(Application)
DOCUMENT: TypeAdapter[Document] = TypeAdapter(Document)
LIST_ANSWER: TypeAdapter[ListAnswer] = TypeAdapter(ListAnswer)
APPLICATION_ANSWER: TypeAdapter[ApplicationAnswer] = TypeAdapter(ApplicationAnswer)
DOCUMENT_ANSWER: TypeAdapter[DocumentAnswer] = TypeAdapter(DocumentAnswer)
# What each call's success carries.
Answer = ListAnswer | ApplicationAnswer | DocumentAnswer
