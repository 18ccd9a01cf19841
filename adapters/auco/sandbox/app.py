"""The Auco sandbox's HTTP face: the routes of seed 003 and reference §3 under
``/v1.5/ext``, plus the signed upload and download links Auco hands out.

Choices (the seed wins over the reference; the reference fills what the seed omits):

- Auth: ``Authorization: <key>``, the raw key, no ``Bearer``. Writes (POST, PUT) need
  the private key; reads (GET) take the public key, and the private key too (the docs
  do not say it is refused). Anything else is 401 ``{"message": "UNAUTHORIZED"}``:
  the seed documents only 401 for "autenticación inválida o ausente".
- Errors: 400 ``{"message": "<UPPER_SNAKE_CODE>"}`` (see :mod:`.rules`); the real
  body is undocumented. An oversized body is 413, as the AWS front door in front of
  Auco answers (``max_body_bytes``, 6 MiB by default, Lambda's payload limit).
- ``POST /document/upload`` answers the seed's shape, ``{"package", "code"}`` plus
  ``"url"`` with ``compress: true``; ``response_shape="current"`` answers the newer
  page's ``{"document"[, "url"]}``. Signers silenced with ``notification: false``
  come back in ``signProfile`` with their ``id`` (newer page). ``/package/upload``
  (the seed's second example) is an alias.
- The signed URL is single use and lives ``signed_url_ttl`` seconds (5, as the seed
  says; the newer page says 300). It points back at this app
  (``…/v1.5/ext/_upload/<token>``), takes no ``Authorization`` (a presigned S3 URL
  refuses a second auth mechanism, which also keeps the key off a third party) and
  answers like S3: 403 ``AccessDenied`` when expired or already used, 411 without a
  ``Content-Length`` (S3 takes no chunked uploads). Until its bytes arrive the
  document is ``CREATED`` with every participant ``PENDING`` and no ``url``.
- ``GET /document?code=`` answers reference §3.5's shape. The top-level
  ``signProfile`` has the documented ``{name, email, id, status}``; ``data`` carries
  the stored process, signers with ``phone``, ``role`` and ``order``. ``url`` is a
  download link (``…/_download/<code>``) once the PDF is in. A cancelled document
  reads ``REJECTED`` (Auco's cancellation webhook status) with no participant in
  ``REJECT``.
- Every field is checked for the type seed 003's table gives it before anything
  else (:func:`.rules.check_types`): a wrong type is a 400, never a crash. A
  signer's ``phone`` is required and its ``order`` is a string, as the table says.
- A body not sent as ``application/json`` is 400 ``INVALID_JSON``.
- ``GET /document`` answers ``camera`` and ``otpCode`` as booleans, never null.
- An unknown path is 404 ``{"message": "NOT_FOUND"}``; a known path with another
  method 405 ``METHOD_NOT_ALLOWED`` with ``Allow`` listing the methods it takes.
- Webhooks (reference §3.8): ``store.webhooks`` (:mod:`.webhooks`) posts every
  document event to the configured URL with the configured header, with Auco's
  retries; ``/_sandbox/documents/{code}/{action}`` (:mod:`.participants`) lets a
  test sign, reject, block or expire as a participant would.
- ``POST /document/cancel`` takes ``{codes, message, email}`` and answers
  ``{"success": <cancelled>, "errors": {"cant": <refused>[, "documents": [...]]}}``;
  finished or rejected documents, and unknown codes, are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.auco.sandbox import demo, participants, rules, webhooks
from adapters.auco.sandbox.store import Store, StoredDocument, StoredSigner
from adapters.sandbox_kit import Controlled, allowed_methods, is_json

BASE_PATH = "/v1.5/ext"
ResponseShape = Literal["seed", "current"]


def json_date(value: datetime | None) -> str | None:
    """As JavaScript's ``Date.toJSON()`` writes it: ``2025-01-02T16:54:00.297Z``."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _error(code: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"message": code}, status_code=status)


