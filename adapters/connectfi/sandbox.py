"""connectFi akepa (KYC/KYB onboarding) simulated: an ASGI app faithful to the seeds.

Endpoints (all ``POST``, JSON unless said otherwise):

- ``/auth/get-token``: ``{"user": {"login", "password"}}`` gives
  ``{"code": "0", "data": {"token", "dtsExpireAt"}}``; wrong credentials give 401
  ``{"code": "unauthorized", "message": "Authentication error"}``.
- ``/akepa/list`` (seed ``002_…``): a customer's applications, newest first, paged
  by ``numberOfRecords`` (1 to 1000, default 1000) and ``skipRecords``, filtered by
  ``dateCreateFrom``/``dateCreateTo``; ``total.numberOfRecords`` counts the items
  returned and ``total.more`` says whether more match.
- ``/akepa/status``: ``{customerId, applicationId}`` gives the application object.
- ``/akepa/document/generate`` (seed ``000_…``): a document id to upload into.
- ``/akepa/document/upload/{documentId}``: ``multipart/form-data``, field ``file``.

Every endpoint but the login needs a valid, unexpired ``x-connectfi-token`` header.
Successes are ``{code: "0", data, requestId}``; errors are
``{requestId, code, context?, message?}`` with the HTTP status of the reference
(``applicationNotFound`` 404, ``documentNotFound``/``fileNotFound``/
``greaterNumberOfRecords``/``requestValidateError`` 400, ``unauthorized`` 401).
Request bodies are validated against the seeds' schemas (:mod:`.sandbox_schema`).

Choices where the sources are silent or disagree (the seeds win):

- List items carry exactly the seed example's fields; the creation time the date
  filter needs is kept beside them in the store, never sent.
- An unknown customer lists as empty (the seed's "no applications" example uses an
  unknown id); ``/akepa/status`` answers 404 ``applicationNotFound`` when the pair
  does not exist.
- The upload response is the generated document with ``uploadStatus: true`` (the
  reference's body is cut off). Any bytes are accepted; a repeated upload
  overwrites the file, as the deprecated upload endpoint documents.
- The token lifetime is not published: ``token_ttl`` (one hour by default).
- 401 bodies carry a ``requestId`` too, so that every answer has one.

Demo data is deterministic: the seed's customer and its two applications, a
personal customer with one application per journey status, a business customer
with representatives, and a customer with :data:`BULK_APPLICATIONS` applications.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.connectfi import sandbox_schema as schema
from adapters.sandbox_kit import Controlled

BASE_PATH = ""
AGGREGATOR_ID = "CLIENTID"
MAX_RECORDS = 1000
TOKEN_HEADER = "x-connectfi-token"

SEED_CUSTOMER_ID = "cstap_5mBHiIx3QbkvEpjGfKsI9k"  # seed 002's example
JOURNEY_CUSTOMER_ID = "cstap_3QvLr8TnWc2XkP7dYhZa1m"  # one application per status
BUSINESS_CUSTOMER_ID = "cstap_7HbN2pKxRz9qWmE4sTfUoV"  # with representatives
BULK_CUSTOMER_ID = "cstap_9GfT4kLmQw8ZxC1vBnYsRe"  # more than one page
BULK_APPLICATIONS = 1203

# Every journey status of the reference, with the outcome it carries.
JOURNEYS: tuple[tuple[str, str | None], ...] = (
    ("running", None),
    ("waiting_review", None),
    ("pending_journey_application_review", None),
    ("pending_step_up", None),
    ("pending_documents", None),
    ("data_request", None),
    ("completed", "Approved"),
    ("completed", "Denied"),
)

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def demo_id(prefix: str, seed: str, length: int = 22) -> str:
    """A deterministic connectFi-looking id (``iapp_…``, ``doc_…``)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return f"{prefix}_{''.join(chars)}"


