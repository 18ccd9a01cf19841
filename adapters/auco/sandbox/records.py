"""The Auco sandbox's records: a document and its signers, as :mod:`.store` keeps
them and :mod:`.demo` makes them (a leaf: both import it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class StoredSigner:
    id: str
    name: str
    email: str
    phone: str | None = None
    role: str = "SIGNER"
    order: int | None = None
    status: str = "PENDING"
    extra: dict[str, Any] = field(default_factory=dict)  # validations, placement…


@dataclass
class StoredDocument:
    code: str
    package: str
    name: str
    creator: str
    created_at: datetime
    signers: list[StoredSigner]
    status: str = "CREATED"
    content: bytes | None = None  # None until the PDF arrives
    expired_date: datetime | None = None
    canceled: bool = False
    cancel_message: str | None = None
    request: dict[str, Any] = field(default_factory=dict)  # the upload body, sans file
    updated_at: datetime | None = None

    @property
    def sent(self) -> bool:
        """Out for signature: only once its PDF bytes are in."""
        return self.content is not None
