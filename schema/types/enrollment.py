"""``Enrollment``: an online-banking enrollment (Apiture)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

import strawberry

from adapters import model
from engine.fields import at_hand
from schema import ids
from schema.context import Info
from schema.documents import documents_of_enrollment
from schema.types.common import (
    Applicant,
    EnrollmentAction,
    EnrollmentState,
    Provider,
    RequiredDocument,
)
from schema.types.document import Document, answered, listed_documents
from schema.types.node import Node
from schema.types.presenting import by_name, presenter


@strawberry.type(description="An enrollment in digital banking (Apiture).")
class Enrollment(Node):
    provider: Provider = strawberry.field(description="Where it lives.")
    provider_id: str = strawberry.field(description="The provider's id (`_id`).")
    state: EnrollmentState = strawberry.field(description="Normalized state.")
    provider_state: str = strawberry.field(description="The provider's own state.")
    applicant_name: str | None = strawberry.field(description="Enrolling person.")
    applicant: Applicant | None = strawberry.field(
        description="The enrolling applicant."
    )
    applicants: list[Applicant] = strawberry.field(description="All applicants.")
    required_documents: list[RequiredDocument] = strawberry.field(
        description="Documents the enrollment requires."
    )
    flagged_for_review: bool | None = strawberry.field(
        description="Flagged for manual review by the financial institution."
    )
    created_at: datetime | None = strawberry.field(description="When it was created.")
    completed_at: datetime | None = strawberry.field(
        description="When it reached a terminal state."
    )
    available_actions: list[EnrollmentAction] = strawberry.field(
        description="The actions allowed now, from the provider's action links."
    )
    version: str | None = strawberry.field(
        description="Entity tag of this version; send it back as `ifMatch`."
    )
    domain: strawberry.Private[model.Enrollment]
    # The documents the record itself lists (a detailed Apiture record),
    # presented; None when they must be read.
    listed_documents: strawberry.Private[list[Document] | None]

    @strawberry.field(
        description="Documents listed on the enrollment.",
        graphql_type=list[Document] | None,
    )
    @at_hand("listed_documents")
    def documents(self, info: Info) -> list[Document] | Awaitable[list[Document]]:
        return answered(
            self.listed_documents,
            lambda: documents_of_enrollment(info.context, self.domain),
        )

    @classmethod
    def from_domain(cls, e: model.Enrollment) -> Enrollment:
        return _make(e)


# Every other field is the record's attribute of its name (schema.types.presenting).
_make = presenter(
    Enrollment,
    id=lambda e: strawberry.ID(ids.encode("Enrollment", e.provider, e.key)),
    available_actions=lambda e: [
        by_name(EnrollmentAction, x)
        for x in sorted(e.available_actions, key=lambda x: x.name)
        if x.name in EnrollmentAction.__members__
    ],
    domain=lambda e: e,
    listed_documents=listed_documents,
)