def iso(moment: datetime) -> str:
    """connectFi's timestamp format: milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class StoredApplication:
    record: dict[str, Any]  # exactly what the wire carries
    created_at: datetime  # not on the wire; the date filter needs it


@dataclass
class StoredDocument:
    record: dict[str, Any]
    content: bytes | None = None
    sha256: str | None = None

    @property
    def size(self) -> int | None:
        return None if self.content is None else len(self.content)


@dataclass
class ConnectFiStore:
    """The sandbox's data. Tests read and arrange it through ``app.store``."""

    aggregator_id: str = AGGREGATOR_ID
    applications: dict[str, StoredApplication] = field(default_factory=dict)
    documents: dict[str, StoredDocument] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # token → expiry
    _by_customer: dict[str, list[str]] = field(default_factory=dict)

    def customers(self) -> list[str]:
        return list(self._by_customer)

    def application_ids(self, customer_id: str) -> list[str]:
        """The customer's application ids in list order (newest first)."""
        return [
            stored.record["applicationId"] for stored in self._of_customer(customer_id)
        ]

    def _of_customer(self, customer_id: str) -> list[StoredApplication]:
        stored = [self.applications[a] for a in self._by_customer.get(customer_id, [])]
        # Newest first, as in the seed's example; ties in insertion order reversed.
        ordered = list(enumerate(stored))
        ordered.sort(key=lambda pair: (pair[1].created_at, pair[0]), reverse=True)
        return [app for _, app in ordered]

    def add_application(
        self,
        customer_id: str,
        *,
        status: str,
        created_at: datetime,
        outcome: str | None = None,
        reference: str | None = None,
        application_id: str | None = None,
        entities: Sequence[dict[str, Any]] | None = None,
    ) -> StoredApplication:
        number = len(self.applications)
        application_id = application_id or demo_id("iapp", f"{customer_id}:{number}")
        if entities is None:
            entities = [
                {
                    "entityId": customer_id,
                    "isCustomer": True,
                    "status": status,
                    "outcome": outcome.lower() if outcome else None,
                }
            ]
        stored = StoredApplication(
            record={
                "applicationId": application_id,
                "aggregatorId": self.aggregator_id,
                "customerId": customer_id,
                "reference": reference or f"extRefApp{number}",
                "status": status,
                "outcome": outcome,
                "entityApplications": [dict(e) for e in entities],
            },
            created_at=created_at,
        )
        self.applications[application_id] = stored
        self._by_customer.setdefault(customer_id, []).append(application_id)
        return stored

    def set_status(
        self, application_id: str, status: str, outcome: str | None = None
    ) -> None:
        record = self.applications[application_id].record
        record["status"], record["outcome"] = status, outcome
        for entity in record["entityApplications"]:
            entity["status"] = status
            entity["outcome"] = outcome.lower() if outcome else None

    def revoke_tokens(self) -> None:
        """Invalidate every token, as a provider-side logout or rotation would."""
        self.tokens.clear()


def seed_demo_data(store: ConnectFiStore) -> None:
    seed_day = datetime(2023, 11, 1, 16, 40, tzinfo=UTC)
    for number, application_id in (
        (100, "iapp_ASiuCX9tz9FGwlyiNHba2"),
        (101, "iapp_1BGgJeDQJFo5MCup15zq9A"),
    ):
        store.add_application(
            SEED_CUSTOMER_ID,
            status="pending_step_up",
            created_at=seed_day + timedelta(minutes=number - 100),
            reference=f"extRefApp{number}",
            application_id=application_id,
        )
    journeys_day = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    for index, (status, outcome) in enumerate(JOURNEYS):
        store.add_application(
            JOURNEY_CUSTOMER_ID,
            status=status,
            outcome=outcome,
            created_at=journeys_day + timedelta(days=index),
            reference=f"journey{index}",
        )
    _seed_business(store, datetime(2024, 2, 1, 9, 0, tzinfo=UTC))
    bulk_start = datetime(2022, 6, 1, tzinfo=UTC)
    for index in range(BULK_APPLICATIONS):
        status, outcome = JOURNEYS[index % len(JOURNEYS)]
        store.add_application(
            BULK_CUSTOMER_ID,
            status=status,
            outcome=outcome,
            created_at=bulk_start + timedelta(hours=index),
            reference=f"bulk{index}",
        )


def _seed_business(store: ConnectFiStore, day: datetime) -> None:
    representatives = [
        demo_id("cstap", f"{BUSINESS_CUSTOMER_ID}:rep:{n}") for n in range(2)
    ]

    def entity(entity_id: str, status: str, outcome: str | None) -> dict[str, Any]:
        return {
            "entityId": entity_id,
            "isCustomer": entity_id == BUSINESS_CUSTOMER_ID,
            "status": status,
            "outcome": outcome,
        }

    cases: list[tuple[str, str | None, list[dict[str, Any]]]] = [
        (
            "waiting_review",
            None,
            [
                entity(BUSINESS_CUSTOMER_ID, "completed", "approved"),
                entity(representatives[0], "waiting_review", None),
                entity(representatives[1], "completed", "approved"),
            ],
        ),
        (
            "completed",
            "Approved",
            [
                entity(BUSINESS_CUSTOMER_ID, "completed", "approved"),
                entity(representatives[0], "completed", "approved"),
                entity(representatives[1], "completed", "approved"),
            ],
        ),
        (
            "completed",
            "Denied",
            [
                entity(BUSINESS_CUSTOMER_ID, "completed", "approved"),
                entity(representatives[0], "completed", "denied"),
                entity(representatives[1], "completed", "approved"),
            ],
        ),
    ]
    for index, (status, outcome, entities) in enumerate(cases):
        store.add_application(
            BUSINESS_CUSTOMER_ID,
            status=status,
            outcome=outcome,
            created_at=day + timedelta(days=index),
            reference=f"business{index}",
            entities=entities,
        )


def _request_id() -> str:
    return uuid.uuid4().hex


def _ok(data: object) -> JSONResponse:
    return JSONResponse({"code": "0", "data": data, "requestId": _request_id()})


