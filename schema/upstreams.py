"""The providers as the schema sees them (:class:`Upstreams`).

The schema knows the providers only through their ports (:mod:`adapters.ports`):
:class:`Upstreams` is everything a request may ask of them, which the gateway's
clients (``gateway.upstreams.Upstreams``) and the tests' in-memory fakes provide.
A leaf below the request's context (:mod:`schema.context`) and the dataloaders
(:mod:`schema.loaders`), which both name it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from adapters.model import Provider
from adapters.ports import ApiturePort, AucoPort, ConnectFiPort, MambuPort
from adapters.transport.breaker import CircuitBreaker
from schema.stores import DocumentOwnerStore


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
