"""Auco e-signature through GraphQL: a large PDF by the signed URL, a small one
inline, the link's expiry and reuse as clear errors, Auco's rules checked first,
cancelling, and a document read back with its signers."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.auco import sandbox as auco
from adapters.model import Provider
from schema import ids
from tests.conftest import Gateway, serve
from tests.schema import multipart
from tests.schema.multipart import File

REQUEST = """
mutation Request($file: Upload!, $input: SignatureRequestInput!) {
  requestSignature(file: $file, input: $input) {
    __typename
    ... on Document { id provider providerId name status providerStatus size
                      contentType signers { name email role order } }
    ... on ValidationFailed { fields { path message } }
    ... on ProviderRejected { rejectedBy }
    ... on UserError { code message }
  }
}"""

READ = """
query Read($id: ID!) {
  document(id: $id) {
    id provider providerId name status providerStatus downloadUrl
    signers { name email phone role order status }
  }
}"""

CANCEL = """
mutation Cancel($id: ID!, $reason: String) {
  cancelSignature(id: $id, reason: $reason) {
    __typename
    ... on Document { id status providerStatus signers { email status } }
    ... on UserError { code message }
  }
}"""

KB, MB = 1000, 1000 * 1000
UPLOAD = "/v1.5/ext/document/upload"


def signature_input(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Contrato de apertura",
        "subject": "Firma tu contrato",
        "message": "Hola, por favor firma el contrato adjunto.",
        "signers": [
            {
                "name": "Ana García",
                "email": "ana.garcia@example.com",
                "phone": "+573001110001",
            },
            {
                "name": "Luis Martínez",
                "email": "luis.martinez@example.com",
                "phone": "+573001110002",
            },
        ],
        **changes,
    }


async def request_signature(
    gateway: Gateway, content: bytes, **changes: Any
) -> dict[str, Any]:
    data = await multipart.upload(
        gateway.client,
        REQUEST,
        {"input": signature_input(**changes)},
        {"file": File("contrato.pdf", "application/pdf", content)},
    )
    result: dict[str, Any] = data["requestSignature"]
    return result


def auco_code(document_id: str) -> str:
    gid = ids.decode(document_id)
    assert gid is not None and gid.provider is Provider.AUCO
    return gid.key


async def test_a_12_mb_pdf_goes_by_the_signed_url(gateway: Gateway) -> None:
    content = multipart.pdf(12 * MB)

    result = await request_signature(gateway, content)

    assert result["__typename"] == "Document", result
    assert (result["status"], result["size"]) == ("AWAITING_SIGNATURE", 12 * MB)
    code = result["providerId"]
    assert gateway.auco.store.documents[code].content == content
    post, put = gateway.auco.control.requests
    assert (post.method, post.path) == ("POST", UPLOAD)
    body = json.loads(post.body)
    assert body["compress"] is True and "file" not in body
    assert [s["email"] for s in body["signProfile"]] == [
        "ana.garcia@example.com",
        "luis.martinez@example.com",
    ]
    assert post.headers["authorization"] == "prk_sandbox"
    assert put.method == "PUT" and put.path.startswith("/v1.5/ext/_upload/")
    assert "authorization" not in put.headers  # the link is its own credential
    assert put.headers["content-type"] == "application/pdf"
    assert int(put.headers["content-length"]) == len(put.body) == 12 * MB


async def test_a_200_kb_pdf_goes_inline(gateway: Gateway) -> None:
    content = multipart.pdf(200 * KB)

    result = await request_signature(gateway, content)

    assert result["__typename"] == "Document", result
    assert [s["email"] for s in result["signers"]] == [
        "ana.garcia@example.com",
        "luis.martinez@example.com",
    ]
    (post,) = gateway.auco.control.requests  # no PUT
    assert (post.method, post.path) == ("POST", UPLOAD)
    body = json.loads(post.body)
    assert "compress" not in body or body["compress"] is False
    assert base64.b64decode(body["file"]) == content
    assert gateway.auco.store.documents[result["providerId"]].content == content


async def test_an_expired_upload_link_is_a_clear_provider_refusal() -> None:
    sandbox = auco.create_app(signed_url_ttl=-1)  # expired when it is handed out
    async with serve(auco=sandbox) as gateway:
        result = await request_signature(gateway, multipart.pdf(2 * MB))

        assert result["__typename"] == "ProviderRejected", result
        assert result["code"] == "PROVIDER_REJECTED"
        assert result["rejectedBy"] == "AUCO"
        assert "expired or was already used" in result["message"]
        assert "http" not in result["message"]  # no link leaks
        post, put = sandbox.control.requests
        assert (post.path, put.method) == (UPLOAD, "PUT")


class FirstToUseTheLink:
    """Someone else PUTs to the signed link as soon as Auco hands it out, so the
    gateway's PUT meets a link already used (S3 answers 403)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        answer: list[bytes] = []

        async def keep(message: Any) -> None:
            answer.append(message.get("body", b""))
            await send(message)

        if scope.get("path") != UPLOAD:
            await self.inner(scope, receive, send)
            return
        await self.inner(scope, receive, keep)
        url = json.loads(b"".join(answer))["url"]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.inner)
        ) as client:
            await client.put(url, content=b"%PDF-1.4 someone else's", timeout=5)


