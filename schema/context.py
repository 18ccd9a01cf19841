"""The per-request context: the caller, the upstream clients, fresh dataloaders.

The schema knows the providers only through their ports (:mod:`adapters.ports`),
bundled as :class:`schema.upstreams.Upstreams` (importable from here too): what
the gateway's clients (``gateway.upstreams.Upstreams``) and the tests' in-memory
fakes provide. The stores the context names are interfaces in :mod:`schema.stores`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import strawberry
from strawberry.fastapi import BaseContext

from adapters.errors import AdapterError
from schema.stores import IdempotencyStore
from schema.upstreams import Upstreams as Upstreams

if TYPE_CHECKING:
    from schema.loaders import Loaders


@dataclass(frozen=True)
class Caller:
    """Who is asking. Filled by authentication; anonymous staff in development."""

    subject: str = "anonymous"
    roles: frozenset[str] = frozenset({"staff"})
    connectfi_customer_id: str | None = None
    apiture_contact: str | None = None
    mambu_client_key: str | None = None
    email: str | None = None


@dataclass
class Context(BaseContext):
    upstreams: Upstreams
    loaders: Loaders
    caller: Caller = field(default_factory=Caller)
    # Failures that cost part of a field's data but not the field itself (a
    # provider missing from a merged list): reported as errors with their path.
    partial_errors: list[tuple[list[str | int], AdapterError]] = field(
        default_factory=list
    )
    # The idempotency store shared by the fleet (gateway.state); None: the
    # schema's own, in this process.
    idempotency: IdempotencyStore | None = None

    def __post_init__(self) -> None:
        super().__init__()


Info = strawberry.Info[Context, None]