def _s3_error(code: str, message: str, status: int) -> Response:
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status_code=status, media_type="application/xml")


class _Routes:
    def __init__(
        self,
        store: Store,
        *,
        signed_url_ttl: float,
        private_key: str,
        public_key: str,
        response_shape: ResponseShape,
        max_body_bytes: int,
    ) -> None:
        self.store = store
        self.ttl = signed_url_ttl
        self.private_key = private_key
        self.public_key = public_key
        self.shape = response_shape
        self.max_body = max_body_bytes

    def _refused(self, request: Request, *, write: bool) -> Response | None:
        key = request.headers.get("authorization")
        allowed = (self.private_key,) if write else (self.private_key, self.public_key)
        if key not in allowed:
            return _error("UNAUTHORIZED", 401)
        return None

    async def _json(self, request: Request) -> dict[str, Any] | Response:
        raw = await request.body()
        if len(raw) > self.max_body:
            return JSONResponse({"message": "Request Entity Too Large"}, 413)
        if not is_json(request.headers.get("content-type")):
            return _error("INVALID_JSON")  # a JSON API reads no other body
        try:
            body = json.loads(raw)
        except ValueError:
            return _error("INVALID_JSON")
        return body if isinstance(body, dict) else _error("INVALID_JSON")

    def _link(self, request: Request, path: str) -> str:
        return str(request.url.replace(path=f"{BASE_PATH}{path}", query=""))

    # POST /document/upload ------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        refused = self._refused(request, write=True)
        if refused:
            return refused
        body = await self._json(request)
        if isinstance(body, Response):
            return body
        error = rules.check_upload(body, self.store.utcnow()) or self._state(body)
        if error:
            return _error(error)
        content: bytes | None = None
        if "file" in body:
            try:
                content = base64.b64decode(body["file"], validate=True)
            except (binascii.Error, ValueError):
                return _error("FILE_INVALID")
            if not content.startswith(b"%PDF-"):
                return _error("FILE_INVALID")
        elif "document" in body and not rules.is_true(body.get("compress")):
            content = demo.TEMPLATE_PDF
        document = self._create(body, content)
        answer: dict[str, Any] = (
            {"package": document.package, "code": document.code}
            if self.shape == "seed"
            else {"document": document.code}
        )
        if content is None:
            token = secrets.token_urlsafe(24)
            self.store.open_upload(document.code, token, self.ttl)
            answer["url"] = self._link(request, f"/_upload/{token}")
        silenced = [
            {"id": s.id, "name": s.name, "email": s.email, "phone": s.phone}
            for s in document.signers
            if s.extra.get("notification") is False
        ]
        if silenced:
            answer["signProfile"] = silenced
        return JSONResponse(answer)

    def _state(self, body: dict[str, Any]) -> str | None:
        """Checks against the account: creator, folder, template."""
        creator = body["email"]
        if creator not in self.store.users:
            return "USER_NOTFOUND"
        folder = body.get("folder")
        if folder is not None and folder not in self.store.folders.get(creator, ()):
            return "FOLDER_NOT_FOUND"
        template = body.get("document")
        if template is not None and template not in self.store.templates:
            return "TEMPLATE_NOT_FOUND"
        return None

    def _create(self, body: dict[str, Any], content: bytes | None) -> StoredDocument:
        store = self.store
        signers = [
            StoredSigner(
                id=store.new_signer_id(),
                name=profile["name"],
                email=profile["email"],
                phone=profile.get("phone"),
                role=profile.get("role", "SIGNER"),
                order=int(profile["order"]) if "order" in profile else None,
                extra={
                    k: v
                    for k, v in profile.items()
                    if k not in ("name", "email", "phone", "role", "order")
                },
            )
            for profile in body["signProfile"]
        ]
        now = store.utcnow()
        expires = body.get("expiredDate")
        document = StoredDocument(
            code=store.new_code(),
            package=store.new_package(),
            name=body["name"],
            creator=body["email"],
            created_at=now,
            updated_at=now,
            signers=signers,
            content=content,
            expired_date=rules.parse_json_date(expires) if expires else None,
            request={k: v for k, v in body.items() if k != "file"},
        )
        store.add(document)
        return document

    # PUT <signed url> -----------------------------------------------------------

    async def put_upload(self, request: Request) -> Response:
        if "authorization" in request.headers:
            return _s3_error("InvalidArgument", "Only one auth mechanism allowed", 400)
        pending = self.store.uploads.get(request.path_params["token"])
        if pending is None:
            return _s3_error("AccessDenied", "Access Denied", 403)
        if pending.used:
            return _s3_error("AccessDenied", "Request has already been used", 403)
        if self.store.monotonic() > pending.expires_at:
            return _s3_error("AccessDenied", "Request has expired", 403)
        length = request.headers.get("content-length")
        if length is None:
            return _s3_error("MissingContentLength", "Send Content-Length", 411)
        content = await request.body()
        if len(content) != int(length):
            return _s3_error("IncompleteBody", "Body shorter than declared", 400)
        pending.used = True
        if not content.startswith(b"%PDF-"):
            return _s3_error("InvalidDocument", "Not a PDF", 400)
        self.store.receive(pending.code, content)
        return Response(status_code=200)

    # GET /document --------------------------------------------------------------

    async def get_document(self, request: Request) -> Response:
        refused = self._refused(request, write=False)
        if refused:
            return refused
        code = request.query_params.get("code")
        package = request.query_params.get("package")
        if request.query_params.get("image", "false") not in ("true", "false"):
            return _error("PARAMS_INVALID")
        if code is not None and package is not None:
            return _error("PARAMS_INVALID")
        if code is not None:
            document = self.store.documents.get(code)
            if document is None:
                return _error("DOCUMENT_NOT_FOUND")
            return JSONResponse(self._view(request, self.store.refresh(document)))
        if package is not None:
            return self._package(package)
        templates = [
            {"_id": key, "name": value["name"]}
            for key, value in self.store.templates.items()
        ]
        return JSONResponse(templates)

    def _view(self, request: Request, document: StoredDocument) -> dict[str, Any]:
        summary = [
            {"name": s.name, "email": s.email, "id": s.id, "status": s.status}
            for s in document.signers
        ]
        stored = [
            {
                "name": s.name,
                "email": s.email,
                "id": s.id,
                "status": s.status,
                "role": s.role,
                **({"phone": s.phone} if s.phone else {}),
                # Sent as a string (seed 003's table), answered as it came.
                **({"order": str(s.order)} if s.order is not None else {}),
            }
            for s in document.signers
        ]
        data = {
            "code": document.code,
            "name": document.name,
            # Booleans, never null: Auco's example (reference §3.5).
            "camera": document.request.get("camera") is True,
            "otpCode": document.request.get("otpCode") is True,
            "signFinish": document.status == "FINISH",
            "signProfile": stored,
            "createdAt": json_date(document.created_at),
            "updatedAt": json_date(document.updated_at or document.created_at),
        }
        if document.expired_date is not None:
            data["expiredDate"] = json_date(document.expired_date)
        view: dict[str, Any] = {}
        if document.sent:
            view["url"] = self._link(request, f"/_download/{document.code}")
        view |= {
            "name": document.name,
            "code": document.code,
            "status": document.status,
            "data": data,
            "signProfile": summary,
        }
        if "custom" in document.request:
            view["custom"] = document.request["custom"]
        return view

    def _package(self, package: str) -> Response:
        documents = [d for d in self.store.documents.values() if d.package == package]
        if not documents:
            return _error("PACKAGE_NOT_FOUND")
        first = documents[0]
        signers = [
            {"userId": s.id, "email": s.email, "name": s.name, "phone": s.phone}
            | {"status": s.status}
            for s in first.signers
        ]
        return JSONResponse(
            {
                "_id": package,
                "codes": [d.code for d in documents],
                "name": first.name,
                "signers": signers,
                "signFinish": all(d.status == "FINISH" for d in documents),
                "createdAt": json_date(first.created_at),
                "updatedAt": json_date(first.updated_at),
                "status": first.status,
            }
        )

    async def download(self, request: Request) -> Response:
        document = self.store.documents.get(request.path_params["code"])
        if document is None or document.content is None:
            return _s3_error("NoSuchKey", "The specified key does not exist.", 404)
        return Response(document.content, media_type="application/pdf")

    # POST /document/cancel ------------------------------------------------------

    async def cancel(self, request: Request) -> Response:
        refused = self._refused(request, write=True)
        if refused:
            return refused
        body = await self._json(request)
        if isinstance(body, Response):
            return body
        codes = body.get("codes")
        if (
            not isinstance(codes, list)
            or not codes
            or not all(isinstance(c, str) and c for c in codes)
        ):
            return _error("CODES_REQUIRED")
        if not rules.is_text(body.get("email")):
            return _error("EMAIL_REQUIRED")
        if "message" in body and not isinstance(body["message"], str):
            return _error("MESSAGE_INVALID")
        if body["email"] not in self.store.users:
            return _error("USER_NOTFOUND")
        message = body.get("message")
        reason = message if isinstance(message, str) else None
        refused_codes = [c for c in codes if not self.store.cancel(c, reason)]
        errors: dict[str, Any] = {"cant": len(refused_codes)}
        if refused_codes:
            errors["documents"] = refused_codes
        success = len(codes) - len(refused_codes)
        return JSONResponse({"success": success, "errors": errors})


