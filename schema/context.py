"""The per-request context: the caller, the upstream clients, fresh dataloaders.

The schema knows the providers only through their ports (:mod:`adapters.ports`):
:class:`Upstreams` is everything a request may ask of them, which the gateway's
clients (``gateway.upstreams.Upstreams``) and the tests' in-memory fakes provide.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import strawberry
from strawberry.fastapi import BaseContext

from adapters.errors import AdapterError
from adapters.model import Provider
from adapters.ports import ApiturePort, AucoPort, ConnectFiPort, MambuPort
from adapters.transport.breaker import CircuitBreaker

if TYPE_CHECKING:
    from schema.authz import DocumentOwnerStore
    from schema.idempotency import IdempotencyStore
    from schema.loaders import Loaders


class Upstreams(Protocol):
    """The providers as the schema sees them: one port bundle each, their health,
    the request deadline and who generated each connectFi document."""

    @property
    def apiture(self) -> ApiturePort: ...

    @property
    def connectfi(self) -> ConnectFiPort: ...

    @property
    def mambu(self) -> MambuPort: ...

    @property
    def auco(self) -> AucoPort: ...

    @property
    def sandboxes(self) -> Collection[Provider]:
        """The providers answered by an embedded sandbox."""
        ...

    @property
    def breakers(self) -> Mapping[Provider, CircuitBreaker]: ...

    @property
    def request_deadline(self) -> float:
        """Seconds each GraphQL request may take."""
        ...

    @property
    def document_owners(self) -> DocumentOwnerStore: ...

    async def probe(self, provider: Provider) -> float | None:
        """Round trip to the provider in ms; None when it is not reachable."""
        ...


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