def _error(
    status: int,
    code: str,
    message: str | None = None,
    context: object = None,
) -> JSONResponse:
    body: dict[str, Any] = {"requestId": _request_id(), "code": code}
    if context is not None:
        body["context"] = context
    if message is not None:
        body["message"] = message
    return JSONResponse(body, status_code=status)


def _invalid(errors: list[schema.Error]) -> JSONResponse:
    return _error(400, "requestValidateError", context=errors)


def _unauthorized() -> JSONResponse:
    return _error(401, "unauthorized", "Authentication error")


def _parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_app(
    *,
    token_ttl: float = 3600.0,
    clock: Callable[[], float] = time.time,
    login: str = "sandbox",
    password: str = "sandbox",
) -> Controlled:
    """A fresh sandbox with the demo data. ``clock`` drives token expiry."""
    store = ConnectFiStore()
    seed_demo_data(store)

    async def body_of(request: Request, shape: schema.Schema) -> Any:
        """The validated JSON body, or the 400 that refuses it."""
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        errors = schema.validate(shape, body)
        if errors:
            return _invalid(errors)
        return body

    def authorized(request: Request) -> bool:
        token = request.headers.get(TOKEN_HEADER)
        expires = store.tokens.get(token or "")
        return expires is not None and clock() < expires

    async def get_token(request: Request) -> Response:
        body = await body_of(request, schema.GET_TOKEN)
        if isinstance(body, Response):
            return body
        user = body["user"]
        if not (
            secrets.compare_digest(user["login"], login)
            and secrets.compare_digest(user["password"], password)
        ):
            return _unauthorized()
        token = secrets.token_urlsafe(48)
        expires = clock() + token_ttl
        store.tokens[token] = expires
        expire_at = iso(datetime.fromtimestamp(expires, UTC))
        return _ok({"token": token, "dtsExpireAt": expire_at})

    async def list_applications(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        body = await body_of(request, schema.LIST)
        if isinstance(body, Response):
            return body
        wanted = body.get("numberOfRecords")
        if wanted is not None and wanted > MAX_RECORDS:
            return _error(
                400,
                "greaterNumberOfRecords",
                f"The number of records must not exceed {MAX_RECORDS}.",
                {"maxNumberOfRecords": MAX_RECORDS},
            )
        count = MAX_RECORDS if wanted is None else int(wanted)
        skip = int(body.get("skipRecords") or 0)
        start = _parse_date(body.get("dateCreateFrom"))
        end = _parse_date(body.get("dateCreateTo"))
        matching = [
            app
            for app in store._of_customer(body["customerId"])
            if (start is None or app.created_at >= start)
            and (end is None or app.created_at <= end)
        ]
        items = [app.record for app in matching[skip : skip + count]]
        total = {
            "skipRecords": skip,
            "numberOfRecords": len(items),
            "more": skip + len(items) < len(matching),
        }
        return _ok({"items": items, "total": total})

    async def status(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        body = await body_of(request, schema.STATUS)
        if isinstance(body, Response):
            return body
        application_id = body["applicationId"]
        stored = store.applications.get(application_id)
        if stored is None or stored.record["customerId"] != body["customerId"]:
            return _error(
                404,
                "applicationNotFound",
                "Application not found.",
                {"applicationId": application_id},
            )
        return _ok(stored.record)

    async def generate_document(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        body = await body_of(request, schema.GENERATE_DOCUMENT)
        if isinstance(body, Response):
            return body
        document_id = demo_id("doc", f"document:{len(store.documents)}")
        record = {
            "id": document_id,
            "aggregatorId": store.aggregator_id,
            "uploadStatus": False,
            "workflow": body["workflow"],
            "name": body["name"],
            "extension": body["extension"],
            "type": body["type"],
            "dtsCreatedAt": iso(datetime.fromtimestamp(clock(), UTC)),
        }
        store.documents[document_id] = StoredDocument(record=record)
        return _ok(record)

    async def upload_document(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        document_id = request.path_params["documentId"]
        stored = store.documents.get(document_id)
        if stored is None:
            return _error(
                400,
                "documentNotFound",
                "Document not found.",
                {"documentId": document_id},
            )
        try:
            form = await request.form()
        except Exception:  # not multipart at all: there is no file
            return _error(400, "fileNotFound", "File not found.")
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return _error(400, "fileNotFound", "File not found.")
            content = await upload.read()
        finally:
            await form.close()
        stored.content = content
        stored.sha256 = hashlib.sha256(content).hexdigest()
        stored.record["uploadStatus"] = True
        return _ok(stored.record)

    app = Starlette(
        routes=[
            Route("/auth/get-token", get_token, methods=["POST"]),
            Route("/akepa/list", list_applications, methods=["POST"]),
            Route("/akepa/status", status, methods=["POST"]),
            Route("/akepa/document/generate", generate_document, methods=["POST"]),
            Route(
                "/akepa/document/upload/{documentId}",
                upload_document,
                methods=["POST"],
            ),
        ]
    )
    return Controlled(app, store=store)
