"""What the mutation modules share: result unions and id checks."""

from __future__ import annotations

from typing import Annotated

import strawberry

from adapters import model
from adapters.errors import InvalidStateTransition as DomainInvalidTransition
from adapters.errors import NotFound as DomainNotFound
from schema import ids
from schema.errors import Deleted, Failure
from schema.types.application import Application
from schema.types.document import Document
from schema.types.enrollment import Enrollment

IfMatch = Annotated[
    str | None,
    strawberry.argument(
        description="The `version` read last; the change is refused if it is stale."
    ),
]

ApplicationResult = Annotated[
    Application | Failure,
    strawberry.union(
        "ApplicationResult",
        description="The application as it now is, or why the mutation failed.",
    ),
]

EnrollmentResult = Annotated[
    Enrollment | Failure,
    strawberry.union(
        "EnrollmentResult",
        description="The enrollment as it now is, or why the mutation failed.",
    ),
]

DeleteResult = Annotated[
    Deleted | Failure,
    strawberry.union(
        "DeleteResult", description="The deleted record's id, or why it was not."
    ),
]

DocumentResult = Annotated[
    Document | Failure,
    strawberry.union(
        "DocumentResult", description="The document as it now is, or why not."
    ),
]


def apiture_key(raw: str, typename: str) -> str:
    """The Apiture key inside a global id; domain errors for anything else."""
    gid = ids.decode(raw)
    if gid is None or gid.typename != typename:
        raise DomainNotFound(f"no {typename.lower()} with id {raw}")
    if gid.provider is not model.Provider.APITURE:
        raise DomainInvalidTransition(
            f"{gid.provider.name} {typename.lower()}s change only through the "
            "provider's own journey",
            provider=gid.provider,
        )
    return gid.key
