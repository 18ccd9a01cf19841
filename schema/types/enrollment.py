"""``Enrollment``: an online-banking enrollment (Apiture)."""

from __future__ import annotations

from collections.abc import Awaitable

import strawberry

from adapters import model
from engine.fields import at_hand
from schema.context import Info
from schema.documents import documents_of_enrollment
from schema.types.common import VALUES, EnrollmentAction, EnrollmentState
from schema.types.document import Document, answered, listed_documents
from schema.types.node import Node
from schema.types.presenting import by_name, expression, global_id, presenter, shows


@strawberry.type(description="An enrollment in digital banking (Apiture).")
@shows(
    model.Enrollment,
    {
        **VALUES,
        model.State: EnrollmentState,
        model.Action: EnrollmentAction,
        model.Document: Document,
    },
)
class Enrollment(Node):
    # Every shown field is declared on the record (adapters.model).
    domain: strawberry.Private[model.Enrollment]
    # The documents the record itself lists (a detailed Apiture record),
    # presented; None when they must be read.
    listed_documents: strawberry.Private[list[Document] | None]

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
    id=global_id("Enrollment"),
    available_actions=expression(
        "actions(record) if record.available_actions else []",
        actions=lambda e: [
            by_name(EnrollmentAction, x)
            for x in sorted(e.available_actions, key=lambda x: x.name)
            if x.name in EnrollmentAction.__members__
        ],
    ),
    domain=expression("record"),
    # listed_documents, without the call for a summary (None: not carried)
    listed_documents=expression(
        "None if 'documents' not in record.fields else listed(record)",
        listed=listed_documents,
    ),
)
