"""The per-request context: the caller, the upstream clients, fresh dataloaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import strawberry
from strawberry.fastapi import BaseContext

from adapters.errors import AdapterError

if TYPE_CHECKING:
    from gateway.upstreams import Upstreams
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

    def __post_init__(self) -> None:
        super().__init__()


Info = strawberry.Info[Context, None]
