"""Mambu API v1 Attachments, simulated: an ASGI app faithful to seed 004.

Seed: ``/work/shared/seeds/004_70f253724f9fbb2d.txt`` (the legacy "Attachments API"
page); ``reference/providers.md`` §4 fills what it leaves out. Endpoints (paths start
``/api/``, so :data:`BASE_PATH` is empty):

- ``GET /api/{clients|groups|loans|savings|loanProducts|savingsProducts|branches|
  centres|users}/{id or encodedKey}/documents[/]?offset=&limit=`` → a JSON array of
  document metadata, newest first (the seed's sample order).
- ``GET /api/documents/{id or encodedKey}`` → the content as a *quoted* base64 JSON
  string, ``"ZmlsZSBjb250ZW50"``, ``application/json``: exactly the seed's shape.
- ``POST /api/documents`` ``{document: {documentHolderKey, documentHolderType, name,
  type}, documentContent}`` → 201 and the new document's metadata (the seed's POST
  sample: no ``userName``).
- ``DELETE /api/documents/{id or encodedKey}`` → ``{"returnCode":0,
  "returnStatus":"SUCCESS"}``.

Every request needs HTTP Basic auth. Errors are Mambu's ``{returnCode, returnStatus
[, errorSource]}`` bodies.

Choices where the seed is silent (each one marked in the code):

- Status codes: 401 for auth (1 ``INVALID_BASIC_AUTHORIZATION`` when the header is
  missing or malformed, 2 ``INVALID_CREDENTIALS`` when wrong); 400 for invalid input
  (4 ``INVALID_PARAMETERS`` with ``errorSource`` naming the field: ``name``, ``type``,
  ``documentContent``, ``documentHolderType``, ``documentHolderKey``; 11-14 for bad
  ``offset``/``limit``); 404 for an unknown holder (the entity code: 301
  ``INVALID_CLIENT_ID``, 201 ``INVALID_GROUP_ID``, 100 ``INVALID_LOAN_ACCOUNT_ID``, 400
  ``INVALID_SAVINGS_ACCOUNT_ID``, 800 ``INVALID_BRANCH_ID``, 851 ``INVALID_CENTRE_ID``,
  701 ``INVALID_USER_ID``; products have none known, so 4 with ``errorSource`` ``id``)
  and for an unknown document (4, ``errorSource`` ``documentId``); an upload naming an
  unknown holder is a 400 with the entity code. 3 ``INVALID_API_OPERATION`` (404) and
  5 ``METHOD_NOT_IMPLEMENTED`` (405, with ``Allow``) for unknown paths and
  methods.
- Wrongly typed input is a 400 with ``errorSource`` naming the field, never a crash:
  ``document.description`` (and the typo key ``" documentContent"``) must be a
  string when given, ``offset``/``limit`` plain digits, and an upload's body is
  read only when sent as ``application/json``.
- The size limit (15 MB = 15 MiB, configurable: current Mambu says 50 MB) applies to
  the *decoded* document; content over it is refused with **413** (4,
  ``errorSource`` ``documentContent``) before it is decoded. Empty content is refused
  (``documentContent`` is required; current Mambu refuses empty files).
- ``name``: 1-256 characters, none of ``/ < > | : & ? * [ ] # \\ " '``, at most one
  extension (one ``.``) and, when present, equal to ``type`` (case-insensitive).
  ``type``: one of the seed's extensions, case-insensitive.
- The seed's POST examples spell the content key ``" documentContent"`` (a leading
  space, a typo): both spellings are accepted.
- ``documentHolderKey`` is "the attachment holder encoded key" in the seed; the
  sandbox also accepts the holder's id (as every GET of the seed does), because the
  gateway names holders by id. A real tenant may insist on the encoded key.
- Paging: ``offset`` default 0, ``limit`` default 50, at most 1000; no total is given.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.mambu.sandbox.store import HOLDER_TYPES, MambuStore
from adapters.mambu.sandbox.store import StoredDocument as StoredDocument
from adapters.sandbox_kit import Controlled, allowed_methods, is_json

BASE_PATH = ""
MAX_UPLOAD_BYTES = 15 * 1024 * 1024  # the seed: "maximum 15 MB size"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_NAME_LENGTH = 256
FORBIDDEN_NAME_CHARACTERS = frozenset("/<>|:&?*[]#\\\"'")
# The seed's list, verbatim (kept a string so it reads as the seed does).
ALLOWED_TYPES = frozenset(
    (  # noqa: SIM905 - a literal list of 47 strings would hide the seed's text
        "JPG,JPEG,PNG,GIF,BMP,TIFF,DOC,DOCX,DOCM,DOT,DOTX,"
        "DOTM,XLS,XLSX,XLSB,PPTX,PPT,PPS,PPSX,ODT,OTT,FODT,"
        "PDF,XML,TXT,CSV,PROPERTIES,MSG,TIF,ZIP,RTF,XLSM,ODS,"
        "ODP,EML,EMLX,HTML,MHT,MHTML,XPS,NUMBERS,KEY,"
        "PAGES,YAML,JSON,JASPER,JRXML"
    ).split(",")
)

# collection path → (documentHolderType, not-found returnCode, returnStatus)
COLLECTIONS: dict[str, tuple[str, int, str]] = {
    "clients": ("CLIENT", 301, "INVALID_CLIENT_ID"),
    "groups": ("GROUP", 201, "INVALID_GROUP_ID"),
    "loans": ("LOAN_ACCOUNT", 100, "INVALID_LOAN_ACCOUNT_ID"),
    "savings": ("DEPOSIT_ACCOUNT", 400, "INVALID_SAVINGS_ACCOUNT_ID"),
    "loanProducts": ("LOAN_PRODUCT", 4, "INVALID_PARAMETERS"),
    "savingsProducts": ("SAVINGS_PRODUCT", 4, "INVALID_PARAMETERS"),
    "branches": ("BRANCH", 800, "INVALID_BRANCH_ID"),
    "centres": ("CENTRE", 851, "INVALID_CENTRE_ID"),
    "users": ("USER", 701, "INVALID_USER_ID"),
}
_NOT_FOUND_BY_TYPE = {
    kind: (code, status) for kind, code, status in COLLECTIONS.values()
}


class _Refused(Exception):
    """Answer with a Mambu error body."""

    def __init__(
        self, http_status: int, code: int, status: str, source: str | None = None
    ) -> None:
        super().__init__(status)
        self.http_status, self.code, self.status, self.source = (
            http_status,
            code,
            status,
            source,
        )

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"returnCode": self.code, "returnStatus": self.status}
        if self.source is not None:
            body["errorSource"] = self.source
        return JSONResponse(body, status_code=self.http_status)


def _invalid(source: str, http_status: int = 400) -> _Refused:
    return _Refused(http_status, 4, "INVALID_PARAMETERS", source)


def document_json(
    document: StoredDocument, *, with_user_name: bool = True
) -> dict[str, Any]:
    """Metadata in the seed's field order."""
    stamp = "%Y-%m-%dT%H:%M:%S%z"  # 2014-03-17T10:11:34+0000
    body: dict[str, Any] = {
        "encodedKey": document.encoded_key,
        "id": document.id,
        "creationDate": document.creation_date.strftime(stamp),
        "lastModifiedDate": document.last_modified_date.strftime(stamp),
        "documentHolderKey": document.holder.encoded_key,
        "documentHolderType": document.holder.type,
        "name": document.name,
        "type": document.type,
        "fileSize": document.file_size,
        "originalFilename": document.name,
        "location": document.encoded_key,
        "createdByUserKey": document.created_by_user_key,
    }
    if with_user_name:
        body["userName"] = document.user_name
    return body


