"""The webhook bodies the gateway accepts, declared, and the change each one means.

**Auco** (reference §3.8; no seed covers webhooks). A document event is
``{code, name, status, url?, signer{id, name, email, phone}?, message?, tags?,
custom?}`` with ``status`` one of ``CREATE``, ``NOTIFICATION``, ``FINISH``,
``REJECT``, ``REJECTED``, ``BLOCKED``, ``EXPIRED``. A package event is ``{package,
name, status, documents[{code, name, url}]}``. Choices:

- The change's state is the DocumentStatus the gateway's mapping gives
  (:mod:`adapters.auco.mapping`): ``CREATE`` and ``NOTIFICATION`` (a signer signed,
  others may remain) AWAITING_SIGNATURE, ``FINISH`` SIGNED, ``REJECT`` REJECTED,
  ``REJECTED`` CANCELED (Auco's cancellation event, as the mapping reads a
  ``REJECTED`` document with no participant in ``REJECT``), ``BLOCKED``
  AWAITING_SIGNATURE (a participant is blocked, the document is not closed),
  ``EXPIRED`` EXPIRED.
- De-duplication on ``code`` + ``status`` as Auco advises, plus the signer for the
  per-participant events (``NOTIFICATION``, ``BLOCKED``): three signers make three
  ``NOTIFICATION`` deliveries with the same code and status, three events. The
  signer is named by its ``id``, else a hash of its email (never the email).
- A document event without ``code`` (the reference's ``BLOCKED`` and ``REJECTED``
  examples have none) names no record: refused with 400, so nothing is recorded
  for it; Auco retries it and drops it, and polling ``GET /document`` (which Auco
  says not to skip) sees the change.
- A package event is acknowledged (200) and publishes nothing: each of its
  documents has its own document events.
- A code outside :func:`adapters.transport.keys.auco_code` is 400: the change's
  key would not make a global id.

**connectFi** (reference §1.4): the envelope ``{code: "0", data: <application>,
requestId}``, ``data`` the application object the gateway reads everywhere
(:mod:`adapters.connectfi.answers`, validated the same way). The key is
``customerId:applicationId`` (:func:`adapters.connectfi.mapping.application_key`,
what the gateway's global ids hold), the state :func:`~adapters.connectfi.mapping.
normalize_state`'s. connectFi sends no delivery id and documents no retries: the
event id is the application and the state it reached (``status`` + ``outcome``),
so a duplicate or a retry within the de-duplication window is one event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from adapters.connectfi import answers as connectfi_answers
from adapters.connectfi import mapping as connectfi_mapping
from adapters.model import DocumentStatus, Provider
from adapters.transport import keys
from schema.live.events import RecordKind


class Malformed(ValueError):
    """The body does not fit its declared shape; ``reason`` has no personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Event:
    """What a delivery means, before de-duplication: a change minus its past."""

    kind: RecordKind
    provider: Provider
    key: str
    state: str | None
    cause: str
    event_id: str
    status: str  # the provider's, for the log


def _shape_errors(error: ValidationError) -> str:
    """Where and how the body failed, never the values it carried."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<body>'}: {e['type']}"
        for e in error.errors(include_input=False, include_url=False)[:5]
    )


# Auco ---------------------------------------------------------------------------

_STRICT = ConfigDict(extra="ignore", strict=True)
AucoStatus = Literal[
    "CREATE", "NOTIFICATION", "FINISH", "REJECT", "REJECTED", "BLOCKED", "EXPIRED"
]
AUCO_STATES: dict[str, DocumentStatus] = {
    "CREATE": DocumentStatus.AWAITING_SIGNATURE,
    "NOTIFICATION": DocumentStatus.AWAITING_SIGNATURE,
    "FINISH": DocumentStatus.SIGNED,
    "REJECT": DocumentStatus.REJECTED,
    "REJECTED": DocumentStatus.CANCELED,
    "BLOCKED": DocumentStatus.AWAITING_SIGNATURE,
    "EXPIRED": DocumentStatus.EXPIRED,
}
_PER_SIGNER = ("NOTIFICATION", "BLOCKED")


class AucoSigner(BaseModel):
    model_config = _STRICT
    id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class AucoDocumentEvent(BaseModel):
    model_config = _STRICT
    code: str | None = None
    name: str | None = None
    status: AucoStatus
    url: str | None = None
    signer: AucoSigner | None = None
    message: str | None = None
    tags: list[str] | None = None
    custom: list[str] | None = None


class AucoPackageDocument(BaseModel):
    model_config = _STRICT
    code: str
    name: str | None = None
    url: str | None = None


class AucoPackageEvent(BaseModel):
    model_config = _STRICT
    package: Annotated[str, Field(min_length=1)]
    name: str | None = None
    status: str
    documents: list[AucoPackageDocument]


_AUCO = TypeAdapter(AucoPackageEvent | AucoDocumentEvent)


def auco_event(raw: bytes) -> Event | None:
    """The event an Auco delivery means; None for a package event; Malformed."""
    try:
        body = _AUCO.validate_json(raw)
    except ValidationError as exc:
        raise Malformed(_shape_errors(exc)) from None
    if isinstance(body, AucoPackageEvent):
        return None
    if body.code is None:
        raise Malformed("code: missing (the event names no document)")
    if not keys.auco_code(body.code):
        raise Malformed("code: not an Auco document code")
    event_id = f"AUCO:{body.code}:{body.status}"
    if body.status in _PER_SIGNER:
        signer = body.signer
        reference = signer.id if signer is not None and signer.id else None
        if reference is None and signer is not None and signer.email:
            digest = hashlib.sha256(signer.email.strip().lower().encode())
            reference = "email-" + digest.hexdigest()[:24]
        if reference is None:
            raise Malformed("signer: missing (a per-participant event names none)")
        event_id += f":{reference}"
    return Event(
        kind="Document",
        provider=Provider.AUCO,
        key=body.code,
        state=AUCO_STATES[body.status].name,
        cause=f"AUCO:{body.status}",
        event_id=event_id,
        status=body.status,
    )


# connectFi ----------------------------------------------------------------------


def connectfi_event(raw: bytes) -> Event:
    """The event a connectFi delivery (the application envelope) means."""
    try:
        envelope = connectfi_answers.APPLICATION_ANSWER.validate_json(raw)
    except ValidationError as exc:
        raise Malformed(_shape_errors(exc)) from None
    data = envelope["data"]
    customer_id, application_id = data["customerId"], data["applicationId"]
    key = connectfi_mapping.application_key(customer_id, application_id)
    if not keys.connectfi_application_key(key):
        raise Malformed("data: customerId or applicationId is not a connectFi id")
    status, outcome = data["status"], data.get("outcome")
    state = connectfi_mapping.normalize_state(status, outcome)
    return Event(
        kind="Application",
        provider=Provider.CONNECTFI,
        key=key,
        state=state.name,
        cause="CONNECTFI:webhook",
        event_id=f"CONNECTFI:{application_id}:{status}:{outcome or ''}",
        status=status,
    )
