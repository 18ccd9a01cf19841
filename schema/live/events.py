"""What changed, and why: the one event type every source publishes.

A change names a record the way global ids do (type, provider, provider key), the
normalized state before and after where known, and its cause: a provider's event
(``AUCO:NOTIFICATION``, ``CONNECTFI:webhook``), a gateway mutation
(``mutation:approveApplication``) or a poll (``poll``). It carries no personal data
and not the record itself: a subscriber reads the record as it is now, through its
own request's loaders and authorization, when the event is delivered.

A record deleted (so that it can no longer be read) changes to the state
:data:`DELETED`: a subscriber who was shown the record gets a last event for it
(``schema.live.subscriptions``) instead of silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from adapters.model import Provider

RecordKind = Literal["Application", "Enrollment", "Document"]

# The state of a change that removed its record (in no state enum of the schema).
DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class Change:
    kind: RecordKind
    provider: Provider
    key: str  # the provider's key, as in the record's global id
    state: str | None  # normalized state (an ApplicationState / DocumentStatus name)
    previous_state: str | None
    cause: str
    # Unique per logical event: a provider's delivery id, or code + status for
    # Auco. Receivers de-duplicate on it; the bus does not.
    event_id: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
