"""connectFi akepa JSON ⇄ the domain of :mod:`adapters.model`.

The only module that knows connectFi's field names. The application object (a
``/akepa/list`` item, seed ``002_…``, and the ``/akepa/status`` answer share one
shape) becomes an :class:`Application`; the ``/akepa/document/generate`` answer
(seed ``000_…``) and the upload answer become a :class:`Document`.

- ``Application.key`` is ``"{customerId}:{applicationId}"``: ``/akepa/status``
  needs both. ``provider_id`` is the ``applicationId``.
- States follow DESIGN.md's table: ``completed`` + ``Approved`` is APPROVED,
  ``completed`` + ``Denied`` REJECTED; an unknown status (or a ``completed`` with an
  unknown outcome) is RUNNING, logged, never an error. Outcomes are compared without
  case: the journey says ``Approved``, entities say ``approved``.
- The application object has no creation time, so ``created_at`` stays None; list
  and status carry the same shape, so every representation is complete and
  ``fields`` is :data:`APPLICATION_FIELDS`: every domain field, the ones connectFi
  fills and the ones it settles as empty, so that no status call follows a list.

Answers arrive validated against :mod:`adapters.connectfi.answers` (the
``*_answer`` and ``application_page`` readers); the ``*_from_json`` ones validate
a Python value first. A value that does not fit raises ``ValueError`` (pydantic's
``ValidationError``), as does an unreadable timestamp; the client turns those
into ``ProviderError``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.connectfi import answers
from adapters.model import (
    Application,
    ApplicationEntity,
    Document,
    DocumentStatus,
    Page,
    Provider,
    State,
)

log = logging.getLogger(__name__)

Json = Mapping[str, Any]

KEY_SEPARATOR = ":"

_STATES: Mapping[str, State] = {
    "running": State.RUNNING,
    "waiting_review": State.RUNNING,
    "pending_journey_application_review": State.RUNNING,
    "pending_step_up": State.BLOCKED,
    "pending_documents": State.BLOCKED,
    "data_request": State.BLOCKED,
}
_OUTCOMES: Mapping[str, State] = {"approved": State.APPROVED, "denied": State.REJECTED}

CONTENT_TYPES: Mapping[str, str] = {"jpg": "image/jpeg", "png": "image/png"}

# connectFi's list item and status answer are the same object: no call can tell
# more, so a representation settles every domain field (those connectFi does not
# have, such as ``created_at``, are settled as empty). Claiming them all keeps the
# schema from asking /akepa/status for what the list already said.
APPLICATION_FIELDS = frozenset(
    f.name for f in dataclasses.fields(Application) if f.name != "fields"
)


def application_key(customer_id: str, application_id: str) -> str:
    return f"{customer_id}{KEY_SEPARATOR}{application_id}"


def customer_of(owner_id: str) -> str:
    """The connectFi customer an owner id names: a customer id is its own, an
    application key (``customerId:applicationId``) names its customer first."""
    return owner_id.partition(KEY_SEPARATOR)[0]


def split_key(key: str) -> tuple[str, str]:
    """``(customerId, applicationId)``; ``ValueError`` when ``key`` is not one."""
    customer_id, separator, application_id = key.partition(KEY_SEPARATOR)
    if not separator or not customer_id or not application_id:
        raise ValueError("not a connectFi application key")
    return customer_id, application_id


def normalize_state(status: str, outcome: str | None) -> State:
    """DESIGN.md's table; unknown values are RUNNING (nearest safe) and logged."""
    if status == "completed":
        state = _OUTCOMES.get((outcome or "").lower())
        if state is not None:
            return state
        log.warning("connectFi completed with an unknown outcome %r", outcome)
        return State.RUNNING
    state = _STATES.get(status)
    if state is None:
        log.warning("connectFi sent an unknown status %r", status)
        return State.RUNNING
    return state


def _entity(data: answers.Entity) -> ApplicationEntity:
    status = data["status"]
    outcome = data.get("outcome")
    return ApplicationEntity(
        entity_id=data["entityId"],
        is_customer=bool(data.get("isCustomer")),
        state=normalize_state(status, outcome),
        provider_state=status,
        outcome=outcome,
    )


