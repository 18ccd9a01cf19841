"""The Auco sandbox alone, driven with raw httpx and the seed's own examples."""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adapters.auco.sandbox import create_app
from adapters.sandbox_kit import Controlled

from .conftest import BASE_URL, NOW, PDF, PDF_B64, PRIVATE, PUBLIC, Clock

# These tests send requests outside the provider's contract on purpose, to see
# the sandbox refuse them (tests/contracts/plugin.py).
pytestmark = pytest.mark.sends_invalid_requests

WRITE = {"Authorization": PRIVATE}
READ = {"Authorization": PUBLIC}

# Seed 003, "Proceso de firma con recordatorios automáticos (PDF Base64)", verbatim
# but for the placeholder ``Base64`` and the signer's phone: the example omits it,
# but the seed's table says ``signProfile[x].phone String Requerido``, and the table
# wins (SEED_BASE64_AS_WRITTEN is the example untouched).
SEED_BASE64: dict[str, Any] = {
    "name": "Documento de prueba",
    "subject": "prueba auco",
    "message": "prueba auco",
    "remember": 3,
    "email": "example@auco.ai",
    "signProfile": [
        {
            "name": "Jhon Firma",
            "email": "example@auco.ai",
            "phone": "+573000000000",
            "label": True,
        }
    ],
    "readers": [{"email": "example2@auco.ai", "name": "Frimante 1"}],
    "file": PDF_B64,
}
SEED_BASE64_AS_WRITTEN: dict[str, Any] = dict(
    SEED_BASE64,
    signProfile=[{"name": "Jhon Firma", "email": "example@auco.ai", "label": True}],
)

# Seed 003, "Firma de documento con validaciones individuales (compress)", with its
# trailing commas removed so that it is JSON; its typo and repeated phone are kept.
SEED_COMPRESS: dict[str, Any] = {
    "name": "Prueba de Anexos Compress y validaciones individuales",
    "email": "owner@auco.ai",
    "message": "Cargar adjuntos de prueba",
    "subject": "Solicitud de adjuntos",
    "packageName": "Adjuntos api prueba 2",
    "signProfile": [
        {
            "type": "firmante1",
            "name": "Nombre Firmante 1",
            "email": "example @auco.ai",
            "camera": True,
            "otpCode": True,
            "options": {
                "camera": "identification",
                "video": True,
                "whatsapp": True,
                "otpCode": "email",
            },
            "phone": "+573000000000",
        },
        {
            "type": "firmante2",
            "name": "Nombre Firmante 2",
            "email": "example2@auco.ai",
            "phone": "+573000000000",
            "otpCode": True,
            "options": {"otpCode": "email"},
        },
    ],
    "compress": True,
}


def seed_compress_fixed() -> dict[str, Any]:
    body = copy.deepcopy(SEED_COMPRESS)
    body["signProfile"][0]["email"] = "example@auco.ai"
    body["signProfile"][1]["phone"] = "+573000000001"
    return body