def name_problem(name: str, type_: str) -> str | None:
    """Which field the seed's rules refuse (``name`` or ``type``), or None."""
    if type_.upper() not in ALLOWED_TYPES:
        return "type"
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        return "name"
    if FORBIDDEN_NAME_CHARACTERS.intersection(name):
        return "name"
    _, dot, extension = name.partition(".")
    if dot and ("." in extension or extension.lower() != type_.lower()):
        return "name"
    return None


def _decoded_size(content: str) -> int:
    """Bytes the base64 ``content`` decodes to, without decoding it."""
    padding = len(content) - len(content.rstrip("="))
    return len(content) // 4 * 3 - min(padding, 2)


def create_app(
    *,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    username: str = "sandbox",
    password: str = "sandbox",
    store: MambuStore | None = None,
) -> Controlled:
    """The sandbox, seeded with :meth:`MambuStore.demo` unless given a store."""
    data = store if store is not None else MambuStore.demo()
    expected = f"{username}:{password}".encode()

    def authenticate(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic" or not token:
            raise _Refused(401, 1, "INVALID_BASIC_AUTHORIZATION")
        try:
            given = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            raise _Refused(401, 1, "INVALID_BASIC_AUTHORIZATION") from None
        if not secrets.compare_digest(given, expected):
            raise _Refused(401, 2, "INVALID_CREDENTIALS")

    def paging(request: Request) -> tuple[int, int]:
        def number(name: str, default: int, invalid: tuple[int, str]) -> int:
            raw = request.query_params.get(name)
            if raw is None:
                return default
            # Plain ASCII digits only: int() also takes " 5", "+5" or Arabic digits.
            if re.fullmatch(r"-?[0-9]+", raw) is None:
                raise _Refused(400, *invalid)
            return int(raw)

        offset = number("offset", 0, (11, "INVALID_PAGINATION_OFFSET_VALUE"))
        limit = number("limit", DEFAULT_LIMIT, (13, "INVALID_PAGINATION_LIMIT_VALUE"))
        if offset < 0:
            raise _Refused(400, 12, "OUT_OF_BOUNDS_PAGINATION_OFFSET_VALUE")
        if limit < 0 or limit > MAX_LIMIT:
            raise _Refused(400, 14, "OUT_OF_BOUNDS_PAGINATION_LIMIT_VALUE")
        return offset, limit

    def find_document(request: Request) -> StoredDocument:
        document = data.document(request.path_params["ref"])
        if document is None:
            raise _Refused(404, 4, "INVALID_PARAMETERS", "documentId")
        return document

    async def list_documents(request: Request) -> Response:
        authenticate(request)
        collection = COLLECTIONS.get(request.path_params["collection"])
        if collection is None:
            raise _Refused(404, 3, "INVALID_API_OPERATION")
        holder_type, code, status = collection
        holder = data.holder(holder_type, request.path_params["ref"])
        if holder is None:
            raise _Refused(404, code, status, "id" if code == 4 else None)
        offset, limit = paging(request)
        page = data.documents_of(holder)[offset : offset + limit]
        return JSONResponse([document_json(d) for d in page])

    async def get_content(request: Request) -> Response:
        authenticate(request)
        document = find_document(request)
        # The seed: "Mambu returns the content of the attachment as a Base64 string
        # with quotes": a JSON string literal, not an object.
        body = b'"' + base64.b64encode(document.content) + b'"'
        return Response(body, media_type="application/json")

    async def delete_document(request: Request) -> Response:
        authenticate(request)
        data.delete(find_document(request))
        return JSONResponse({"returnCode": 0, "returnStatus": "SUCCESS"})

    async def upload(request: Request) -> Response:
        authenticate(request)
        if not is_json(request.headers.get("content-type")):
            raise _invalid("document")  # a JSON API reads no other body
        try:
            payload = json.loads(await request.body())
        except ValueError:
            raise _invalid("document") from None
        document = payload.get("document") if isinstance(payload, dict) else None
        if not isinstance(document, dict):
            raise _invalid("document")
        fields: dict[str, str] = {}
        for name in ("documentHolderType", "documentHolderKey", "name", "type"):
            value = document.get(name)
            if not isinstance(value, str) or not value:
                raise _invalid(name)
            fields[name] = value
        holder_type = fields["documentHolderType"]
        if holder_type not in HOLDER_TYPES:
            raise _invalid("documentHolderType")
        holder = data.holder(holder_type, fields["documentHolderKey"])
        if holder is None:
            code, status = _NOT_FOUND_BY_TYPE[holder_type]
            raise _Refused(400, code, status, "documentHolderKey")
        description = document.get("description")
        if "description" in document and not isinstance(description, str):
            raise _invalid("description")
        problem = name_problem(fields["name"], fields["type"])
        if problem is not None:
            raise _invalid(problem)
        # The seed's examples write " documentContent" (a typo): accept both.
        typo = payload.get(" documentContent")
        if " documentContent" in payload and not isinstance(typo, str):
            raise _invalid("documentContent")
        content = payload.get("documentContent", typo)
        if not isinstance(content, str) or not content:
            raise _invalid("documentContent")
        if _decoded_size(content) > max_upload_bytes:
            raise _invalid("documentContent", 413)
        try:
            decoded = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("documentContent") from None
        stored = data.add_document(holder, fields["name"], fields["type"], decoded)
        return JSONResponse(
            document_json(stored, with_user_name=False), status_code=201
        )

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Refused)
        return exc.response()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:  # with the methods the path takes (RFC 9110)
            response = _Refused(405, 5, "METHOD_NOT_IMPLEMENTED").response()
            allow = allowed_methods(request.app, request.url.path)
            response.headers["Allow"] = ", ".join(allow)
            return response
        return _Refused(exc.status_code, 3, "INVALID_API_OPERATION").response()

    holder_documents = BASE_PATH + "/api/{collection}/{ref}/documents"
    documents = BASE_PATH + "/api/documents"
    app = Starlette(
        routes=[
            Route(holder_documents, list_documents, methods=["GET"]),
            Route(holder_documents + "/", list_documents, methods=["GET"]),
            Route(documents, upload, methods=["POST"]),
            Route(documents + "/", upload, methods=["POST"]),
            Route(documents + "/{ref}", get_content, methods=["GET"]),
            Route(documents + "/{ref}", delete_document, methods=["DELETE"]),
        ],
        exception_handlers={_Refused: refused, HTTPException: http_error},
    )
    return Controlled(app, store=data)
