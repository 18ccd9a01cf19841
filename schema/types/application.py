"""``Application``: an account application (Apiture) or a KYC application
(connectFi), normalized."""

from __future__ import annotations

from collections.abc import Awaitable

import strawberry

from adapters import model
from engine.fields import at_hand
from engine.plans import immutable
from engine.presented import Presented
from schema.context import Info
from schema.documents import documents_of_application
from schema.types.common import VALUES, ApplicationAction, ApplicationState
from schema.types.document import Document, answered, listed_documents
from schema.types.node import Node
from schema.types.presenting import by_name, expression, global_id, presenter, shows

# The API's types for the record's enums and nested records.
TYPES = {
    **VALUES,
    model.State: ApplicationState,
    model.Action: ApplicationAction,
    model.Document: Document,
}


@strawberry.type(
    description="An application for a new account (Apiture) or a KYC/KYB "
    "application of a customer (connectFi), with its state normalized."
)
@shows(model.Application, TYPES)
class Application(Node):
    # Every shown field is declared on the record (adapters.model).
    domain: strawberry.Private[model.Application]
    # The documents the record itself lists (a detailed Apiture record),
    # presented; None when they must be read.
    listed_documents: strawberry.Private[list[Document] | None]
    # Shared by every request that gets the same record: only a record read
    # with its ETag (the client's ETag cache hands that very record out again);
    # a list summary comes once, so it is made per request and not kept.
    kept: strawberry.Private[bool]

    @at_hand("listed_documents")
    def documents(self, info: Info) -> list[Document] | Awaitable[list[Document]]:
        return answered(
            self.listed_documents,
            lambda: documents_of_application(info.context, self.domain),
        )

    @classmethod
    def from_domain(cls, a: model.Application) -> Application:
        if a.version is None:
            return _make(a)
        return _PRESENTED.made(a, _make)


# Every other field is the record's attribute of its name (schema.types.presenting);
# the derived ones written into the presenter (no call for the usual summary).
_make = presenter(
    Application,
    id=global_id("Application"),
    available_actions=expression(
        "actions(record) if record.available_actions else []",
        actions=lambda a: [
            by_name(ApplicationAction, x)
            for x in sorted(a.available_actions, key=lambda x: x.name)
        ],
    ),
    domain=expression("record"),
    # What listed_documents answers, without the call for an Apiture summary
    # (schema.documents.documents_at_hand: None, its documents not carried).
    listed_documents=expression(
        "None if record.provider is APITURE and 'documents' not in record.fields"
        " else listed(record)",
        APITURE=model.Provider.APITURE,
        listed=listed_documents,
    ),
    kept=expression("record.version is not None"),
)
_PRESENTED: Presented[model.Application, Application] = Presented()
# made by from_domain, never modified; shared when kept
immutable(Application, kept_if="kept")