async def upload(http: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await http.post("/document/upload", json=body, headers=WRITE)


async def test_the_seed_base64_example_answers_package_and_code(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    response = await upload(http, SEED_BASE64)

    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"package", "code"}
    assert len(answer["code"]) == 10
    stored = app.store.documents[answer["code"]]
    assert stored.content == PDF
    assert [s.status for s in stored.signers] == ["NOTIFICATION"]
    assert stored.request["readers"] == SEED_BASE64["readers"]
    assert "file" not in stored.request


async def test_the_seed_base64_example_as_written_is_refused_for_its_missing_phone(
    http: httpx.AsyncClient,
) -> None:
    response = await upload(http, SEED_BASE64_AS_WRITTEN)

    assert (response.status_code, response.json()) == (
        400,
        {"message": "SIGNER_PHONE_REQUIRED"},
    )


async def test_the_seed_compress_example_as_written_is_refused_for_its_own_rules(
    http: httpx.AsyncClient,
) -> None:
    # "example @auco.ai" is no address; the two signers also share one phone.
    response = await http.post("/package/upload", json=SEED_COMPRESS, headers=WRITE)
    assert (response.status_code, response.json()) == (
        400,
        {"message": "SIGNER_EMAIL_INVALID"},
    )

    body = copy.deepcopy(SEED_COMPRESS)
    body["signProfile"][0]["email"] = "example@auco.ai"
    response = await http.post("/package/upload", json=body, headers=WRITE)
    assert response.json() == {"message": "SIGNER_PHONE_DUPLICATED"}


async def test_the_seed_compress_example_answers_a_signed_url_under_the_sandbox(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    response = await http.post(
        "/package/upload", json=seed_compress_fixed(), headers=WRITE
    )

    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"package", "code", "url"}
    assert answer["url"].startswith(f"{BASE_URL}/_upload/")
    assert app.store.documents[answer["code"]].content is None


async def test_the_current_response_shape_names_the_code_document(
    clock: Clock,
) -> None:
    app = create_app(clock=clock, now=lambda: NOW, response_shape="current")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as http:
        inline = (await upload(http, SEED_BASE64)).json()
        signed = (await upload(http, seed_compress_fixed())).json()

    assert set(inline) == {"document"}
    assert set(signed) == {"document", "url"}


async def test_signers_silenced_by_notification_false_come_back_with_their_id(
    http: httpx.AsyncClient,
) -> None:
    body = copy.deepcopy(SEED_BASE64)
    body["signProfile"][0]["notification"] = False

    answer = (await upload(http, body)).json()

    [silenced] = answer["signProfile"]
    assert silenced["email"] == "example@auco.ai"
    assert silenced["id"]


def _set(path: str, value: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()
_TWO_SIGNERS = [
    {"name": "Ana", "email": "ana@example.com", "phone": "+573001110001"},
    {"name": "Luis", "email": "luis@example.com", "phone": "+573001110002"},
]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_set("email", _DELETE), "EMAIL_REQUIRED"),
        (_set("name", ""), "NAME_REQUIRED"),
        (_set("message", _DELETE), "MESSAGE_REQUIRED"),
        (_set("subject", "  "), "SUBJECT_REQUIRED"),
        (_set("file", _DELETE), "FILE_REQUIRED"),
        (_set("compress", True), "FILE_AND_COMPRESS"),
        (_set("file", "not base64!"), "FILE_INVALID"),
        (_set("file", base64.b64encode(b"GIF89a").decode()), "FILE_INVALID"),
        (_set("remember", 4), "REMEMBER_INVALID"),
        (_set("remember", 0), "REMEMBER_INVALID"),
        (_set("remember", "3"), "REMEMBER_INVALID"),
        (_set("expiredDate", "2025-03-13T09:30:00.000Z"), "EXPIRED_DATE_INVALID"),
        (_set("expiredDate", "next week"), "EXPIRED_DATE_INVALID"),
        (_set("options", {"camera": "photo"}), "CAMERA_OPTION_WITHOUT_CAMERA"),
        (_set("options", {"otpCode": "phone"}), "OTP_OPTION_WITHOUT_OTP"),
        (_set("options", {"both": True}), "WHATSAPP_OPTION_REQUIRED"),
        (_set("readers.0.name", _DELETE), "READER_NAME_REQUIRED"),
        (_set("readers.0.email", "nobody"), "READER_EMAIL_REQUIRED"),
        (_set("signProfile", []), "SIGN_PROFILE_REQUIRED"),
        (_set("signProfile.0.name", _DELETE), "SIGNER_NAME_REQUIRED"),
        (_set("signProfile.0.email", _DELETE), "SIGNER_EMAIL_REQUIRED"),
        (_set("signProfile.0.phone", "3001110001"), "SIGNER_PHONE_INVALID"),
        (_set("signProfile.0.role", "READER"), "SIGNER_ROLE_INVALID"),
        (_set("signProfile.0.order", 0), "SIGNER_ORDER_INVALID"),
        # The table types order String: a JSON number is refused, "0" too.
        (_set("signProfile.0.order", 1), "SIGNER_ORDER_INVALID"),
        (_set("signProfile.0.order", "0"), "SIGNER_ORDER_INVALID"),
        (_set("signProfile.0.phone", _DELETE), "SIGNER_PHONE_REQUIRED"),
        # Wrongly typed fields are refused, never a crash (issue 15's inputs).
        (_set("document", {}), "DOCUMENT_INVALID"),
        (_set("document", ""), "DOCUMENT_INVALID"),
        (_set("notification", "no"), "NOTIFICATION_INVALID"),
        (_set("camera", None), "CAMERA_INVALID"),
        (_set("otpCode", 1), "OTP_CODE_INVALID"),
        (_set("compress", "true"), "COMPRESS_INVALID"),
        (_set("folder", ["a"]), "FOLDER_INVALID"),
        (_set("options", []), "OPTIONS_INVALID"),
        (_set("options", {"whatsapp": "yes"}), "OPTIONS_WHATSAPP_INVALID"),
        (_set("signProfile.0.camera", "true"), "SIGNER_CAMERA_INVALID"),
        (_set("signProfile.0.options", "x"), "SIGNER_OPTIONS_INVALID"),
        (_set("readers", {}), "READERS_INVALID"),
        (_set("readers", ["x"]), "READERS_INVALID"),
        (_set("signProfile", {}), "SIGN_PROFILE_INVALID"),
        (_set("email", "not-an-address"), "EMAIL_INVALID"),
        (
            _set("signProfile.0.position", [{"page": 1, "x": 2, "y": 0.5}]),
            "SIGNER_POSITION_INVALID",
        ),
        (
            _set("signProfile.0.options", {"otpCode": "email"}),
            "OTP_OPTION_WITHOUT_OTP",
        ),
        (
            _set("signProfile.1.email", "ANA@example.com"),
            "SIGNER_EMAIL_DUPLICATED",
        ),
        (_set("signProfile.1.phone", "+573001110001"), "SIGNER_PHONE_DUPLICATED"),
        (_set("email", "stranger@auco.ai"), "USER_NOTFOUND"),
        (_set("folder", "elsewhere"), "FOLDER_NOT_FOUND"),
        (_set("document", "NOTEMPLATE"), "TEMPLATE_NOT_FOUND"),
    ],
)
async def test_an_upload_breaking_a_rule_is_refused_with_its_code(
    http: httpx.AsyncClient, change: Any, code: str
) -> None:
    body = copy.deepcopy(SEED_BASE64)
    body["email"] = "onboarding@bank.example"
    body["signProfile"] = copy.deepcopy(_TWO_SIGNERS)
    change(body)

    response = await upload(http, body)

    assert (response.status_code, response.json()) == (400, {"message": code})


