"""The connectFi sandbox on its own, over raw HTTP, against the seeds' examples."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
import pytest

from adapters.connectfi.sandbox import (
    BULK_APPLICATIONS,
    BULK_CUSTOMER_ID,
    BUSINESS_CUSTOMER_ID,
    JOURNEY_CUSTOMER_ID,
    JOURNEYS,
    SEED_CUSTOMER_ID,
    create_app,
)
from adapters.sandbox_kit import Controlled

from .support import BASE_URL, START, FakeClock, login

# These tests send requests outside the provider's contract on purpose, to see
# the sandbox refuse them (tests/contracts/plugin.py).
pytestmark = pytest.mark.sends_invalid_requests

REQUEST_ID = re.compile(r"[0-9a-f]{32}")

# Seed 002, "200 AKEPA/LIST SUCCESSFUL RESPONSE": request and response body.
SEED_LIST_REQUEST = {
    "customerId": "cstap_5mBHiIx3QbkvEpjGfKsI9k",
    "dateCreateFrom": "2023-01-15T00:00:00.001Z",
    "dateCreateTo": "2099-01-17T19:59:59.999Z",
    "numberOfRecords": 20,
    "skipRecords": 0,
}
SEED_LIST_RESPONSE: dict[str, Any] = {
    "code": "0",
    "data": {
        "items": [
            {
                "applicationId": "iapp_1BGgJeDQJFo5MCup15zq9A",
                "aggregatorId": "CLIENTID",
                "customerId": "cstap_5mBHiIx3QbkvEpjGfKsI9k",
                "reference": "extRefApp101",
                "status": "pending_step_up",
                "outcome": None,
                "entityApplications": [
                    {
                        "entityId": "cstap_5mBHiIx3QbkvEpjGfKsI9k",
                        "isCustomer": True,
                        "status": "pending_step_up",
                        "outcome": None,
                    }
                ],
            },
            {
                "applicationId": "iapp_ASiuCX9tz9FGwlyiNHba2",
                "aggregatorId": "CLIENTID",
                "customerId": "cstap_5mBHiIx3QbkvEpjGfKsI9k",
                "reference": "extRefApp100",
                "status": "pending_step_up",
                "outcome": None,
                "entityApplications": [
                    {
                        "entityId": "cstap_5mBHiIx3QbkvEpjGfKsI9k",
                        "isCustomer": True,
                        "status": "pending_step_up",
                        "outcome": None,
                    }
                ],
            },
        ],
        "total": {"skipRecords": 0, "numberOfRecords": 2, "more": False},
    },
}
# Seed 000: the request and the response for an individual customer.
SEED_GENERATE_REQUEST = {
    "workflow": "PERSONAL",
    "name": "license",
    "extension": "jpg",
    "type": "license",
}
SEED_GENERATE_DATA = {
    "id": "doc_71YxuRUnKqLhOWriDJFMI2",
    "aggregatorId": "CLIENTID",
    "uploadStatus": False,
    "workflow": "PERSONAL",
    "name": "license",
    "extension": "jpg",
    "type": "license",
    "dtsCreatedAt": "2023-11-01T16:44:19.473Z",
}


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    assert REQUEST_ID.fullmatch(body["requestId"])
    return {k: v for k, v in body.items() if k != "requestId"}


async def post(
    raw: httpx.AsyncClient, path: str, body: object, **kwargs: Any
) -> httpx.Response:
    headers = await login(raw)
    return await raw.post(path, json=body, headers=headers, **kwargs)


# Login and tokens


async def test_login_gives_a_token_expiring_after_the_ttl(
    raw: httpx.AsyncClient,
) -> None:
    response = await raw.post(
        "/auth/get-token", json={"user": {"login": "sandbox", "password": "sandbox"}}
    )
    assert response.status_code == 200
    body = without_request_id(response.json())
    assert body["code"] == "0"
    assert set(body["data"]) == {"token", "dtsExpireAt"}
    # START + 3600 s
    assert body["data"]["dtsExpireAt"] == "2023-11-14T23:13:20.000Z"


async def test_wrong_credentials_are_unauthorized(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        "/auth/get-token", json={"user": {"login": "sandbox", "password": "nope"}}
    )
    assert response.status_code == 401
    assert without_request_id(response.json()) == {
        "code": "unauthorized",
        "message": "Authentication error",
    }


async def test_a_login_without_user_is_a_validation_error(
    raw: httpx.AsyncClient,
) -> None:
    response = await raw.post("/auth/get-token", json={"login": "sandbox"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "requestValidateError"
    assert {e["keyword"] for e in body["context"]} == {
        "required",
        "additionalProperties",
    }


async def test_calls_without_a_token_are_unauthorized(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/akepa/list", json=SEED_LIST_REQUEST)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    response = await raw.post(
        "/akepa/list", json=SEED_LIST_REQUEST, headers={"x-connectfi-token": "forged"}
    )
    assert response.status_code == 401


async def test_a_token_expires_at_dts_expire_at(
    raw: httpx.AsyncClient, clock: FakeClock
) -> None:
    headers = await login(raw)
    clock.advance(3599)
    ok = await raw.post("/akepa/list", json=SEED_LIST_REQUEST, headers=headers)
    assert ok.status_code == 200
    clock.advance(1)
    expired = await raw.post("/akepa/list", json=SEED_LIST_REQUEST, headers=headers)
    assert expired.status_code == 401
    assert expired.json()["code"] == "unauthorized"


async def test_the_token_ttl_is_configurable() -> None:
    clock = FakeClock()
    app = create_app(token_ttl=5, clock=clock, login="bank", password="secret")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as raw:
        response = await raw.post(
            "/auth/get-token", json={"user": {"login": "bank", "password": "secret"}}
        )
        assert response.json()["data"]["dtsExpireAt"] == "2023-11-14T22:13:25.000Z"
        assert app.store.tokens == {response.json()["data"]["token"]: START + 5}


async def test_revoked_tokens_are_unauthorized(
    raw: httpx.AsyncClient, app: Controlled
) -> None:
    headers = await login(raw)
    app.store.revoke_tokens()
    response = await raw.post("/akepa/list", json=SEED_LIST_REQUEST, headers=headers)
    assert response.status_code == 401


# /akepa/list (seed 002)


async def test_the_seed_list_example_answers_the_seed_response(
    raw: httpx.AsyncClient,
) -> None:
    response = await post(raw, "/akepa/list", SEED_LIST_REQUEST)
    assert response.status_code == 200
    assert without_request_id(response.json()) == SEED_LIST_RESPONSE


async def test_an_unknown_customer_lists_nothing_as_in_the_seed(
    raw: httpx.AsyncClient,
) -> None:
    request = {**SEED_LIST_REQUEST, "customerId": "cstap_5mBHiIx3QbkvEpjGfKsI9k1"}
    response = await post(raw, "/akepa/list", request)
    assert response.status_code == 200
    assert without_request_id(response.json()) == {
        "code": "0",
        "data": {
            "items": [],
            "total": {"skipRecords": 0, "numberOfRecords": 0, "more": False},
        },
    }


async def test_list_items_carry_exactly_the_seed_fields(
    raw: httpx.AsyncClient,
) -> None:
    seed_item = SEED_LIST_RESPONSE["data"]["items"][0]
    seed_entity = seed_item["entityApplications"][0]
    for customer in (JOURNEY_CUSTOMER_ID, BUSINESS_CUSTOMER_ID):
        response = await post(raw, "/akepa/list", {"customerId": customer})
        for item in response.json()["data"]["items"]:
            assert set(item) == set(seed_item)
            for entity in item["entityApplications"]:
                assert set(entity) == set(seed_entity)


async def test_the_journey_customer_has_an_application_in_every_status(
    raw: httpx.AsyncClient,
) -> None:
    response = await post(raw, "/akepa/list", {"customerId": JOURNEY_CUSTOMER_ID})
    items = response.json()["data"]["items"]
    assert {(i["status"], i["outcome"]) for i in items} == set(JOURNEYS)


async def test_the_bulk_customer_pages_by_a_thousand_with_more(
    raw: httpx.AsyncClient, app: Controlled
) -> None:
    first = (await post(raw, "/akepa/list", {"customerId": BULK_CUSTOMER_ID})).json()
    assert len(first["data"]["items"]) == 1000
    assert first["data"]["total"] == {
        "skipRecords": 0,
        "numberOfRecords": 1000,
        "more": True,
    }
    rest = await post(
        raw, "/akepa/list", {"customerId": BULK_CUSTOMER_ID, "skipRecords": 1000}
    )
    assert rest.json()["data"]["total"] == {
        "skipRecords": 1000,
        "numberOfRecords": BULK_APPLICATIONS - 1000,
        "more": False,
    }
    ids = [i["applicationId"] for i in first["data"]["items"]] + [
        i["applicationId"] for i in rest.json()["data"]["items"]
    ]
    assert ids == app.store.application_ids(BULK_CUSTOMER_ID)
    assert len(set(ids)) == BULK_APPLICATIONS


async def test_a_page_ending_exactly_at_the_last_record_has_no_more(
    raw: httpx.AsyncClient,
) -> None:
    request = {
        "customerId": BULK_CUSTOMER_ID,
        "skipRecords": BULK_APPLICATIONS - 3,
        "numberOfRecords": 3,
    }
    total = (await post(raw, "/akepa/list", request)).json()["data"]["total"]
    assert total == {
        "skipRecords": BULK_APPLICATIONS - 3,
        "numberOfRecords": 3,
        "more": False,
    }


async def test_more_than_a_thousand_records_is_refused(
    raw: httpx.AsyncClient,
) -> None:
    request = {"customerId": BULK_CUSTOMER_ID, "numberOfRecords": 1001}
    response = await post(raw, "/akepa/list", request)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "greaterNumberOfRecords"
    assert body["context"] == {"maxNumberOfRecords": 1000}


async def test_the_date_filter_uses_the_creation_time(
    raw: httpx.AsyncClient,
) -> None:
    # Bulk applications are created hourly from 2022-06-01T00:00Z.
    request = {
        "customerId": BULK_CUSTOMER_ID,
        "dateCreateFrom": "2022-06-02T00:00:00.000Z",
        "dateCreateTo": "2022-06-02T23:59:59.999Z",
    }
    data = (await post(raw, "/akepa/list", request)).json()["data"]
    assert data["total"]["numberOfRecords"] == 24
    assert [i["reference"] for i in data["items"]] == [
        f"bulk{n}" for n in range(47, 23, -1)
    ]


@pytest.mark.parametrize(
    ("body", "instance_path", "keyword"),
    [
        ({}, "", "required"),
        ({"customerId": "cstap-dash"}, "/customerId", "pattern"),
        ({"customerId": "c" * 37}, "/customerId", "maxLength"),
        ({"customerId": ""}, "/customerId", "minLength"),
        ({"customerId": "c", "numberOfRecords": 0}, "/numberOfRecords", "minimum"),
        ({"customerId": "c", "numberOfRecords": 2.5}, "/numberOfRecords", "type"),
        ({"customerId": "c", "skipRecords": -1}, "/skipRecords", "minimum"),
        (
            {"customerId": "c", "dateCreateFrom": "yesterday"},
            "/dateCreateFrom",
            "format",
        ),
        ({"customerId": "c", "page": 2}, "", "additionalProperties"),
        ([], "", "type"),
    ],
)
async def test_list_requests_are_validated_as_ajv_would(
    raw: httpx.AsyncClient, body: object, instance_path: str, keyword: str
) -> None:
    response = await post(raw, "/akepa/list", body)
    assert response.status_code == 400
    answer = response.json()
    assert REQUEST_ID.fullmatch(answer["requestId"])
    assert answer["code"] == "requestValidateError"
    [error, *also] = answer["context"]  # "" is both too short and off-pattern
    assert error["instancePath"] == instance_path
    assert error["keyword"] == keyword
    assert error["schemaPath"].endswith(keyword)
    assert set(error) == {"instancePath", "schemaPath", "keyword", "params", "message"}
    assert all(e["instancePath"] == instance_path for e in also)


async def test_null_optional_list_properties_are_allowed(
    raw: httpx.AsyncClient,
) -> None:
    request = {
        "customerId": SEED_CUSTOMER_ID,
        "dateCreateFrom": None,
        "dateCreateTo": None,
        "numberOfRecords": None,
        "skipRecords": None,
    }
    response = await post(raw, "/akepa/list", request)
    assert response.json()["data"]["total"]["numberOfRecords"] == 2


# /akepa/status


async def test_status_answers_the_application_object(
    raw: httpx.AsyncClient,
) -> None:
    request = {
        "customerId": SEED_CUSTOMER_ID,
        "applicationId": "iapp_1BGgJeDQJFo5MCup15zq9A",
    }
    response = await post(raw, "/akepa/status", request)
    assert response.status_code == 200
    assert without_request_id(response.json()) == {
        "code": "0",
        "data": SEED_LIST_RESPONSE["data"]["items"][0],
    }


@pytest.mark.parametrize(
    "request_body",
    [
        {"customerId": SEED_CUSTOMER_ID, "applicationId": "iapp_unknown"},
        {
            "customerId": JOURNEY_CUSTOMER_ID,
            "applicationId": "iapp_ASiuCX9tz9FGwlyiNHba2",
        },
    ],
)
async def test_status_of_an_unknown_application_is_not_found(
    raw: httpx.AsyncClient, request_body: dict[str, str]
) -> None:
    response = await post(raw, "/akepa/status", request_body)
    assert response.status_code == 404
    body = without_request_id(response.json())
    assert body["code"] == "applicationNotFound"
    assert body["context"] == {"applicationId": request_body["applicationId"]}


# /akepa/document/generate (seed 000)


async def test_the_seed_generate_example_answers_a_document_id(
    raw: httpx.AsyncClient, app: Controlled
) -> None:
    response = await post(raw, "/akepa/document/generate", SEED_GENERATE_REQUEST)
    assert response.status_code == 200
    body = without_request_id(response.json())
    assert body["code"] == "0"
    data = body["data"]
    assert set(data) == set(SEED_GENERATE_DATA)
    assert re.fullmatch(r"doc_[0-9A-Za-z]{22}", data["id"])
    assert data["dtsCreatedAt"] == "2023-11-14T22:13:20.000Z"
    assert {k: data[k] for k in SEED_GENERATE_REQUEST} == SEED_GENERATE_REQUEST
    assert data["aggregatorId"] == "CLIENTID"
    assert data["uploadStatus"] is False
    assert app.store.documents[data["id"]].content is None


async def test_every_optional_generate_property_is_accepted(
    raw: httpx.AsyncClient,
) -> None:
    request = {
        "workflow": "BUSINESS",
        "name": "n" * 50,
        "extension": "png",
        "type": "1099",
        "note": "x" * 500,
        "note_author_agent_email": "agent.smith@bank.example.com",
    }
    response = await post(raw, "/akepa/document/generate", request)
    assert response.status_code == 200
    response = await post(
        raw, "/akepa/document/generate", {**SEED_GENERATE_REQUEST, "note": None}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("change", "instance_path", "keyword"),
    [
        ({"workflow": "personal"}, "/workflow", "enum"),
        ({"name": "<script>"}, "/name", "pattern"),
        ({"name": "a\nb"}, "/name", "pattern"),
        ({"name": "n" * 51}, "/name", "maxLength"),
        ({"name": ""}, "/name", "minLength"),
        ({"name": "   "}, "/name", "isNotOnlyWhitespace"),
        ({"name": 7}, "/name", "type"),
        ({"extension": "gif"}, "/extension", "enum"),
        ({"type": "selfie"}, "/type", "enum"),
        ({"note": "x" * 501}, "/note", "maxLength"),
        ({"note": "a > b"}, "/note", "pattern"),
        (
            {"note_author_agent_email": "not an email"},
            "/note_author_agent_email",
            "format",
        ),
        ({"note_author_agent_email": None}, "/note_author_agent_email", "type"),
        ({"owner": "me"}, "", "additionalProperties"),
    ],
)
async def test_generate_requests_are_validated_as_ajv_would(
    raw: httpx.AsyncClient, change: dict[str, object], instance_path: str, keyword: str
) -> None:
    request = {**SEED_GENERATE_REQUEST, **change}
    response = await post(raw, "/akepa/document/generate", request)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "requestValidateError"
    [error] = body["context"]
    assert (error["instancePath"], error["keyword"]) == (instance_path, keyword)


async def test_missing_generate_properties_are_each_reported(
    raw: httpx.AsyncClient,
) -> None:
    response = await post(raw, "/akepa/document/generate", {"workflow": "PERSONAL"})
    context = response.json()["context"]
    assert [(e["keyword"], e["params"]) for e in context] == [
        ("required", {"missingProperty": "name"}),
        ("required", {"missingProperty": "extension"}),
        ("required", {"missingProperty": "type"}),
    ]
    assert {e["instancePath"] for e in context} == {""}


# /akepa/document/upload/{documentId}


async def test_an_upload_is_stored_byte_for_byte(
    raw: httpx.AsyncClient, app: Controlled
) -> None:
    headers = await login(raw)
    generated = await raw.post(
        "/akepa/document/generate", json=SEED_GENERATE_REQUEST, headers=headers
    )
    document_id = generated.json()["data"]["id"]
    content = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    response = await raw.post(
        f"/akepa/document/upload/{document_id}",
        files={"file": ("license.jpg", content, "image/jpeg")},
        headers=headers,
    )
    assert response.status_code == 200
    body = without_request_id(response.json())
    assert body == {
        "code": "0",
        "data": {**generated.json()["data"], "uploadStatus": True},
    }
    stored = app.store.documents[document_id]
    assert stored.content == content
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()


async def test_uploading_to_an_unknown_document_is_document_not_found(
    raw: httpx.AsyncClient,
) -> None:
    headers = await login(raw)
    response = await raw.post(
        "/akepa/document/upload/doc_unknown",
        files={"file": ("a.jpg", b"\xff\xd8\xff", "image/jpeg")},
        headers=headers,
    )
    assert response.status_code == 400
    body = without_request_id(response.json())
    assert body["code"] == "documentNotFound"
    assert body["context"] == {"documentId": "doc_unknown"}


async def test_an_upload_without_a_file_is_file_not_found(
    raw: httpx.AsyncClient,
) -> None:
    headers = await login(raw)
    generated = await raw.post(
        "/akepa/document/generate", json=SEED_GENERATE_REQUEST, headers=headers
    )
    document_id = generated.json()["data"]["id"]
    attempts: list[dict[str, Any]] = [
        {"data": {"other": "x"}, "files": {"image": b"x"}},  # the wrong field
        {"json": {}},  # not multipart at all
    ]
    for kwargs in attempts:
        response = await raw.post(
            f"/akepa/document/upload/{document_id}", headers=headers, **kwargs
        )
        assert response.status_code == 400
        assert response.json()["code"] == "fileNotFound"


async def test_the_upload_needs_a_token(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        "/akepa/document/upload/doc_x", files={"file": ("a.jpg", b"x", "image/jpeg")}
    )
    assert response.status_code == 401
