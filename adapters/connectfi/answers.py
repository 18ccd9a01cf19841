"""The shape of the ``data`` of every connectFi answer the adapter reads, declared
(seeds ``000`` and ``002``, reference §1.3-§1.4): the application object (a
``/akepa/list`` item and the ``/akepa/status`` answer), the list page, and the
document (``/akepa/document/generate`` and the upload answer).

The envelope (``{code, requestId, data}`` or an error) is read by
:mod:`adapters.connectfi.envelope`; its ``data`` is validated here into plain
dicts of these ``TypedDict`` shapes, which :mod:`adapters.connectfi.mapping`
reads. One that does not fit raises pydantic's ``ValidationError`` (a
``ValueError``), which ``envelope.parse`` reports as a malformed answer.

Choices: ids and statuses are required non-empty strings; ``outcome`` and
``reference`` optional strings; ``isCustomer`` a boolean when present;
``total.more`` and ``uploadStatus`` required booleans. Strict types (no number
read as a string). Properties the gateway does not read are not checked.
"""

from __future__ import annotations

from typing import Annotated

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


APPLICATION: TypeAdapter[Application] = TypeAdapter(Application)
APPLICATION_LIST: TypeAdapter[ApplicationList] = TypeAdapter(ApplicationList)
DOCUMENT: TypeAdapter[Document] = TypeAdapter(Document)
