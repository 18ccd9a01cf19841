"""AucoClient against the Auco sandbox: domain results and what went upstream."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.auco.client import AucoClient
from adapters.auco.inputs import (
    CameraCheck,
    SignatureRequest,
    SignerInput,
    ValidationOptions,
)
from adapters.auco.sandbox import create_app
from adapters.errors import (
    InvalidStateTransition,
    NotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    UploadTooLarge,
    ValidationFailed,
)
from adapters.model import DocumentStatus, Owner, OwnerKind, Provider, Upload
from adapters.sandbox_kit import Controlled, Fault

from .conftest import BASE_URL, NOW, PRIVATE, PUBLIC, Clock

ANA = SignerInput("Ana García", "ana.garcia@example.com", "+573001110001", order=1)
LUIS = SignerInput("Luis Martínez", "luis.martinez@example.com", "+573001110002")
REQUEST = SignatureRequest(
    name="Contrato de apertura",
    subject="Firma tu contrato",
    message="Hola, por favor firma el contrato.",
    signers=(ANA, replace(LUIS, order=2)),
    remember=3,
)


class ReadRecordingFile(io.BytesIO):
    """A file that remembers how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int | None] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads.append(size)
        return super().read(size)


def pdf(size: int) -> bytes:
    head = b"%PDF-1.7\n"
    body = bytes(range(256)) * (size // 256 + 1)
    return (head + body)[:size]


def upload_of(data: bytes, content_type: str = "application/pdf") -> Upload:
    return Upload("contrato.pdf", content_type, len(data), ReadRecordingFile(data))


def client_for(http: httpx.AsyncClient, **kwargs: Any) -> AucoClient:
    return AucoClient(
        http, private_key=PRIVATE, public_key=PUBLIC, clock=lambda: NOW, **kwargs
    )


@pytest.fixture
def auco(http: httpx.AsyncClient) -> AucoClient:
    return client_for(http)


# request_signature ------------------------------------------------------------


async def test_a_small_pdf_goes_inline_as_base64(
    auco: AucoClient, app: Controlled
) -> None:
    data = pdf(200_000)
    upload = upload_of(data)

    document = await auco.request_signature(REQUEST, upload)

    [sent] = app.control.requests
    assert (sent.method, sent.path) == ("POST", "/v1.5/ext/document/upload")
    assert sent.headers["authorization"] == PRIVATE
    assert sent.headers["content-type"] == "application/json"
    body = json.loads(sent.body)
    assert base64.b64decode(body.pop("file")) == data
    assert body == {
        "email": "onboarding@bank.example",
        "name": "Contrato de apertura",
        "subject": "Firma tu contrato",
        "message": "Hola, por favor firma el contrato.",
        "signProfile": [
            {
                "name": "Ana García",
                "email": "ana.garcia@example.com",
                "phone": "+573001110001",
                "role": "SIGNER",
                "order": "1",
            },
            {
                "name": "Luis Martínez",
                "email": "luis.martinez@example.com",
                "phone": "+573001110002",
                "role": "SIGNER",
                "order": "2",
            },
        ],
        "remember": 3,
    }
    assert app.store.documents[document.key].content == data
    assert document.provider is Provider.AUCO
    assert document.name == "Contrato de apertura"
    assert document.status is DocumentStatus.AWAITING_SIGNATURE
    assert document.size == 200_000
    assert document.owner == Owner(OwnerKind.AUCO_SIGNER, "ana.garcia@example.com")
    assert [(s.email, s.order) for s in document.signers] == [
        ("ana.garcia@example.com", 1),
        ("luis.martinez@example.com", 2),
    ]


async def test_a_large_pdf_goes_by_signed_url_streamed(
    auco: AucoClient, app: Controlled
) -> None:
    data = pdf(12 * 1024 * 1024)
    upload = upload_of(data)

    document = await auco.request_signature(REQUEST, upload)

    post, put = app.control.requests
    assert (post.method, post.path) == ("POST", "/v1.5/ext/document/upload")
    body = json.loads(post.body)
    assert body["compress"] is True
    assert "file" not in body
    assert put.method == "PUT"
    assert put.path.startswith("/v1.5/ext/_upload/")
    assert "authorization" not in put.headers  # the key stays with Auco
    assert put.headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in put.headers
    stored = app.store.documents[document.key]
    assert stored.content == data
    assert [s.status for s in stored.signers] == ["NOTIFICATION", "PENDING"]
    # never read whole: every read asked for one bounded chunk
    reads = upload.file.reads  # type: ignore[attr-defined]
    assert reads and all(r is not None and 0 < r <= 65_538 for r in reads)


async def test_the_inline_body_is_streamed_too(
    auco: AucoClient, app: Controlled
) -> None:
    upload = upload_of(pdf(900_001))

    await auco.request_signature(REQUEST, upload)

    reads = upload.file.reads  # type: ignore[attr-defined]
    assert len(reads) > 10
    assert all(r is not None and 0 < r <= 65_538 for r in reads[1:])
    [sent] = app.control.requests
    assert sent.headers["content-length"] == str(len(sent.body))


async def test_a_file_read_in_odd_pieces_still_encodes_whole(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    data = pdf(10_007)

    await client_for(http, chunk_size=1_000).request_signature(REQUEST, upload_of(data))

    [sent] = app.control.requests
    assert base64.b64decode(json.loads(sent.body)["file"]) == data


async def test_the_newer_answer_shape_is_understood(clock: Clock) -> None:
    app = create_app(clock=clock, now=lambda: NOW, response_shape="current")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as http:
        auco = client_for(http, inline_limit=1_000)
        document = await auco.request_signature(REQUEST, upload_of(pdf(5_000)))

    assert app.store.documents[document.key].content == pdf(5_000)


async def test_a_template_needs_no_file(auco: AucoClient, app: Controlled) -> None:
    request = replace(
        REQUEST,
        template="TPLACCOUNT1",
        signers=(replace(ANA, type="titular"), replace(LUIS, type="codeudor")),
    )

    document = await auco.request_signature(request, None)

    [sent] = app.control.requests
    body = json.loads(sent.body)
    assert body["document"] == "TPLACCOUNT1"
    assert "file" not in body
    assert "compress" not in body
    assert app.store.documents[document.key].sent


async def test_an_expired_signed_url_is_a_clear_error(
    app: Controlled, clock: Clock
) -> None:
    async def age(request: httpx.Request) -> None:
        if request.method == "PUT":
            clock.value += 5.5  # the seed gives the link 5 seconds

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        event_hooks={"request": [age]},
    ) as http:
        with pytest.raises(ProviderRejected) as caught:
            await client_for(http).request_signature(REQUEST, upload_of(pdf(2_000_000)))

    assert "upload link expired" in caught.value.message
    assert caught.value.provider_code == "UPLOAD_LINK_EXPIRED"
    assert "http" not in caught.value.message
    assert [r.method for r in app.control.requests] == ["POST", "PUT"]


async def test_a_signed_url_already_used_is_a_clear_error(app: Controlled) -> None:
    transport = httpx.ASGITransport(app=app)

    async def someone_else_first(request: httpx.Request) -> None:
        if request.method == "PUT":
            async with httpx.AsyncClient(transport=transport) as other:
                await other.put(request.url, content=pdf(100))

    async with httpx.AsyncClient(
        transport=transport,
        base_url=BASE_URL,
        event_hooks={"request": [someone_else_first]},
    ) as http:
        with pytest.raises(ProviderRejected) as caught:
            await client_for(http).request_signature(REQUEST, upload_of(pdf(2_000_000)))

    assert "upload link expired or was already used" in caught.value.message


def _request_with(**changes: Any) -> SignatureRequest:
    return replace(REQUEST, **changes)


@pytest.mark.parametrize(
    ("request_", "upload", "paths"),
    [
        (_request_with(remember=4), pdf(1000), [("remember",)]),
        (
            _request_with(expired_date=NOW + timedelta(days=2, hours=23)),
            pdf(1000),
            [("expiredDate",)],
        ),
        (
            _request_with(signers=(ANA, replace(LUIS, email=ANA.email.upper()))),
            pdf(1000),
            [("signers", "1", "email")],
        ),
        (
            _request_with(signers=(ANA, replace(LUIS, phone=ANA.phone))),
            pdf(1000),
            [("signers", "1", "phone")],
        ),
        (
            _request_with(options=ValidationOptions(camera=CameraCheck.PHOTO)),
            pdf(1000),
            [("options", "camera")],
        ),
        (
            _request_with(signers=(ANA, replace(LUIS, label=True))),
            pdf(2_000_000),
            [("signers", "1", "label")],
        ),
        (REQUEST, b"GIF89a not a pdf", [("file",)]),
        (REQUEST, None, [("file",)]),
        (_request_with(template="TPLACCOUNT1"), pdf(1000), [("template",)]),
    ],
)
async def test_refused_input_makes_no_upstream_call(
    auco: AucoClient,
    app: Controlled,
    request_: SignatureRequest,
    upload: bytes | None,
    paths: list[tuple[str, ...]],
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await auco.request_signature(
            request_, upload_of(upload) if upload is not None else None
        )

    assert [v.path for v in caught.value.violations] == paths
    assert caught.value.code == "BAD_USER_INPUT"
    assert app.control.requests == []


async def test_a_word_document_is_refused_by_its_type(
    auco: AucoClient, app: Controlled
) -> None:
    upload = upload_of(pdf(1000), content_type="application/msword")

    with pytest.raises(ValidationFailed):
        await auco.request_signature(REQUEST, upload)

    assert app.control.requests == []


async def test_auco_refusing_a_field_is_validation_failed(
    auco: AucoClient,
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await auco.request_signature(
            replace(REQUEST, folder="not/mine"), upload_of(pdf(1000))
        )

    assert [v.path for v in caught.value.violations] == [("folder",)]
    assert caught.value.provider_code == "FOLDER_NOT_FOUND"


async def test_an_unknown_sender_is_validation_failed(http: httpx.AsyncClient) -> None:
    auco = client_for(http, sender_email="nobody@bank.example")

    with pytest.raises(ValidationFailed) as caught:
        await auco.request_signature(REQUEST, upload_of(pdf(1000)))

    assert [v.path for v in caught.value.violations] == [("senderEmail",)]


async def test_an_oversized_inline_body_is_upload_too_large(clock: Clock) -> None:
    app = create_app(clock=clock, now=lambda: NOW, max_body_bytes=10_000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as http:
        with pytest.raises(UploadTooLarge):
            await client_for(http).request_signature(REQUEST, upload_of(pdf(20_000)))


# get_documents ----------------------------------------------------------------


async def test_documents_are_read_with_the_public_key(
    auco: AucoClient, app: Controlled
) -> None:
    codes = ["DEMOWAIT01", "DEMOSIGN03", "DEMOREJ004", "DEMOEXP005", "DEMOCAN006"]

    found = await auco.get_documents([*codes, "DEMOUPL007", "DEMOWAIT01", "NOPE000000"])

    statuses = {
        code: doc.status
        for code, doc in found.items()
        if not isinstance(doc, Exception)
    }
    assert statuses == {
        "DEMOWAIT01": DocumentStatus.AWAITING_SIGNATURE,
        "DEMOSIGN03": DocumentStatus.SIGNED,
        "DEMOREJ004": DocumentStatus.REJECTED,
        "DEMOEXP005": DocumentStatus.EXPIRED,
        "DEMOCAN006": DocumentStatus.CANCELED,
        "DEMOUPL007": DocumentStatus.AWAITING_UPLOAD,
    }
    assert isinstance(found["NOPE000000"], NotFound)
    assert app.control.calls("GET", "/v1.5/ext/document") == 7  # de-duplicated
    assert {r.headers["authorization"] for r in app.control.requests} == {PUBLIC}
    assert sorted(r.query for r in app.control.requests)[0] == "code=DEMOCAN006"


async def test_a_read_document_carries_its_signers_and_link(
    auco: AucoClient,
) -> None:
    found = await auco.get_documents(["DEMOSEQ002"])

    document = found["DEMOSEQ002"]
    assert not isinstance(document, Exception)
    assert document.download_url == f"{BASE_URL}/_download/DEMOSEQ002"
    assert [(s.email, s.status, s.order, s.phone) for s in document.signers] == [
        ("luis.martinez@example.com", "FINISH", 1, "+573001110002"),
        ("sofia.torres@example.com", "NOTIFICATION", 2, "+573001110003"),
    ]
    assert document.owner == Owner(OwnerKind.AUCO_SIGNER, "luis.martinez@example.com")


async def test_reads_run_concurrently_within_the_bound(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    app.control.latency = 0.05
    auco = client_for(http, max_concurrency=4)
    codes = ["DEMOWAIT01", "DEMOSEQ002", "DEMOSIGN03", "DEMOREJ004"] * 2
    codes += [f"MISSING{n:03}" for n in range(4)]

    await auco.get_documents(codes)

    assert app.control.calls() == 8
    peak = max(
        sum(1 for o in app.control.requests if o.started <= r.started < o.ended)
        for r in app.control.requests
    )
    assert 2 <= peak <= 4  # concurrent, within the bound


async def test_one_failing_read_fails_only_its_key(
    auco: AucoClient, app: Controlled
) -> None:
    app.control.inject(r"/document$", Fault(status=503, times=1))

    found = await auco.get_documents(["DEMOWAIT01"])
    again = await auco.get_documents(["DEMOWAIT01", "DEMOSIGN03"])

    assert isinstance(found["DEMOWAIT01"], ProviderUnavailable)
    assert not any(isinstance(v, Exception) for v in again.values())


async def test_a_document_signed_after_the_request_reads_signed(
    auco: AucoClient, app: Controlled
) -> None:
    document = await auco.request_signature(REQUEST, upload_of(pdf(1000)))
    app.store.sign(document.key, ANA.email)
    app.store.sign(document.key, LUIS.email)

    found = await auco.get_documents([document.key])

    assert found[document.key].status is DocumentStatus.SIGNED  # type: ignore[union-attr]


# cancel_signature -------------------------------------------------------------


async def test_cancelling_answers_the_canceled_document(
    auco: AucoClient, app: Controlled
) -> None:
    document = await auco.cancel_signature("DEMOWAIT01", reason="cliente desistió")

    assert document.status is DocumentStatus.CANCELED
    assert document.provider_status == "REJECTED"
    cancel, read = app.control.requests
    assert (cancel.method, cancel.path) == ("POST", "/v1.5/ext/document/cancel")
    assert cancel.headers["authorization"] == PRIVATE
    assert json.loads(cancel.body) == {
        "codes": ["DEMOWAIT01"],
        "message": "cliente desistió",
        "email": "onboarding@bank.example",
    }
    assert (read.method, read.query) == ("GET", "code=DEMOWAIT01")
    assert read.headers["authorization"] == PUBLIC


async def test_a_signed_document_cannot_be_cancelled(auco: AucoClient) -> None:
    with pytest.raises(InvalidStateTransition) as caught:
        await auco.cancel_signature("DEMOSIGN03")

    assert "signed" in caught.value.message


async def test_cancelling_an_unknown_document_is_not_found(auco: AucoClient) -> None:
    with pytest.raises(NotFound):
        await auco.cancel_signature("NOPE000000")


# errors -----------------------------------------------------------------------


async def test_refused_credentials_never_echo_the_key(
    http: httpx.AsyncClient,
) -> None:
    auco = AucoClient(http, private_key="prk_wrong", public_key="puk_wrong")

    with pytest.raises(ProviderAuthFailed) as read:
        await auco.cancel_signature("DEMOWAIT01")
    found = await auco.get_documents(["DEMOWAIT01"])

    assert "prk_wrong" not in str(read.value)
    assert isinstance(found["DEMOWAIT01"], ProviderAuthFailed)


async def test_an_unexpected_refusal_never_echoes_the_body(
    auco: AucoClient, app: Controlled
) -> None:
    secret_body = b'{"message": "Se ha producido un error en https://internal/x"}'
    app.control.inject(r"/document/upload$", Fault(status=400, body=secret_body))

    with pytest.raises(ProviderRejected) as caught:
        await auco.request_signature(REQUEST, upload_of(pdf(1000)))

    assert "internal" not in caught.value.message
    assert caught.value.provider_code is None


async def test_a_malformed_answer_is_a_provider_error(
    auco: AucoClient, app: Controlled
) -> None:
    app.control.inject(r"/document/upload$", Fault(status=200, body=b'{"package": 1}'))

    with pytest.raises(ProviderError):
        await auco.request_signature(REQUEST, upload_of(pdf(1000)))
