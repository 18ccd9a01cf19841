"""The assembled GraphQL schema."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)

from schema.authz import make_authorized
from schema.deadline import RequestDeadline
from schema.errors import (
    CodedErrors,
    Forbidden,
    InvalidStateTransition,
    NotFound,
    ProviderRejected,
    UploadTooLarge,
    ValidationFailed,
    VersionConflict,
)
from schema.idempotency import MemoryIdempotencyStore, make_idempotent
from schema.limits import QueryLimits, limits_rule
from schema.mutations.applications import ApplicationMutations
from schema.mutations.documents import DocumentMutations
from schema.mutations.enrollments import EnrollmentMutations
from schema.queries import Query
from schema.types.application import Application
from schema.types.document import Document
from schema.types.enrollment import Enrollment


@strawberry.type(
    description="Change the onboarding journey: state actions, edits, documents."
)
class Mutation(ApplicationMutations, EnrollmentMutations, DocumentMutations):
    pass


# Every mutation takes an idempotencyKey; the entries live in this process.
idempotency = MemoryIdempotencyStore()
make_idempotent(Mutation, idempotency)
make_authorized(Mutation)  # after: the policy runs before idempotency


def build_schema(
    *, introspection: bool = True, limits: QueryLimits | None = None
) -> strawberry.Schema:
    """The schema; the app builds its own with the limits of its settings."""
    limits = limits or QueryLimits()
    rule = limits_rule(limits)
    guards: list[Any] = [
        lambda: AddValidationRules([rule]),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
    ]
    if not introspection:
        guards.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[
            Application,
            Enrollment,
            Document,
            NotFound,
            VersionConflict,
            InvalidStateTransition,
            ValidationFailed,
            ProviderRejected,
            UploadTooLarge,
            Forbidden,
        ],
        extensions=[
            CodedErrors,
            RequestDeadline,
            # Factories: the caches live at module level, shared by all requests.
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            *guards,
        ],
    )


schema = build_schema()
