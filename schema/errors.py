"""Errors, in one place: expected failures as typed union members of mutation
results, everything else as a coded GraphQL error.

Codes are those of DESIGN.md. ``extensions`` carry ``code``, ``provider`` and the
provider's request id; never a credential, an upstream URL or an upstream body.
Exceptions that are not adapter errors are masked ("Unexpected error.", ``INTERNAL``)
and logged in full on the server.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Self, TypeVar

import strawberry
from graphql import GraphQLError

from adapters import errors as domain
from adapters.errors import AdapterError
from adapters.model import Provider as DomainProvider
from schema.types.common import Provider, by_name

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


T = TypeVar("T")


async def attempt(call: Awaitable[T], argument: str = "input") -> T | Failure:
    """Await an adapter call; expected failures become union members."""
    try:
        return await call
    except domain.AdapterError as exc:
        found = user_error(exc, argument)
        if found is None:
            raise
        return found


def report_partial(info: Info, failures: Mapping[DomainProvider, AdapterError]) -> None:
    """Record providers that failed inside a field that still answered."""
    path = info.path.as_list()
    for exc in failures.values():
        info.context.partial_errors.append((path, exc))