def create_app(
    *,
    signed_url_ttl: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    private_key: str = "prk_sandbox",
    public_key: str = "puk_sandbox",
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    response_shape: ResponseShape = "seed",
    max_body_bytes: int = 6 * 1024 * 1024,
    public_url: str = "http://auco.sandbox",
) -> Controlled:
    """A fresh Auco sandbox with its demo data; ``app.store`` is the :class:`Store`,
    ``app.store.webhooks`` its webhook (:class:`.webhooks.AucoWebhooks`)."""
    store = Store(clock=clock, now=now)
    store.download_base = f"{public_url}{BASE_PATH}/_download/"
    store.webhooks = webhooks.AucoWebhooks()
    store.on_event = store.webhooks.emit
    routes = _Routes(
        store,
        signed_url_ttl=signed_url_ttl,
        private_key=private_key,
        public_key=public_key,
        response_shape=response_shape,
        max_body_bytes=max_body_bytes,
    )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:  # with the methods the path takes (RFC 9110)
            allow = ", ".join(allowed_methods(request.app, request.url.path))
            response = _error("METHOD_NOT_ALLOWED", 405)
            response.headers["Allow"] = allow
            return response
        return _error(
            "NOT_FOUND" if exc.status_code == 404 else "BAD_REQUEST", exc.status_code
        )

    app = Starlette(
        exception_handlers={HTTPException: http_error},
        routes=[
            Route(f"{BASE_PATH}/document/upload", routes.upload, methods=["POST"]),
            Route(f"{BASE_PATH}/package/upload", routes.upload, methods=["POST"]),
            Route(f"{BASE_PATH}/document", routes.get_document, methods=["GET"]),
            Route(f"{BASE_PATH}/document/cancel", routes.cancel, methods=["POST"]),
            Route(f"{BASE_PATH}/_upload/{{token}}", routes.put_upload, methods=["PUT"]),
            Route(f"{BASE_PATH}/_download/{{code}}", routes.download, methods=["GET"]),
            Route(
                "/_sandbox/documents/{code}/{action}",
                participants.act,
                methods=["POST"],
            ),
        ],
    )
    app.state.store = store
    return Controlled(app, store=store)
