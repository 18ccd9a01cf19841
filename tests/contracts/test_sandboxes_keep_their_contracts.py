"""Schemathesis against every sandbox whose contract exists (``contracts/*.yaml``).

For each operation of each contract, in process over ASGI: positive cases (valid
by the contract) and negative ones (invalid by it), a fixed number each, derandomized.
Every answer is checked for a server error, a status, content type, headers or body
outside the contract, and every negative case must be refused (4xx): 0 invalid
requests accepted. The suite's own contract check (``plugin.py``) sees the same
traffic. Requests carry the sandbox's demo credentials, so that cases reach the
provider's validation; the tests below also send none, and other methods.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from adapters.auco.sandbox.demo import USERS
from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes
from tests.contracts.validator import load_contracts

# Examples per operation and mode: 2 modes, about 6 operations per contract, 25
# cases each: about 300 calls per provider.
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
CONTRACTS = load_contracts()
AUCO_USER = sorted(USERS)[0]
HOST = "http://sandbox.test"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _connectfi_token(app: Controlled) -> str:
    with TestClient(app, base_url=HOST) as http:
        answer = http.post(
            "/auth/get-token",
            json={"user": {"login": "sandbox", "password": "sandbox"}},
        )
    token: str = answer.json()["data"]["token"]
    return token


def _token_header(token: str) -> Callable[[str], dict[str, str]]:
    return lambda method: {"x-connectfi-token": token}


# The demo credentials each sandbox takes, as each provider sends them, per method.
Credentials = Callable[[Controlled], Callable[[str], dict[str, str]]]
CREDENTIALS: dict[str, Credentials] = {
    "connectfi": lambda app: _token_header(_connectfi_token(app)),
    "auco": lambda app: (
        lambda method: {
            "Authorization": "puk_sandbox" if method == "GET" else "prk_sandbox"
        }
    ),
    "mambu": lambda app: lambda method: {"Authorization": _basic("sandbox", "sandbox")},
    # Apiture's contract arrives with its own helper's work; its sandbox takes the
    # gateway's sandbox settings (no key) today.
    "apiture": lambda app: lambda method: {},
}


# Generated identities name no one the sandbox knows, so nearly every case would be
# refused for that alone ("no such user") before its fields were looked at. Where a
# case carries a plausible identity, it is replaced by one of the sandbox's demo
# records; a mutated (wrongly typed) one is left as generated.
MAMBU_HOLDERS = {
    "CLIENT": "1",
    "GROUP": "2",
    "LOAN_ACCOUNT": "3",
    "DEPOSIT_ACCOUNT": "2344",
    "LOAN_PRODUCT": "LDP",
    "SAVINGS_PRODUCT": "SDP",
    "BRANCH": "b123",
    "CENTRE": "c123",
    "USER": "demo",
}


def _arrange(provider: str, case: Any) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    if (
        provider == "auco"
        and isinstance(body.get("email"), str)
        and "@" in body["email"]
    ):
        body["email"] = AUCO_USER
    document = body.get("document")
    if provider == "mambu" and isinstance(document, dict):
        holder = MAMBU_HOLDERS.get(document.get("documentHolderType"))  # type: ignore[arg-type]
        if holder is not None and isinstance(document.get("documentHolderKey"), str):
            document["documentHolderKey"] = holder


def _sandbox(provider: str) -> Controlled:
    return create_sandboxes(Settings())[Provider(provider)]


def _operations() -> list[Any]:
    return list(_each_operation())


def _each_operation() -> Iterator[Any]:
    for provider, contract in sorted(CONTRACTS.by_provider.items()):
        schema = schemathesis.openapi.from_dict(contract.document)
        schema.config.generation.update(
            modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            deterministic=True,
        )
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                yield pytest.param(
                    provider,
                    schema,
                    operation,
                    mode,
                    id=f"{provider}-{operation.label}-{mode.value}",
                )


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(("provider", "schema", "operation", "mode"), _operations())
def test_a_sandbox_answers_generated_requests_within_its_contract(
    provider: str, schema: Any, operation: Any, mode: GenerationMode
) -> None:
    app = _sandbox(provider)
    credentials = CREDENTIALS.get(provider, lambda app: lambda method: {})(app)
    sent = 0

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        _arrange(provider, case)
        headers = credentials(case.method.upper())
        response = case.call(headers=headers, app=app)
        sent += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    assert sent > 0
    print(f"{provider} {operation.label} {mode.value}: {sent} cases")


def _paths(provider: str) -> list[tuple[str, str, list[str]]]:
    """(concrete path, method not declared, declared methods) per contract path."""
    document = CONTRACTS.by_provider[provider].document
    base = document.get("servers", [{"url": "/"}])[0]["url"].rstrip("/")
    found = []
    for template, item in document["paths"].items():
        declared = [m.upper() for m in item if m in ("get", "post", "put", "delete")]
        other = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in declared)
        concrete = template.replace("{collection}", "clients")
        for name in ("holder", "document", "documentId", "applicationId"):
            concrete = concrete.replace("{" + name + "}", "x1")
        found.append((base + concrete, other, declared))
    return found


PROVIDERS = sorted(CONTRACTS.by_provider)


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_method_a_path_does_not_take_is_405_with_allow(provider: str) -> None:
    app = _sandbox(provider)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=HOST
    ) as http:
        for path, method, declared in _paths(provider):
            response = await http.request(method, path)

            assert response.status_code == 405, (method, path)
            allowed = {m.strip() for m in response.headers["allow"].split(",")}
            assert set(declared) <= allowed, (path, allowed)
            assert method not in allowed
            assert response.headers["content-type"].startswith("application/json")


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_request_without_credentials_gets_the_providers_refusal(
    provider: str,
) -> None:
    app = _sandbox(provider)
    secured = [
        (path, declared[0])
        for path, _, declared in _paths(provider)
        if not path.endswith("/auth/get-token")
    ]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=HOST
    ) as http:
        for path, method in secured:
            response = await http.request(method, path, json={})

            assert response.status_code == 401, (method, path, response.text)
    # Each answer's body is checked against the contract's 401 by plugin.py.
    assert app.control.calls() == len(secured)
