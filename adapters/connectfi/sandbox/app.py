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
- ``/akepa/identification`` (reference §1.4 step 2): ``{customerId, reference,
  syncMode?, webhookURL?}`` (``webhookUrl`` too, as the reference's example spells
  it) starts KYC for a known customer: a new application in ``pending_step_up``,
  its ``webhookURL`` kept for its manual review. An unknown customer is 400
  ``customerNotFound`` (context ``{customerId}``); a reference the customer already
  used is 400 ``referenceExists`` (connectFi is idempotent on it; the sandbox
  refuses the repeat instead of guessing what it answers).
- ``/akepa/document/generate`` (seed ``000_…``): a document id to upload into.
- ``/akepa/document/upload/{documentId}``: ``multipart/form-data``, field ``file``.

Sandbox-only (outside connectFi's API, not in the contract):
``/_sandbox/applications/{applicationId}/review`` with ``{"outcome": "Approved"}``
or ``"Denied"`` plays the PayGears operator: an application in manual review
(``waiting_review``, ``pending_journey_application_review``) becomes ``completed``
with that outcome, and the envelope ``{code: "0", data: <application>, requestId}``
is posted once (connectFi documents no retries and no signature) to the
application's ``webhookURL`` (``store.webhook_url`` for the demo applications),
through ``app.store.webhooks``. Answers the application; 404 for an unknown one,
409 for one not in review, 400 for another outcome.

Every endpoint but the login needs a valid, unexpired ``x-connectfi-token`` header.
Successes are ``{code: "0", data, requestId}``; errors are
``{requestId, code, context?, message?}`` with the HTTP status of the reference
(``applicationNotFound`` 404, ``documentNotFound``/``fileNotFound``/
``greaterNumberOfRecords``/``requestValidateError`` 400, ``unauthorized`` 401).
Request bodies are validated against the seeds' schemas (:mod:`.schema`);
a body not sent as ``application/json`` is read as no body at all.

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
- An unknown path is 404 ``notFound``, another method on a known path 405
  ``methodNotAllowed`` with ``Allow``, both in connectFi's refusal shape (the codes
  are the sandbox's: connectFi documents none for them).

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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import adapters.connectfi.sandbox.schema as schema
from adapters.connectfi.sandbox.store import (
    BULK_APPLICATIONS,
    BULK_CUSTOMER_ID,
    BUSINESS_CUSTOMER_ID,
    JOURNEY_CUSTOMER_ID,
    JOURNEYS,
    MAX_RECORDS,
    SEED_CUSTOMER_ID,
    ConnectFiStore,
    StoredApplication,
    StoredDocument,
    demo_id,
    iso,
    seed_demo_data,
)
from adapters.sandbox_kit import Controlled, allowed_methods, is_json
from adapters.sandbox_webhooks import WebhookSender

__all__ = [
    "BASE_PATH",
    "BULK_APPLICATIONS",
    "BULK_CUSTOMER_ID",
    "BUSINESS_CUSTOMER_ID",
    "JOURNEYS",
    "JOURNEY_CUSTOMER_ID",
    "SEED_CUSTOMER_ID",
    "ConnectFiStore",
    "StoredApplication",
    "StoredDocument",
    "create_app",
]

BASE_PATH = ""
TOKEN_HEADER = "x-connectfi-token"
REVIEW_STATUSES = ("waiting_review", "pending_journey_application_review")


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
    # connectFi's webhook: one post, no retries documented.
    webhooks: WebhookSender = store.webhooks

    async def body_of(request: Request, shape: schema.Schema) -> Any:
        """The validated JSON body, or the 400 that refuses it."""
        try:
            # Like any JSON API, connectFi reads no body sent as another type.
            raw = await request.body()
            is_json_body = is_json(request.headers.get("content-type"))
            body = json.loads(raw or b"null") if is_json_body else None
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
            for app in store.applications_of(body["customerId"])
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

    async def start_identification(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        body = await body_of(request, schema.IDENTIFICATION)
        if isinstance(body, Response):
            return body
        customer_id, reference = body["customerId"], body["reference"]
        if customer_id not in store.customers():
            return _error(
                400,
                "customerNotFound",
                "Customer not found.",
                {"customerId": customer_id},
            )
        used = {a.record["reference"] for a in store.applications_of(customer_id)}
        if reference in used:
            return _error(
                400,
                "referenceExists",
                "Reference already exists.",
                {"reference": reference},
            )
        stored = store.add_application(
            customer_id,
            status="pending_step_up",
            created_at=datetime.fromtimestamp(clock(), UTC),
            reference=reference,
        )
        stored.webhook_url = body.get("webhookURL") or body.get("webhookUrl")
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

    async def resolve_review(request: Request) -> Response:
        application_id = request.path_params["applicationId"]
        stored = store.applications.get(application_id)
        if stored is None:
            return _error(404, "applicationNotFound", "Application not found.")
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            body = None
        outcome = body.get("outcome") if isinstance(body, dict) else None
        if outcome not in ("Approved", "Denied"):
            return _error(400, "badRequest", 'Send {"outcome": "Approved"|"Denied"}.')
        if stored.record["status"] not in REVIEW_STATUSES:
            return _error(409, "notInReview", "The application is not in review.")
        store.set_status(application_id, "completed", outcome)
        url = stored.webhook_url or store.webhook_url
        if url:
            envelope = {"code": "0", "data": stored.record, "requestId": _request_id()}
            webhooks.send(url, envelope, {})
        return _ok(stored.record)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:  # with the methods the path takes (RFC 9110)
            response = _error(405, "methodNotAllowed", "Method not allowed.")
            allow = allowed_methods(request.app, request.url.path)
            response.headers["Allow"] = ", ".join(allow)
            return response
        if exc.status_code == 404:
            return _error(404, "notFound", "Not found.")
        return _error(exc.status_code, "badRequest", "Bad request.")

    app = Starlette(
        exception_handlers={HTTPException: http_error},
        routes=[
            Route("/auth/get-token", get_token, methods=["POST"]),
            Route("/akepa/list", list_applications, methods=["POST"]),
            Route("/akepa/status", status, methods=["POST"]),
            Route("/akepa/identification", start_identification, methods=["POST"]),
            Route("/akepa/document/generate", generate_document, methods=["POST"]),
            Route(
                "/akepa/document/upload/{documentId}",
                upload_document,
                methods=["POST"],
            ),
            Route(
                "/_sandbox/applications/{applicationId}/review",
                resolve_review,
                methods=["POST"],
            ),
        ],
    )
    return Controlled(app, store=store)