async def test_a_reused_upload_link_is_a_clear_provider_refusal() -> None:
    sandbox = auco.create_app()
    sandbox.app = FirstToUseTheLink(sandbox.app)
    async with serve(auco=sandbox) as gateway:
        result = await request_signature(gateway, multipart.pdf(2 * MB))

        assert result["__typename"] == "ProviderRejected", result
        assert "expired or was already used" in result["message"]
        post, put = sandbox.control.requests
        assert post.path == UPLOAD
        assert put.method == "PUT" and len(put.body) == 2 * MB


@pytest.mark.parametrize(
    ("changes", "paths"),
    [
        ({"remember": 4}, [["input", "remember"]]),
        ({"remember": 0}, [["input", "remember"]]),
        (
            {"expiredDate": (datetime.now(UTC) + timedelta(days=2)).isoformat()},
            [["input", "expiredDate"]],
        ),
        (
            {
                "signers": [
                    {
                        "name": "Ana",
                        "email": "ana.garcia@example.com",
                        "phone": "+573001110001",
                    },
                    {
                        "name": "Ana again",
                        "email": "Ana.Garcia@example.com",
                        "phone": "+573001110002",
                    },
                ]
            },
            [["input", "signers", "1", "email"]],
        ),
        (
            {
                "remember": 5,
                "signers": [
                    {"name": "Ana", "email": "ana@example.com", "phone": "+573001"},
                ],
            },
            [["input", "signers", "0", "phone"], ["input", "remember"]],
        ),
        (
            # Seed 003's table: signProfile[x].phone String Requerido.
            {"signers": [{"name": "Ana", "email": "ana@example.com"}]},
            [["input", "signers", "0", "phone"]],
        ),
    ],
)
async def test_what_auco_would_refuse_is_refused_without_a_call(
    gateway: Gateway, changes: dict[str, Any], paths: list[list[str]]
) -> None:
    result = await request_signature(gateway, multipart.pdf(50 * KB), **changes)

    assert result["__typename"] == "ValidationFailed", result
    assert sorted(f["path"] for f in result["fields"]) == sorted(paths)
    assert gateway.upstream_calls() == 0


async def test_an_expiry_more_than_3_days_ahead_is_sent(gateway: Gateway) -> None:
    expires = datetime.now(UTC) + timedelta(days=4)
    result = await request_signature(
        gateway, multipart.pdf(50 * KB), remember=6, expiredDate=expires.isoformat()
    )
    assert result["__typename"] == "Document", result
    body = json.loads(gateway.auco.control.requests[0].body)
    assert body["remember"] == 6
    assert body["expiredDate"].startswith(expires.date().isoformat())


async def test_a_file_that_is_no_pdf_is_refused_at_the_file_argument(
    gateway: Gateway,
) -> None:
    data = await multipart.upload(
        gateway.client,
        REQUEST,
        {"input": signature_input()},
        {"file": File("contrato.pdf", "application/pdf", multipart.jpeg(4096))},
    )
    result = data["requestSignature"]
    assert result["__typename"] == "ValidationFailed"
    assert [f["path"] for f in result["fields"]] == [["file"]]
    assert gateway.upstream_calls() == 0


