"""connectFi refusals become domain errors that keep requestId and code, no text."""

from __future__ import annotations

import json

import pytest

from adapters.connectfi.client import ConnectFiClient
from adapters.connectfi.sandbox import SEED_CUSTOMER_ID
from adapters.errors import (
    AdapterError,
    NotFound,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ValidationFailed,
)
from adapters.model import Provider
from adapters.sandbox_kit import Controlled, Fault

REQUEST_ID = "5574292078d411eeb5658f28ab5fe311"
SECRET_TEXT = "upstream-secret-detail"


def refusal(code: str, context: object = None, **extra: object) -> bytes:
    body = {"requestId": REQUEST_ID, "code": code, "message": SECRET_TEXT, **extra}
    if context is not None:
        body["context"] = context
    return json.dumps(body).encode()


async def generate(client: ConnectFiClient) -> object:
    return await client.generate_document(
        workflow="PERSONAL", name="license", extension="jpg", type="license"
    )


def assert_clean(error: AdapterError) -> None:
    assert error.provider is Provider.CONNECTFI
    assert error.request_id == REQUEST_ID
    assert SECRET_TEXT not in str(error)
    assert "connectfi.test" not in str(error)


async def test_the_reference_validation_example_names_the_field(
    client: ConnectFiClient, app: Controlled
) -> None:
    context = [
        {
            "instancePath": "",
            "schemaPath": "#/additionalProperties",
            "keyword": "additionalProperties",
            "params": {"additionalProperty": "someAdditionalProperty"},
            "message": "must NOT have additional properties",
        },
        {
            "instancePath": "/note_author_agent_email",
            "schemaPath": "#/properties/note_author_agent_email/format",
            "keyword": "format",
            "params": {"format": "email"},
            "message": SECRET_TEXT,
        },
        {
            "instancePath": "",
            "schemaPath": "#/required",
            "keyword": "required",
            "params": {"missingProperty": "type"},
            "message": "must have required property 'type'",
        },
    ]
    body = refusal("requestValidateError", context)
    app.control.inject("generate", Fault(status=400, body=body))
    with pytest.raises(ValidationFailed) as caught:
        await generate(client)
    error = caught.value
    assert_clean(error)
    assert error.provider_code == "requestValidateError"
    assert [v.path for v in error.violations] == [
        ("someAdditionalProperty",),
        ("noteAuthorAgentEmail",),
        ("type",),
    ]
    assert all(SECRET_TEXT not in v.message for v in error.violations)
    assert error.violations[2].message == "type is required"


async def test_too_many_records_names_the_page_size(
    client: ConnectFiClient, app: Controlled
) -> None:
    body = refusal("greaterNumberOfRecords", {"maxNumberOfRecords": 1000})
    app.control.inject("^/akepa/list$", Fault(status=400, body=body))
    with pytest.raises(ValidationFailed) as caught:
        await client.list_applications(SEED_CUSTOMER_ID)
    assert_clean(caught.value)
    [violation] = caught.value.violations
    assert violation.path == ("first",)
    assert "1000" in violation.message


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("customerNotFound", 400, NotFound),
        ("applicationNotFound", 404, NotFound),
        ("extAkepa", 400, ProviderRejected),
        ("statusApplicationEntity", 400, ProviderRejected),
        ("referenceExists", 400, ProviderRejected),
    ],
)
async def test_codes_map_onto_the_error_tree(
    client: ConnectFiClient,
    app: Controlled,
    code: str,
    status: int,
    expected: type[AdapterError],
) -> None:
    body = refusal(code, {"customerId": SEED_CUSTOMER_ID}, subCode="E42")
    app.control.inject("^/akepa/list$", Fault(status=status, body=body))
    with pytest.raises(expected) as caught:
        await client.list_applications(SEED_CUSTOMER_ID)
    assert type(caught.value) is expected
    assert caught.value.provider_code == code
    assert_clean(caught.value)


async def test_a_refusal_inside_a_batch_rejects_only_its_key(
    client: ConnectFiClient, app: Controlled
) -> None:
    keys = [
        f"{SEED_CUSTOMER_ID}:iapp_1BGgJeDQJFo5MCup15zq9A",
        f"{SEED_CUSTOMER_ID}:iapp_ASiuCX9tz9FGwlyiNHba2",
    ]
    app.control.inject(
        "^/akepa/status$", Fault(status=400, body=refusal("extAkepa"), times=1)
    )
    found = await client.get_applications(keys)
    assert sum(isinstance(v, ProviderRejected) for v in found.values()) == 1
    assert sum(not isinstance(v, AdapterError) for v in found.values()) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=400, body=b"<html>Bad Request</html>", content_type="text/html"),
        Fault(status=400, body=b'{"error": "no envelope"}'),
        Fault(status=200, body=b'{"code": "0"}'),  # no data
        Fault(status=200, body=b'{"code": "0", "data": {"items": 3}}'),
        Fault(status=200, body=b'["not", "an", "object"]'),
        Fault(malformed=True),
    ],
)
async def test_an_answer_that_is_not_the_envelope_is_a_provider_error(
    client: ConnectFiClient, app: Controlled, fault: Fault
) -> None:
    app.control.inject("^/akepa/list$", fault)
    with pytest.raises(ProviderError) as caught:
        await client.list_applications(SEED_CUSTOMER_ID)
    assert caught.value.provider is Provider.CONNECTFI
    assert "html" not in str(caught.value).lower()


async def test_a_server_failure_is_unavailable(
    client: ConnectFiClient, app: Controlled
) -> None:
    app.control.inject("^/akepa/list$", Fault(status=503))
    with pytest.raises(ProviderUnavailable):
        await client.list_applications(SEED_CUSTOMER_ID)


async def test_a_login_answer_without_a_token_is_a_provider_error(
    client: ConnectFiClient, app: Controlled
) -> None:
    body = json.dumps({"code": "0", "data": {}, "requestId": REQUEST_ID}).encode()
    app.control.inject("get-token", Fault(status=200, body=body))
    with pytest.raises(ProviderError) as caught:
        await client.list_applications(SEED_CUSTOMER_ID)
    assert caught.value.request_id == REQUEST_ID
