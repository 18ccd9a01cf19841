"""Errors, in one place: expected failures as typed union members of mutation
results, everything else as a coded GraphQL error.

A provider that fails during a mutation (unavailable, timed out, rate limiting,
a malformed answer) is a union member too, ``ProviderFailed``, never a raised
error: every mutation's result is non-null, so a raised error would null the
whole response, and with it the results of the mutations already done in the
same request. :class:`ProviderFailures` wraps every mutation, outermost (around
the policy's reads, the idempotency store and the resolver), so this holds for
any mutation without a check of its own; :class:`UserErrors` wraps every
mutation's resolver, innermost, turning its expected failures into their members,
so a resolver only calls its provider and returns what it made.

Codes are those of DESIGN.md. ``extensions`` carry ``code``, ``provider`` and the
provider's request id; never a credential, an upstream URL or an upstream body.
Exceptions that are not adapter errors are masked ("Unexpected error.", ``INTERNAL``)
and logged in full on the server.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import strawberry
from graphql import GraphQLError
from strawberry.extensions import FieldExtension

from adapters import errors as domain
from adapters.errors import AdapterError
from adapters.model import Provider as DomainProvider
from schema.types.common import Provider
from schema.types.presenting import by_name

if TYPE_CHECKING:
    from schema.context import Info

log = logging.getLogger("gateway.errors")


@strawberry.interface(description="A failure the caller can act on.")
class UserError:
    code: str = strawberry.field(description="Stable machine-readable code.")
    message: str = strawberry.field(description="What went wrong, for humans.")


@strawberry.type(description="No such record, or not one the caller may see.")
class NotFound(UserError):
    @classmethod
    def of(cls, exc: domain.AdapterError) -> Self:
        return cls(code="NOT_FOUND", message=exc.message)


@strawberry.type(
    description="The record changed since `ifMatch` was read (HTTP 412): fetch "
    "it again and retry with its new `version`."
)
class VersionConflict(UserError):
    pass


@strawberry.type(
    description="The action is not allowed in the record's current state (409)."
)
class InvalidStateTransition(UserError):
    pass


@strawberry.type(description="One refused input field.")
class FieldError:
    path: list[str] = strawberry.field(
        description="Path of the field in the mutation's arguments, e.g. "
        "['input', 'name']."
    )
    message: str = strawberry.field(description="Why it was refused.")


@strawberry.type(
    description="Input refused, by the gateway (with the provider's own rules) "
    "or by the provider."
)
class ValidationFailed(UserError):
    fields: list[FieldError] = strawberry.field(description="Each refused field.")


@strawberry.type(description="The provider refused the request for its own reason.")
class ProviderRejected(UserError):
    rejected_by: Provider | None = strawberry.field(description="Which provider.")
    request_id: str | None = strawberry.field(
        description="The provider's request id, for support."
    )


@strawberry.type(description="The file is larger than the limit.")
class UploadTooLarge(UserError):
    limit: int = strawberry.field(description="The limit, in bytes.")


@strawberry.type(description="The caller may not do this.")
class Forbidden(UserError):
    pass


# A provider rate limiting the gateway, or the gateway rate limiting its caller
# (HTTP 429 with Retry-After, ``extensions.limit`` saying which limit, nothing
# run): wait ``retryAfter`` seconds and send it again.
RATE_LIMITED = "RATE_LIMITED"

# Failures a later retry of the same call may get past.
RETRYABLE = (domain.ProviderUnavailable, domain.ProviderTimeout, domain.RateLimited)


@strawberry.type(
    description="The provider could not answer (down, too slow, rate limiting the "
    "gateway, or a malformed answer); the request itself was not at fault. `code` "
    "is PROVIDER_UNAVAILABLE, PROVIDER_TIMEOUT, RATE_LIMITED or PROVIDER_ERROR. "
    "Unless the code is RATE_LIMITED the provider may have made the change before "
    "failing: read the record before retrying a change that is not idempotent. "
    "Other mutations of the same request keep their own results."
)
class ProviderFailed(UserError):
    provider: Provider = strawberry.field(description="The provider that failed.")
    retryable: bool = strawberry.field(
        description="True when the same call may succeed later (unavailable, "
        "timed out, rate limited); false when retrying will not help (a malformed "
        "or oversized answer, the gateway's own credentials refused)."
    )
    retry_after: float | None = strawberry.field(
        description="Seconds the provider asked to wait first, when it said."
    )
    request_id: str | None = strawberry.field(
        description="The provider's request id, for support."
    )

    @classmethod
    def of(cls, exc: domain.AdapterError) -> Self | None:
        """The member for a provider's failure; None for any other error (an
        expected one, or one that names no provider: a fault of the gateway)."""
        if exc.provider is None or user_error(exc) is not None:
            return None
        retryable = isinstance(exc, RETRYABLE)
        return cls(
            code=exc.code,
            message=exc.message,
            provider=by_name(Provider, exc.provider),
            retryable=retryable,
            retry_after=exc.retry_after
            if isinstance(exc, domain.RateLimited)
            else None,
            request_id=exc.request_id,
        )


@strawberry.type(
    description="The gateway could not make this change safely now: its shared "
    "state (the idempotency store of a fleet of replicas) is unreachable, so a "
    "keyed mutation is refused rather than risk running twice. `code` is "
    "IDEMPOTENCY_UNAVAILABLE. Nothing was sent to the provider: retry with the "
    "same `idempotencyKey` later."
)
class Unavailable(UserError):
    retryable: bool = strawberry.field(
        description="True: the same call may succeed later."
    )


@strawberry.type(description="A record was deleted.")
class Deleted:
    id: strawberry.ID = strawberry.field(description="Global id of the deleted record.")


Failure = (
    NotFound
    | VersionConflict
    | InvalidStateTransition
    | ValidationFailed
    | UploadTooLarge
    | ProviderRejected
    | Forbidden
    | ProviderFailed
    | Unavailable
)


# Arguments of their own beside ``input``: a violation on one of them is reported
# at its own name, not under ``input``.
TOP_LEVEL_ARGUMENTS = frozenset({"id", "file", "ifMatch", "idempotencyKey"})


def _path(argument: str, path: tuple[str, ...]) -> list[str]:
    if (path and path[0] in TOP_LEVEL_ARGUMENTS) or path[:1] == (argument,):
        return list(path)
    return [argument, *path]


def user_error(exc: domain.AdapterError, argument: str = "input") -> Failure | None:
    """The union member for an expected failure; None for the rest."""
    if isinstance(exc, domain.NotFound):
        return NotFound.of(exc)
    if isinstance(exc, domain.VersionConflict):
        return VersionConflict(code=exc.code, message=exc.message)
    if isinstance(exc, domain.InvalidStateTransition):
        return InvalidStateTransition(code=exc.code, message=exc.message)
    if isinstance(exc, domain.ValidationFailed):
        return ValidationFailed(
            code="VALIDATION_FAILED",
            message=exc.message,
            fields=[
                FieldError(path=_path(argument, v.path), message=v.message)
                for v in exc.violations
            ],
        )
    if isinstance(exc, domain.UploadTooLarge):
        return UploadTooLarge(code=exc.code, message=exc.message, limit=exc.limit)
    if isinstance(exc, domain.ProviderRejected):
        return ProviderRejected(
            code="PROVIDER_REJECTED",
            message=exc.message,
            rejected_by=by_name(Provider, exc.provider) if exc.provider else None,
            request_id=exc.request_id,
        )
    return None


def request_error_code(message: str) -> str:
    """The code of an error in the request itself (syntax, validation)."""
    if "tokens. Parsing aborted" in message:
        return "QUERY_TOO_COMPLEX"  # the parser's token limit
    return "BAD_USER_INPUT"


def extensions_of(exc: domain.AdapterError) -> dict[str, object]:
    ext: dict[str, object] = {"code": exc.code}
    if exc.provider is not None:
        ext["provider"] = exc.provider.name
    if exc.request_id:
        ext["requestId"] = exc.request_id
    return ext


def code_errors(
    errors: Sequence[GraphQLError],
    partial: Iterable[tuple[list[str | int], AdapterError]],
) -> list[GraphQLError] | None:
    """Every error coded, unexpected ones masked; partial failures appended."""
    coded = [_code(e) for e in errors]
    for path, exc in partial:
        coded.append(
            GraphQLError(exc.message, path=path, extensions=extensions_of(exc))
        )
    return coded or None


def _code(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, domain.AdapterError):
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            path=error.path,
            extensions=extensions_of(original),
        )
    if original is None or error.path is None:
        # Syntax, validation and variable errors: no field ran, the request
        # itself is at fault (graphql-core's messages quote only the request).
        ext = dict(error.extensions or {})
        ext.setdefault("code", request_error_code(error.message))
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=ext,
        )
    if isinstance(original, GraphQLError) and original.extensions:
        return error
    log.error("unexpected error at %s", error.path, exc_info=original)
    return GraphQLError(
        "Unexpected error.",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL"},
    )


def report_partial(info: Info, failures: Mapping[DomainProvider, AdapterError]) -> None:
    """Record providers that failed inside a field that still answered."""
    path = info.path.as_list()
    for exc in failures.values():
        info.context.partial_errors.append((path, exc))


class _FailuresAsResults(FieldExtension):
    """Adapter errors of what it wraps answered as the union member ``member``
    gives; the others raised on."""

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info,
        **kwargs: Any,
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except domain.AdapterError as exc:
            found = self.member(exc, info)
            if found is None:
                raise
            return found

    def member(self, exc: domain.AdapterError, info: Info) -> Failure | None:
        raise NotImplementedError


class UserErrors(_FailuresAsResults):
    """An expected failure of a mutation's resolver (not found, stale version, a
    refused change or input…) becomes its union member; the violations of a
    ``ValidationFailed`` are paths under ``argument``. Innermost: the policy's
    reads and the idempotency store around it see the member, as they would a
    result."""

    def __init__(self, argument: str) -> None:
        super().__init__()
        self.argument = argument

    def member(self, exc: domain.AdapterError, info: Info) -> Failure | None:
        return user_error(exc, self.argument)


class ProviderFailures(_FailuresAsResults):
    """A provider's failure anywhere in a mutation becomes its ``ProviderFailed``
    result instead of an error that would null the whole response."""

    def member(self, exc: domain.AdapterError, info: Info) -> Failure | None:
        failed = ProviderFailed.of(exc)
        if failed is not None:
            log.warning(
                "mutation %s: %s failed (%s)",
                info.field_name,
                failed.provider.name,
                failed.code,
            )
        return failed


def make_provider_failures_typed(mutation_type: type) -> None:
    """Wrap every field of ``mutation_type`` in :class:`UserErrors`, innermost,
    and :class:`ProviderFailures`, outermost; call it after every other extension
    is added: Strawberry makes the first one the innermost, the last the outermost.
    A mutation's errors concern its ``input`` when it takes one, else its ``id``."""
    definition = mutation_type.__strawberry_definition__  # type: ignore[attr-defined]
    for mutation in definition.fields:
        names = {argument.python_name for argument in mutation.arguments}
        argument = "input" if "input" in names else "id"
        mutation.extensions.insert(0, UserErrors(argument))
        mutation.extensions.append(ProviderFailures())
