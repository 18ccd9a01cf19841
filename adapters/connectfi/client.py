"""connectFi (PayGears) akepa KYC/KYB onboarding: the gateway's client.

Endpoints used (all ``POST``; seeds ``000_…`` and ``002_…``, reference §1):

- ``/auth/get-token``: ``{"user": {"login", "password"}}`` → ``{token,
  dtsExpireAt}``. The token goes in ``x-connectfi-token`` on every other call.
- ``/akepa/list`` (seed 002): a customer's applications, ``numberOfRecords`` ≤ 1000
  and ``skipRecords``, ``total.more``.
- ``/akepa/status``: ``{customerId, applicationId}`` → one application.
- ``/akepa/identification`` (reference §1.4 step 2): ``{customerId, reference,
  webhookURL}`` → the new application. ``webhookURL`` is ``webhook_url``, the
  gateway's ``/webhooks/connectfi/{token}`` (set by the app; None: not sent, and
  connectFi's manual-review webhook goes nowhere). Not retried (it creates).
- ``/akepa/document/generate`` (seed 000): a document id to upload into.
- ``/akepa/document/upload/{documentId}``: ``multipart/form-data``, field ``file``.

Answers come in ``{code: "0", data, requestId}``; refusals in ``{requestId, code,
subCode?, context, message}``, translated to :mod:`adapters.errors`:

    requestValidateError, greaterNumberOfRecords  → ValidationFailed (field paths)
    fileNotFound                                  → ValidationFailed (``file``)
    applicationNotFound, documentNotFound,
    customerNotFound, any other 404               → NotFound
    unauthorized (after one renewal)              → ProviderAuthFailed
    any other code                                → ProviderRejected
    anything that is not the envelope             → ProviderError

Each keeps connectFi's ``requestId`` and ``code``; messages are the gateway's own,
never connectFi's text, body, URL or the credentials.

The token is kept until ``dtsExpireAt`` minus ``expiry_margin`` (at most half its
lifetime), shared by concurrent calls (one login for a burst of calls), and renewed
once on a 401; the call is then retried once. Upstream calls are bounded by
``max_concurrency``. Given a ``SharedToken`` (a fleet of replicas:
``gateway.state.connectfi``), a replica without a valid token takes the fleet's,
and only one replica at a time logs in, under the store's lock, and shares what it
got: one login for the fleet.

Choices where the sources disagree or are silent:

- Input connectFi would refuse is refused first (:mod:`.checks`), with violation
  paths named as the GraphQL inputs are (``noteAuthorAgentEmail``, ``filter.
  customerId``, ``first`` for the page size, ``after`` for the offset).
- Application keys are ``"{customerId}:{applicationId}"``; a malformed key is
  ``NotFound`` without a call, and so is a document id outside ``common-id``
  (:mod:`adapters.transport.keys`). The document id is one encoded path segment
  (:mod:`adapters.transport.paths`). ``/akepa/status`` with a body follows the newer
  docs (the older page put the customer in the path).
- The upload answer is the generated document with ``uploadStatus: true`` (the
  reference's example is cut off); ``size`` is the size the gateway sent.
- Uploads stream from the file in httpx's chunks; the file must be a JPEG or PNG
  by its type, name and first bytes, the formats ``extension`` allows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import TypeAdapter

from adapters import batches
from adapters.connectfi import answers, checks, envelope, mapping
from adapters.connectfi.session import Session, SharedToken
from adapters.errors import (
    AdapterError,
    NotFound,
    ProviderAuthFailed,
    ValidationFailed,
)
from adapters.model import Application, Document, Page, Provider, Upload
from adapters.transport.http import RequestBuilder, json_body, send
from adapters.transport.paths import ROUTE, route, template_of
from adapters.transport.resilience import RETRY_SAFE

PROVIDER = Provider.CONNECTFI
TOKEN_HEADER = "x-connectfi-token"
# Reads by POST: the transport may retry them like GETs
# (adapters/transport/resilience.py).
SAFE_READS = frozenset({"/akepa/list", "/akepa/status"})


class ConnectFiClient:
    """Batch-shaped access to connectFi akepa; one instance per process."""

    provider = PROVIDER

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        login: str,
        password: str,
        clock: Callable[[], float] = time.time,
        expiry_margin: float = 60.0,
        max_concurrency: int = 16,
        shared: SharedToken | None = None,
    ) -> None:
        self._http = http
        self._build = RequestBuilder(http)
        self._bound = asyncio.Semaphore(max_concurrency)
        self._session = Session(
            self._log_in,
            clock=clock,
            expiry_margin=expiry_margin,
            shared=shared,
        )
        self._credentials = {"user": {"login": login, "password": password}}
        # Where connectFi posts an application's asynchronous changes.
        self.webhook_url: str | None = None

    # Applications

    async def list_applications(
        self,
        customer_id: str,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        offset: int = 0,
        limit: int = checks.MAX_RECORDS,
    ) -> Page[Application]:
        """One page of a customer's applications, newest first (``/akepa/list``)."""
        violations = checks.list_violations(customer_id, offset=offset, limit=limit)
        if violations:
            raise ValidationFailed(
                "connectFi would refuse this page request",
                violations,
                provider=PROVIDER,
            )
        body = mapping.list_request(
            customer_id,
            created_from=created_from,
            created_to=created_to,
            offset=offset,
            limit=limit,
        )
        data, request_id = await self._call(
            "/akepa/list", mapping.LIST_PATHS, json=body, shape=answers.LIST_ANSWER
        )

        def page(data: Any) -> Page[Application]:
            return mapping.application_page(data, offset)

        return envelope.parse(page, data, request_id)

    async def get_applications(
        self, keys: Sequence[str]
    ) -> Mapping[str, Application | AdapterError]:
        """Each key's application (``/akepa/status``), concurrently, bounded."""
        return await batches.each(keys, self._application)

    async def _application(self, key: str) -> Application | AdapterError:
        try:
            customer_id, application_id = mapping.split_key(key)
        except ValueError:
            customer_id = application_id = ""
        if not (checks.is_id(customer_id) and checks.is_id(application_id)):
            return NotFound(
                envelope.NOT_FOUND["applicationNotFound"], provider=PROVIDER
            )
        body = {"customerId": customer_id, "applicationId": application_id}
        try:
            data, request_id = await self._call(
                "/akepa/status",
                mapping.STATUS_PATHS,
                json=body,
                shape=answers.APPLICATION_ANSWER,
            )
            return envelope.parse(mapping.application_answer, data, request_id)
        except AdapterError as exc:
            return exc

    async def start_identification(
        self, customer_id: str, *, reference: str
    ) -> Application:
        """Start KYC for a customer (``/akepa/identification``): a new application,
        whose manual review connectFi posts to ``webhook_url``."""
        violations = checks.identification_violations(
            customer_id, reference, self.webhook_url
        )
        if violations:
            raise ValidationFailed(
                "connectFi would refuse this identification",
                violations,
                provider=PROVIDER,
            )
        body: dict[str, object] = {"customerId": customer_id, "reference": reference}
        if self.webhook_url is not None:
            body["webhookURL"] = self.webhook_url
        data, request_id = await self._call(
            "/akepa/identification",
            mapping.IDENTIFICATION_PATHS,
            json=body,
            shape=answers.APPLICATION_ANSWER,
        )
        return envelope.parse(mapping.application_answer, data, request_id)

    # Documents

    async def generate_document(
        self,
        *,
        workflow: str,
        name: str,
        extension: str,
        type: str,
        note: str | None = None,
        note_author_agent_email: str | None = None,
    ) -> Document:
        """A document id to upload into (``/akepa/document/generate``, seed 000)."""
        violations = checks.generate_violations(
            workflow=workflow,
            name=name,
            extension=extension,
            type=type,
            note=note,
            note_author_agent_email=note_author_agent_email,
        )
        if violations:
            raise ValidationFailed(
                "connectFi would refuse this document", violations, provider=PROVIDER
            )
        body = mapping.generate_request(
            workflow=workflow,
            name=name,
            extension=extension,
            type=type,
            note=note,
            note_author_agent_email=note_author_agent_email,
        )
        data, request_id = await self._call(
            "/akepa/document/generate",
            mapping.GENERATE_PATHS,
            json=body,
            shape=answers.DOCUMENT_ANSWER,
        )
        return envelope.parse(mapping.document_answer, data, request_id)

    async def upload_document(self, document_id: str, upload: Upload) -> Document:
        """Stream ``upload`` into a generated document (multipart field ``file``)."""
        if not checks.is_id(document_id):
            raise NotFound(envelope.NOT_FOUND["documentNotFound"], provider=PROVIDER)
        image_format, violations = checks.upload_format(upload)
        if violations or image_format is None:
            raise ValidationFailed(
                "connectFi would refuse this file", violations, provider=PROVIDER
            )
        data, request_id = await self._call(
            route("/akepa/document/upload/{documentId}", documentId=document_id),
            mapping.UPLOAD_PATHS,
            upload=upload,
            content_type=mapping.CONTENT_TYPES[image_format],
            shape=answers.DOCUMENT_ANSWER,
        )

        def document(data: Any) -> Document:
            return mapping.document_answer(data, size=upload.size)

        return envelope.parse(document, data, request_id)

    # The wire

    async def _call(
        self,
        path: str,
        paths: envelope.Paths,
        *,
        json: object = None,
        upload: Upload | None = None,
        content_type: str | None = None,
        shape: TypeAdapter[Any] | None = None,
    ) -> tuple[Any, str | None]:
        """POST with the token, renewing it once on a 401; ``(data, requestId)``
        (checked against ``shape`` from the bytes: :func:`envelope.unwrap`)."""
        token = await self._session.valid()
        response = await self._post(path, token, json, upload, content_type)
        if response.status_code == 401:
            token = await self._session.renewed(stale=token)
            response = await self._post(path, token, json, upload, content_type)
        return envelope.unwrap(response, paths, shape)

    async def _post(
        self,
        path: str,
        token: str,
        json: object,
        upload: Upload | None,
        content_type: str | None,
    ) -> httpx.Response:
        headers = {TOKEN_HEADER: token}
        if upload is None:
            request = self._build(
                "POST",
                path,
                json=json,
                headers=headers,
                extensions={RETRY_SAFE: path in SAFE_READS},
            )
        else:
            # httpx reads a file object in chunks while sending, from the start.
            upload.file.seek(0)
            part = (upload.filename, upload.file, content_type)
            request = self._http.build_request(
                "POST",
                path,
                files={"file": part},
                headers=headers,
                extensions={ROUTE: template_of(path)},
            )
        async with self._bound:
            return await send(self._http, PROVIDER, request)

    async def _log_in(self) -> tuple[str, float]:
        """A new token from ``/auth/get-token`` and when it expires (epoch s)."""
        request = self._build(
            "POST",
            "/auth/get-token",
            json=self._credentials,
            extensions={RETRY_SAFE: True},  # a login changes nothing: may be repeated
        )
        async with self._bound:
            response = await send(self._http, PROVIDER, request)
        body = json_body(response, PROVIDER)
        request_id = envelope.request_id_of(body)
        if response.status_code != 200 or not envelope.is_success(body):
            raise ProviderAuthFailed(
                "connectFi refused the gateway's credentials",
                provider=PROVIDER,
                request_id=request_id,
                provider_code=envelope.code_of(body),
            )
        assert isinstance(body, dict)  # is_success says so

        def token_and_expiry(data: Any) -> tuple[str, float]:
            token, expires = data["token"], data["dtsExpireAt"]
            if not isinstance(token, str) or not token:
                raise TypeError("no token")
            moment = datetime.fromisoformat(expires)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return token, moment.timestamp()

        return envelope.parse(token_and_expiry, body["data"], request_id)