async def test_pdf_tags_need_the_file_inline(http: httpx.AsyncClient) -> None:
    body = seed_compress_fixed()
    body["signProfile"][1]["label"] = True

    response = await upload(http, body)

    assert response.json() == {"message": "LABEL_REQUIRES_FILE"}


async def test_a_valid_upload_with_every_field_is_accepted(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    body: dict[str, Any] = {
        "email": "onboarding@bank.example",
        "name": "Contrato",
        "message": "Por favor firme",
        "subject": "Contrato de apertura",
        "file": PDF_B64,
        "folder": "onboarding/contracts",
        "remember": 6,
        "expiredDate": "2025-03-14T09:30:01.000Z",
        "camera": True,
        "otpCode": True,
        "options": {"camera": "photo", "otpCode": "phone", "whatsapp": True},
        "notification": True,
        "readers": [{"name": "Auditor", "email": "audit@bank.example"}],
        "signProfile": [
            {
                "name": "Ana",
                "email": "ana@example.com",
                "phone": "+573001110001",
                "role": "SIGNER",
                "order": "1",
                "position": [{"page": 1, "x": 0.65, "y": 0.8, "w": 150, "h": 50}],
            },
            {
                "name": "Banco",
                "email": "firmas@bank.example",
                "phone": "+573001110009",
                "role": "APPROVER",
                "order": "2",
                "label": True,
                "otpCode": True,
                "options": {"otpCode": "email"},
            },
        ],
    }

    response = await upload(http, body)

    assert response.status_code == 200, response.text
    stored = app.store.documents[response.json()["code"]]
    assert [(s.role, s.order, s.status) for s in stored.signers] == [
        ("SIGNER", 1, "NOTIFICATION"),
        ("APPROVER", 2, "PENDING"),
    ]


async def test_a_template_upload_needs_no_file(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    body = copy.deepcopy(SEED_BASE64)
    del body["file"]
    body["document"] = "TPLACCOUNT1"
    body["signProfile"][0] = {
        "name": "Ana",
        "email": "a@x.co",
        "phone": "+573001110001",
        "type": "titular",
    }

    response = await upload(http, body)

    assert response.status_code == 200
    assert app.store.documents[response.json()["code"]].sent


async def test_an_oversized_body_is_refused_by_the_front_door(clock: Clock) -> None:
    app = create_app(clock=clock, now=lambda: NOW, max_body_bytes=1000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as http:
        body = dict(SEED_BASE64, file=base64.b64encode(b"%PDF-" * 400).decode())
        response = await upload(http, body)

    assert response.status_code == 413


# The signed URL ---------------------------------------------------------------


async def _signed(http: httpx.AsyncClient) -> tuple[str, str]:
    answer = (await upload(http, seed_compress_fixed())).json()
    return answer["code"], answer["url"]


async def test_the_document_goes_out_only_once_its_bytes_arrive(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    code, url = await _signed(http)

    before = (await http.get("/document", params={"code": code}, headers=READ)).json()
    put = await http.put(url, content=PDF, headers={"Content-Type": "application/pdf"})
    after = (await http.get("/document", params={"code": code}, headers=READ)).json()

    assert put.status_code == 200
    assert app.store.documents[code].content == PDF
    assert before["status"] == "CREATED"
    assert "url" not in before
    assert {s["status"] for s in before["signProfile"]} == {"PENDING"}
    assert {s["status"] for s in after["signProfile"]} == {"NOTIFICATION"}
    downloaded = await http.get(after["url"])
    assert downloaded.content == PDF


async def test_the_signed_url_works_once(http: httpx.AsyncClient) -> None:
    _, url = await _signed(http)

    first = await http.put(url, content=PDF)
    second = await http.put(url, content=PDF)

    assert first.status_code == 200
    assert second.status_code == 403
    assert b"AccessDenied" in second.content


async def test_the_signed_url_expires_after_its_ttl(
    http: httpx.AsyncClient, clock: Clock, app: Controlled
) -> None:
    code, url = await _signed(http)
    clock.value += 5.01

    response = await http.put(url, content=PDF)

    assert response.status_code == 403
    assert b"Request has expired" in response.content
    assert app.store.documents[code].content is None


async def test_the_store_can_age_the_signed_url_too(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    _, url = await _signed(http)
    app.store.advance(6)

    assert (await http.put(url, content=PDF)).status_code == 403


async def test_the_signed_url_refuses_a_second_auth_mechanism(
    http: httpx.AsyncClient,
) -> None:
    _, url = await _signed(http)

    response = await http.put(url, content=PDF, headers=WRITE)

    assert response.status_code == 400


async def test_the_signed_url_needs_a_content_length(http: httpx.AsyncClient) -> None:
    _, url = await _signed(http)

    async def chunks() -> AsyncIterator[bytes]:
        yield PDF

    response = await http.put(url, content=chunks())

    assert response.status_code == 411


# Keys -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, READ, {"Authorization": f"Bearer {PRIVATE}"}, {"Authorization": "prk_x"}],
)
async def test_writes_need_the_private_key(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await http.post("/document/upload", json=SEED_BASE64, headers=headers)

    assert (response.status_code, response.json()) == (401, {"message": "UNAUTHORIZED"})


@pytest.mark.parametrize(
    ("headers", "status"),
    [(READ, 200), (WRITE, 200), ({}, 401), ({"Authorization": "puk_other"}, 401)],
)
async def test_reads_take_the_public_key(
    http: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    response = await http.get(
        "/document", params={"code": "DEMOWAIT01"}, headers=headers
    )

    assert response.status_code == status


# GET /document ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "signers"),
    [
        ("DEMOWAIT01", "CREATED", ["NOTIFICATION"]),
        ("DEMOSEQ002", "CREATED", ["FINISH", "NOTIFICATION"]),
        ("DEMOSIGN03", "FINISH", ["FINISH"]),
        ("DEMOREJ004", "REJECTED", ["REJECT"]),
        ("DEMOEXP005", "EXPIRED", ["NOTIFICATION"]),
        ("DEMOCAN006", "REJECTED", ["NOTIFICATION"]),
        ("DEMOUPL007", "CREATED", ["PENDING"]),
    ],
)
async def test_the_demo_documents_cover_every_status(
    http: httpx.AsyncClient, code: str, status: str, signers: list[str]
) -> None:
    body = (await http.get("/document", params={"code": code}, headers=READ)).json()

    assert body["code"] == code
    assert body["status"] == status
    assert [s["status"] for s in body["signProfile"]] == signers
    assert body["data"]["createdAt"].endswith("Z")


async def test_a_document_reads_as_the_reference_documents_it(
    http: httpx.AsyncClient,
) -> None:
    body = (
        await http.get("/document", params={"code": "DEMOSEQ002"}, headers=READ)
    ).json()

    assert set(body) == {"url", "name", "code", "status", "data", "signProfile"}
    assert set(body["signProfile"][0]) == {"name", "email", "id", "status"}
    assert body["data"]["signProfile"][0] == {
        "name": "Luis Martínez",
        "email": "luis.martinez@example.com",
        "id": "S10",
        "status": "FINISH",
        "role": "SIGNER",
        "phone": "+573001110002",
        "order": "1",
    }
    assert body["data"]["signFinish"] is False
    assert (body["data"]["camera"], body["data"]["otpCode"]) == (False, False)


async def test_an_unknown_code_is_document_not_found(http: httpx.AsyncClient) -> None:
    response = await http.get("/document", params={"code": "NOPE000000"}, headers=READ)

    assert (response.status_code, response.json()) == (
        400,
        {"message": "DOCUMENT_NOT_FOUND"},
    )


async def test_without_a_code_the_templates_are_listed(
    http: httpx.AsyncClient,
) -> None:
    body = (await http.get("/document", headers=READ)).json()

    assert body == [{"_id": "TPLACCOUNT1", "name": "Contrato de cuenta"}]


async def test_signers_in_order_are_notified_one_round_at_a_time(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    body = copy.deepcopy(SEED_BASE64)
    body["signProfile"] = [
        dict(_TWO_SIGNERS[0], order="1"),
        dict(_TWO_SIGNERS[1], order="2"),
    ]
    code = (await upload(http, body)).json()["code"]

    async def statuses() -> tuple[str, list[str]]:
        got = (await http.get("/document", params={"code": code}, headers=READ)).json()
        return got["status"], [s["status"] for s in got["signProfile"]]

    assert await statuses() == ("CREATED", ["NOTIFICATION", "PENDING"])
    app.store.sign(code, "ana@example.com")
    assert await statuses() == ("CREATED", ["FINISH", "NOTIFICATION"])
    app.store.sign(code, "luis@example.com")
    assert await statuses() == ("FINISH", ["FINISH", "FINISH"])


async def test_a_rejecting_signer_rejects_the_document(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    app.store.reject("DEMOWAIT01", "ana.garcia@example.com")

    body = (
        await http.get("/document", params={"code": "DEMOWAIT01"}, headers=READ)
    ).json()

    assert (body["status"], body["signProfile"][0]["status"]) == ("REJECTED", "REJECT")


async def test_a_document_past_its_expired_date_expires(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    body = dict(SEED_BASE64, expiredDate="2025-03-14T09:30:00.000Z")
    code = (await upload(http, body)).json()["code"]
    app.store.advance(4 * 86400)

    got = (await http.get("/document", params={"code": code}, headers=READ)).json()

    assert got["status"] == "EXPIRED"


# POST /document/cancel --------------------------------------------------------


async def test_cancel_answers_success_and_the_document_reads_rejected(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    response = await http.post(
        "/document/cancel",
        json={
            "codes": ["DEMOWAIT01"],
            "message": "cliente desistió",
            "email": "onboarding@bank.example",
        },
        headers=WRITE,
    )

    assert response.json() == {"success": 1, "errors": {"cant": 0}}
    assert app.store.documents["DEMOWAIT01"].canceled
    got = (
        await http.get("/document", params={"code": "DEMOWAIT01"}, headers=READ)
    ).json()
    assert got["status"] == "REJECTED"
    assert "REJECT" not in {s["status"] for s in got["signProfile"]}


async def test_cancel_refuses_finished_rejected_and_unknown_documents(
    http: httpx.AsyncClient,
) -> None:
    codes = ["DEMOSIGN03", "DEMOREJ004", "NOPE000000", "DEMOSEQ002"]

    response = await http.post(
        "/document/cancel",
        json={"codes": codes, "email": "onboarding@bank.example"},
        headers=WRITE,
    )

    assert response.json() == {
        "success": 1,
        "errors": {"cant": 3, "documents": codes[:3]},
    }


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"codes": [], "email": "onboarding@bank.example"}, 400, "CODES_REQUIRED"),
        ({"codes": ["DEMOWAIT01"]}, 400, "EMAIL_REQUIRED"),
        ({"codes": ["DEMOWAIT01"], "email": "x@y.co"}, 400, "USER_NOTFOUND"),
    ],
)
async def test_cancel_checks_its_body(
    http: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    response = await http.post("/document/cancel", json=body, headers=WRITE)

    assert (response.status_code, response.json()) == (status, {"message": code})


async def test_cancel_needs_the_private_key(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/document/cancel",
        json={"codes": ["DEMOWAIT01"], "email": "onboarding@bank.example"},
        headers=READ,
    )

    assert response.status_code == 401


async def test_every_request_is_recorded(
    http: httpx.AsyncClient, app: Controlled
) -> None:
    await upload(http, SEED_BASE64)

    [recorded] = app.control.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1.5/ext/document/upload")
    assert recorded.headers["authorization"] == PRIVATE
