"""The assembled GraphQL schema."""

from __future__ import annotations

from typing import Any

import strawberry
from opentelemetry.trace import Tracer

from engine.context import GatewayExecutionContext, traced
from schema.authz import make_authorized
from schema.errors import (
    Forbidden,
    InvalidStateTransition,
    NotFound,
    ProviderFailed,
    ProviderRejected,
    UploadTooLarge,
    ValidationFailed,
    VersionConflict,
    make_provider_failures_typed,
)
from schema.idempotency import MemoryIdempotencyStore, make_idempotent
from schema.limits import QueryLimits
from schema.live.publishing import make_published
from schema.live.subscriptions import Subscription
from schema.mutations.applications import ApplicationMutations
from schema.mutations.documents import DocumentMutations
from schema.mutations.enrollments import EnrollmentMutations
from schema.pipeline import Documents, Pipeline
from schema.queries import Query
from schema.scalars import OVERRIDES
from schema.types.application import Application
from schema.types.document import Document
from schema.types.enrollment import Enrollment


@strawberry.type(
    description="Change the onboarding journey: state actions, edits, documents."
)
class Mutation(ApplicationMutations, EnrollmentMutations, DocumentMutations):
    pass


# Innermost: a change made publishes its event; a replay below does not.
make_published(Mutation)
# Every mutation takes an idempotencyKey; the entries live in this process.
idempotency = MemoryIdempotencyStore()
make_idempotent(Mutation, idempotency)
make_authorized(Mutation)  # after: the policy runs before idempotency
# Last, so outermost: a provider failing in the policy's reads, the store or the
# resolver answers that mutation's ProviderFailed, never a null response.
make_provider_failures_typed(Mutation)


class QuietExecutionContext(GatewayExecutionContext):
    """Variable errors without suggestions ("Did you mean the enum value…"), for
    a schema whose introspection is off: they would give it away."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


def build_schema(
    *,
    introspection: bool = True,
    limits: QueryLimits | None = None,
    tracer: Tracer | None = None,
) -> strawberry.Schema:
    """The schema; the app builds its own with the limits of its settings (and
    its tracer when tracing is on: spans per operation, parse, validation, plan)."""
    documents = Documents(limits or QueryLimits(), introspection=introspection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Application,
            Enrollment,
            Document,
            NotFound,
            VersionConflict,
            InvalidStateTransition,
            ValidationFailed,
            ProviderRejected,
            ProviderFailed,
            UploadTooLarge,
            Forbidden,
        ],
        # One extension for parsing, validation, the deadline and error codes
        # (schema.pipeline says why one); its document cache lives per schema.
        extensions=[lambda: Pipeline(documents, tracer)],
        execution_context_class=traced(
            GatewayExecutionContext if introspection else QuietExecutionContext,
            tracer,
        ),
        # DateTime written without datetime.isoformat's cost (schema.scalars)
        scalar_overrides=OVERRIDES,
    )


schema = build_schema()