async def test_cancelling_a_waiting_document(gateway: Gateway) -> None:
    document_id = ids.encode("Document", Provider.AUCO, "DEMOWAIT01")

    data = await gateway.data(CANCEL, {"id": document_id, "reason": "Duplicado"})

    result = data["cancelSignature"]
    assert result["__typename"] == "Document", result
    assert (result["id"], result["status"]) == (document_id, "CANCELED")
    cancel, read = gateway.auco.control.requests
    assert (cancel.method, cancel.path) == ("POST", "/v1.5/ext/document/cancel")
    assert json.loads(cancel.body) == {
        "codes": ["DEMOWAIT01"],
        "message": "Duplicado",
        "email": "onboarding@bank.example",
    }
    assert (read.method, read.query) == ("GET", "code=DEMOWAIT01")


async def test_cancelling_a_signed_document_is_refused(gateway: Gateway) -> None:
    document_id = ids.encode("Document", Provider.AUCO, "DEMOSIGN03")
    data = await gateway.data(CANCEL, {"id": document_id})
    result = data["cancelSignature"]
    assert result["__typename"] == "InvalidStateTransition"
    assert gateway.auco.store.documents["DEMOSIGN03"].status == "FINISH"


async def test_an_auco_document_shows_its_signers(gateway: Gateway) -> None:
    document_id = ids.encode("Document", Provider.AUCO, "DEMOSEQ002")

    data = await gateway.data(READ, {"id": document_id})

    document = data["document"]
    assert (document["provider"], document["providerId"]) == ("AUCO", "DEMOSEQ002")
    assert document["status"] == "AWAITING_SIGNATURE"
    assert document["downloadUrl"]
    assert [
        (s["name"], s["email"], s["phone"], s["order"], s["status"])
        for s in document["signers"]
    ] == [
        ("Luis Martínez", "luis.martinez@example.com", "+573001110002", 1, "FINISH"),
        ("Sofía Torres", "sofia.torres@example.com", "+573001110003", 2,
         "NOTIFICATION"),
    ]  # fmt: skip
    (call,) = gateway.auco.control.requests
    assert (call.method, call.path, call.query) == (
        "GET",
        "/v1.5/ext/document",
        "code=DEMOSEQ002",
    )
    assert call.headers["authorization"] == "puk_sandbox"  # reads use the public key


async def test_a_signature_just_requested_reads_back_with_its_signers(
    gateway: Gateway,
) -> None:
    sent = await request_signature(gateway, multipart.pdf(100 * KB))

    data = await gateway.data(READ, {"id": sent["id"]})

    assert data["document"]["providerId"] == auco_code(sent["id"])
    assert [s["email"] for s in data["document"]["signers"]] == [
        "ana.garcia@example.com",
        "luis.martinez@example.com",
    ]


async def test_each_demo_document_reads_with_its_normalized_status(
    gateway: Gateway,
) -> None:
    expected = {
        "DEMOWAIT01": ("AWAITING_SIGNATURE", "CREATED"),
        "DEMOSIGN03": ("SIGNED", "FINISH"),
        "DEMOREJ004": ("REJECTED", "REJECTED"),
        "DEMOEXP005": ("EXPIRED", "EXPIRED"),
        "DEMOCAN006": ("CANCELED", "REJECTED"),  # Auco reads a cancel as REJECTED
        "DEMOUPL007": ("AWAITING_UPLOAD", "CREATED"),  # no PDF yet
    }
    document_ids = [ids.encode("Document", Provider.AUCO, c) for c in expected]

    data = await gateway.data(
        "query Many($ids: [ID!]!) { nodes(ids: $ids) {"
        " ... on Document { providerId status providerStatus downloadUrl } } }",
        {"ids": document_ids},
    )

    found = {n["providerId"]: n for n in data["nodes"]}
    assert {c: (n["status"], n["providerStatus"]) for c, n in found.items()} == expected
    assert found["DEMOUPL007"]["downloadUrl"] is None
    assert gateway.auco.control.calls("GET", "/v1.5/ext/document") == len(expected)