def application_from_json(data: object) -> Application:
    """An application object (a list item, a status answer's ``data``)."""
    return application_answer(answers.APPLICATION.validate_python(data))


def application_page(data: answers.ApplicationList, offset: int) -> Page[Application]:
    """``/akepa/list``'s ``data``: the page from ``offset``, no total (seed 002)."""
    items = [application_answer(item) for item in data["items"]]
    return Page(items=items, offset=offset, total=None, has_more=data["total"]["more"])


def application_answer(data: answers.Application) -> Application:
    application_id = data["applicationId"]
    customer_id = data["customerId"]
    status = data["status"]
    outcome = data.get("outcome")
    return Application(
        provider=Provider.CONNECTFI,
        key=application_key(customer_id, application_id),
        provider_id=application_id,
        state=normalize_state(status, outcome),
        provider_state=status,
        customer_id=customer_id,
        reference=data.get("reference"),
        outcome=outcome,
        entities=tuple(_entity(e) for e in data.get("entityApplications") or ()),
        fields=APPLICATION_FIELDS,
    )


def _timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value)  # "…T16:44:19.473Z" on 3.11+


def document_from_json(data: object, *, size: int | None = None) -> Document:
    return document_answer(answers.DOCUMENT.validate_python(data), size=size)


def document_answer(document: answers.Document, *, size: int | None = None) -> Document:
    extension = document.get("extension")
    return Document(
        provider=Provider.CONNECTFI,
        key=document["id"],
        name=document["name"],
        status=DocumentStatus.UPLOADED
        if document["uploadStatus"]
        else DocumentStatus.AWAITING_UPLOAD,
        kind=document.get("type"),
        file_extension=extension,
        content_type=CONTENT_TYPES.get(extension or ""),
        size=size,
        created_at=_timestamp(document.get("dtsCreatedAt")),
    )


def generate_request(
    *,
    workflow: str,
    name: str,
    extension: str,
    type: str,
    note: str | None,
    note_author_agent_email: str | None,
) -> dict[str, Any]:
    """The ``/akepa/document/generate`` body; absent optionals are left out."""
    body: dict[str, Any] = {
        "workflow": workflow,
        "name": name,
        "extension": extension,
        "type": type,
    }
    if note is not None:
        body["note"] = note
    if note_author_agent_email is not None:
        body["note_author_agent_email"] = note_author_agent_email
    return body


def timestamp(moment: datetime) -> str:
    """connectFi's ISO format (milliseconds, ``Z``); a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def list_request(
    customer_id: str,
    *,
    created_from: datetime | None,
    created_to: datetime | None,
    offset: int,
    limit: int,
) -> dict[str, Any]:
    """The ``/akepa/list`` body (seed 002)."""
    body: dict[str, Any] = {"customerId": customer_id}
    if created_from is not None:
        body["dateCreateFrom"] = timestamp(created_from)
    if created_to is not None:
        body["dateCreateTo"] = timestamp(created_to)
    body["numberOfRecords"] = limit
    body["skipRecords"] = offset
    return body


# connectFi request properties → the GraphQL input path a violation names.
GENERATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "workflow": ("workflow",),
    "name": ("name",),
    "extension": ("extension",),
    "type": ("type",),
    "note": ("note",),
    "note_author_agent_email": ("noteAuthorAgentEmail",),
}
LIST_PATHS: Mapping[str, tuple[str, ...]] = {
    "customerId": ("filter", "customerId"),
    "dateCreateFrom": ("filter", "createdFrom"),
    "dateCreateTo": ("filter", "createdTo"),
    "numberOfRecords": ("first",),
    "skipRecords": ("after",),
}
IDENTIFICATION_PATHS: Mapping[str, tuple[str, ...]] = {
    "customerId": ("input", "customerId"),
    "reference": ("input", "reference"),
}
STATUS_PATHS: Mapping[str, tuple[str, ...]] = {
    "customerId": ("id",),
    "applicationId": ("id",),
}
UPLOAD_PATHS: Mapping[str, tuple[str, ...]] = {"file": ("file",)}
