"""Auco e-signature: send PDFs for signature, read their status, cancel them.

Provider: Auco (auco.ai), API v1.5, base URL up to ``/v1.5/ext``
(``https://dev.auco.ai/v1.5/ext`` for stage, ``https://api.auco.ai/v1.5/ext`` for
production). Seed: ``003`` (``POST /document/upload``, in Spanish); the rest from
reference §3.

Endpoints:

- ``POST /document/upload`` (private key): create a process. A PDF up to
  ``inline_limit`` bytes goes inline as base64 ``file``; a larger one is announced
  with ``compress: true`` and its bytes ``PUT`` to the single-use signed URL Auco
  answers (5 s of life per the seed), straight away.
- ``GET /document?code=`` (public key): one document, its status and participants.
- ``POST /document/cancel`` (private key): ``{codes, message, email}``.

Auth: ``Authorization: <key>``, the raw key, no ``Bearer``: ``prk_…`` for writes,
``puk_…`` for reads. The signed URL takes no key at all (it is S3's, and S3 refuses
a second auth mechanism), so the key never leaves for a third party.

Choices:

- Validation first (:func:`adapters.auco.inputs.validate` plus the file rules here):
  a refused request makes no upstream call.
- Memory: neither way holds the file. Inline, the JSON body is streamed: the fields,
  then the file base64-encoded chunk by chunk (chunks of a multiple of 3 bytes
  encode to pieces that concatenate to the whole encoding), then the closing brace,
  with an exact ``Content-Length``. The signed PUT streams the raw bytes the same
  way; S3 takes no chunked transfer encoding, so the length is always declared.
- ``inline_limit`` defaults to 1 MB of PDF (≈1.33 MB of base64): the seed says
  only "small files", and Auco sits behind an AWS front door whose payload limits
  are a few MB.
- ``request_signature`` answers from the request and Auco's code, without reading
  the document back: AWAITING_SIGNATURE, signers as sent, status unknown yet.
- ``cancel_signature`` reads the document after cancelling; Auco refuses to cancel a
  finished or rejected document, which becomes ``InvalidStateTransition``.
- Codes: one outside the code grammar (:mod:`adapters.transport.keys`) is ``NotFound``
  with no call; a code goes upstream only as a query value (``params=``) or in a body.
- Errors: 401/403 → ``ProviderAuthFailed``; 413 → ``UploadTooLarge``;
  ``DOCUMENT_NOT_FOUND`` → ``NotFound``; a code naming a field → ``ValidationFailed``
  with its path; any other 4xx → ``ProviderRejected``. A 403 on the signed URL is
  the link's, not the key's: ``ProviderRejected`` saying the link expired. Messages
  carry Auco's error code at most (``provider_code``), never its body, a URL or a key.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

import httpx

from adapters import batches
from adapters.auco import answers, mapping
from adapters.auco.inputs import SignatureRequest, validate
from adapters.errors import (
    AdapterError,
    InvalidStateTransition,
    NotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderRejected,
    UploadTooLarge,
    ValidationFailed,
    Violation,
)
from adapters.model import Document, Provider, Upload
from adapters.transport.http import RequestBuilder, json_body, send, validated
from adapters.transport.keys import auco_code
from adapters.transport.paths import ROUTE

AUCO = Provider.AUCO
DEFAULT_SENDER = "onboarding@bank.example"  # the sandbox's demo Auco user
CANCEL_MESSAGE = "Proceso cancelado por el remitente"
PDF_MAGIC = b"%PDF-"
_PDF_TYPES = {"application/pdf", "application/x-pdf", "application/octet-stream"}

# The PUT to Auco's signed upload link: named by this, never by the URL (it
# holds the signature).
SIGNED_UPLOAD_ROUTE = "{signed upload link}"


def _code(code: str) -> str:
    """``code`` when it fits Auco's code grammar (:mod:`adapters.transport.keys`);
    otherwise NotFound, before any call."""
    if not auco_code(code):
        raise NotFound("No such Auco document", provider=AUCO)
    return code


async def _chunks(file: BinaryIO, size: int) -> AsyncIterator[bytes]:
    # A spooled temporary file: a read is a memcpy from memory or the page cache,
    # cheaper than a thread hop per chunk.
    while chunk := file.read(size):
        yield chunk


async def _base64_chunks(file: BinaryIO, size: int) -> AsyncIterator[bytes]:
    """``file`` base64-encoded piecewise: each piece encodes a multiple of 3 bytes."""
    carry = b""
    async for chunk in _chunks(file, size):
        data = carry + chunk
        cut = len(data) - len(data) % 3
        carry = data[cut:]
        if cut:
            yield base64.b64encode(data[:cut])
    if carry:
        yield base64.b64encode(carry)


async def _framed(
    head: bytes, middle: AsyncIterator[bytes], tail: bytes
) -> AsyncIterator[bytes]:
    yield head
    async for piece in middle:
        yield piece
    yield tail


class AucoClient:
    """Batch-shaped access to Auco. One per process; ``http`` is shared and pooled."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        private_key: str,
        public_key: str,
        sender_email: str = DEFAULT_SENDER,
        inline_limit: int = 1_000_000,
        max_concurrency: int = 16,
        chunk_size: int = 3 * 21_846,  # ≈64 KiB, a multiple of 3
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._http = http
        self._private_key = private_key
        self._public_key = public_key
        # Reads go with the public key, the rest with the private one: each
        # builder has its key among its defaults, made into entries once.
        self._read_build = RequestBuilder(http, headers={"Authorization": public_key})
        self._write_build = RequestBuilder(http, headers={"Authorization": private_key})
        self.sender_email = sender_email
        self.inline_limit = inline_limit
        self._chunk_size = chunk_size
        self._clock = clock
        self._limit = asyncio.Semaphore(max_concurrency)

    # Public face -------------------------------------------------------------------

    async def request_signature(
        self, request: SignatureRequest, upload: Upload | None
    ) -> Document:
        """Send ``upload`` (a PDF; None with a template) to ``request.signers``."""
        now = self._clock()
        inline = upload is not None and upload.size <= self.inline_limit
        violations = validate(request, now) + self._file_violations(
            request, upload, inline
        )
        if violations:
            raise ValidationFailed(
                "Auco would refuse this signature request", violations, provider=AUCO
            )
        payload = mapping.upload_payload(
            request, self.sender_email, compress=upload is not None and not inline
        )
        if upload is not None and inline:
            response = await self._post_inline(payload, upload)
        else:
            response = await self._call("POST", "/document/upload", json=payload)
        try:
            code, url = mapping.upload_answer(json_body(response, AUCO))
        except ValueError as exc:
            raise ProviderError("Auco sent a malformed answer", provider=AUCO) from exc
        if upload is not None and not inline:
            if url is None:
                raise ProviderError("Auco gave no upload link", provider=AUCO)
            await self._put(url, upload)
        size = upload.size if upload is not None else None
        return mapping.sent_document(code, request, size, now)

    async def get_documents(
        self, codes: Sequence[str]
    ) -> Mapping[str, Document | AdapterError]:
        """Each code's document, or the error that befell just that one."""
        return await batches.each(codes, self._get_document)

    async def cancel_signature(
        self, code: str, *, reason: str | None = None
    ) -> Document:
        """Withdraw a document from signature; answers it as Auco now shows it."""
        payload = mapping.cancel_payload(
            _code(code), self.sender_email, reason or CANCEL_MESSAGE
        )
        response = await self._call("POST", "/document/cancel", json=payload)
        try:
            refused = mapping.refused_codes(json_body(response, AUCO))
        except ValueError as exc:
            raise ProviderError("Auco sent a malformed answer", provider=AUCO) from exc
        document = await self._get_document(code)
        if refused:
            raise InvalidStateTransition(
                f"the document is {document.status.name.lower()} and can no longer "
                "be cancelled",
                provider=AUCO,
                provider_code="CANCEL_REFUSED",
            )
        return document

    # Requests ---------------------------------------------------------------------

    async def _get_document(self, code: str) -> Document:
        response = await self._call("GET", "/document", params={"code": _code(code)})
        answer = validated(answers.DOCUMENT, response, AUCO)
        try:
            found = mapping.document_answer(answer)
        except ValueError as exc:
            raise ProviderError(
                "Auco sent a malformed document", provider=AUCO
            ) from exc
        if found.key.casefold() != code.casefold():  # another document's answer
            raise ProviderError("Auco sent a malformed document", provider=AUCO)
        return found

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        content: AsyncIterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        build = self._read_build if method == "GET" else self._write_build
        request = build(
            method, path, json=json, params=params, content=content, headers=headers
        )
        async with self._limit:
            response = await send(self._http, AUCO, request)
        self._check(response)
        return response

    async def _post_inline(
        self, payload: dict[str, Any], upload: Upload
    ) -> httpx.Response:
        """The upload body with ``file`` streamed in as base64, never held whole."""
        fields = json.dumps(payload, separators=(",", ":"))
        head = (fields[:-1] + ',"file":"').encode()
        tail = b'"}'
        encoded = 4 * -(-upload.size // 3)
        upload.file.seek(0)
        return await self._call(
            "POST",
            "/document/upload",
            content=_framed(head, _base64_chunks(upload.file, self._chunk_size), tail),
            headers={
                "Content-Type": "application/json",
                "Content-Length": str(len(head) + encoded + len(tail)),
            },
        )

    async def _put(self, url: str, upload: Upload) -> None:
        """The PDF's bytes to Auco's signed URL: streamed, no key, declared length."""
        upload.file.seek(0)
        request = self._http.build_request(
            "PUT",
            url,  # absolute: httpx leaves base_url out of it
            content=_chunks(upload.file, self._chunk_size),
            headers={
                "Content-Type": mapping.PDF,
                "Content-Length": str(upload.size),
            },
            extensions={ROUTE: SIGNED_UPLOAD_ROUTE},
        )
        async with self._limit:
            response = await send(self._http, AUCO, request)
        if response.status_code == 403:
            raise ProviderRejected(
                "The Auco upload link expired or was already used before the PDF "
                "arrived; request the signature again",
                provider=AUCO,
                provider_code="UPLOAD_LINK_EXPIRED",
            )
        if not response.is_success:
            raise ProviderRejected(
                f"Auco refused the PDF upload (HTTP {response.status_code})",
                provider=AUCO,
            )

    # Rules and errors -------------------------------------------------------------

    def _file_violations(
        self, request: SignatureRequest, upload: Upload | None, inline: bool
    ) -> list[Violation]:
        if upload is None:
            if request.template is None:
                return [Violation(("file",), "a PDF or a template is required")]
            return []
        found = []
        if request.template is not None:
            found.append(
                Violation(
                    ("template",),
                    "a template carries its own PDF: send one or the other",
                )
            )
        if not self._is_pdf(upload):
            found.append(Violation(("file",), "must be a PDF"))
        if not inline:
            found += [
                Violation(
                    ("signers", str(i), "label"),
                    f"PDF tags need the file inline (at most {self.inline_limit} "
                    "bytes); place the signature by positions instead",
                )
                for i, signer in enumerate(request.signers)
                if signer.label
            ]
        return found

    @staticmethod
    def _is_pdf(upload: Upload) -> bool:
        if upload.size <= 0:
            return False
        content_type = (upload.content_type or "").split(";")[0].strip().lower()
        if content_type and content_type not in _PDF_TYPES:
            return False
        position = upload.file.tell()
        head = upload.file.read(len(PDF_MAGIC))
        upload.file.seek(position)
        return head == PDF_MAGIC

    def _check(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        request_id = response.headers.get("x-amzn-requestid") or response.headers.get(
            "x-request-id"
        )
        status = response.status_code
        if status in (401, 403):
            raise ProviderAuthFailed(
                "Auco refused the gateway's credentials",
                provider=AUCO,
                request_id=request_id,
            )
        if status == 413:
            raise UploadTooLarge(
                "The request is too large for Auco",
                limit=self.inline_limit,
                provider=AUCO,
                request_id=request_id,
            )
        code = mapping.error_code(response.content)
        if code in ("DOCUMENT_NOT_FOUND", "PACKAGE_NOT_FOUND"):
            raise NotFound(
                "No such Auco document",
                provider=AUCO,
                request_id=request_id,
                provider_code=code,
            )
        field = mapping.violation_for(code)
        if field is not None:
            raise ValidationFailed(
                "Auco refused the signature request",
                [Violation(*field)],
                provider=AUCO,
                request_id=request_id,
                provider_code=code,
            )
        raise ProviderRejected(
            f"Auco refused the request (HTTP {status})",
            provider=AUCO,
            request_id=request_id,
            provider_code=code,
        )
