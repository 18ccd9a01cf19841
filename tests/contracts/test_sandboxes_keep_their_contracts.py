"""Schemathesis against every sandbox whose contract exists (``contracts/*.yaml``).

For each operation of each contract, in process over ASGI: Schemathesis's coverage
phase (every field at its boundaries, every field wrongly typed or missing, methods
the path does not take), then a fixed number of fuzzed cases, positive (valid by
the contract) and negative (invalid by it), derandomized. Every answer is checked
for a server error and for a status, content type, headers or body outside the
contract; every negative case must be refused (4xx): 0 invalid requests accepted.
The suite's own contract check (``plugin.py``) sees the same traffic. Requests
carry the sandbox's demo credentials, so that cases reach the provider's
validation; the tests below also send none, and other methods.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from adapters.apiture import sandbox as apiture_sandbox
from adapters.auco.sandbox.demo import USERS
from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes
from tests.contracts.validator import load_contracts

# Fuzzed examples per operation (positive and negative), after the coverage phase's
# systematic cases (tens to a few hundred per operation, bounded by the schema).
EXAMPLES = 20
# At most this many cases per operation are sent: the coverage phase alone gives a
# few hundred for most operations, thousands for large bodies (Apiture's).
MAX_CASES = 400
# Apiture's HAL bodies are large (a full enrollment is ~8 KB) and each case is
# validated twice (Schemathesis, plugin.py): its 21 operations at the common cap
# took over 2 minutes; at this one about 40 s of CPU, most of it the coverage
# phase generating those bodies (done whatever the cap).
MAX_CASES_BY_PROVIDER = {"apiture": 100}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    missing_required_header,
]
CONTRACTS = load_contracts()
AUCO_USER = sorted(USERS)[0]
PLAUSIBLE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # auco.yaml's Email
HOST = "http://sandbox.test"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _connectfi_token(app: Controlled) -> str:
    async def log_in() -> str:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=HOST
        ) as http:
            credentials = {"user": {"login": "sandbox", "password": "sandbox"}}
            answer = await http.post("/auth/get-token", json=credentials)
        token: str = answer.json()["data"]["token"]
        return token

    return asyncio.run(log_in())


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
    # Apiture: API-Key and a bearer token, the sandbox's demo pair where it has one.
    "apiture": lambda app: (
        lambda method: {
            "API-Key": getattr(apiture_sandbox, "DEMO_API_KEY", "sandbox"),
            "Authorization": "Bearer "
            + getattr(apiture_sandbox, "DEMO_ACCESS_TOKEN", "sandbox"),
        }
    ),
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


MAMBU_COLLECTIONS = {
    "clients": "1",
    "groups": "2",
    "loans": "3",
    "savings": "2344",
    "loanProducts": "LDP",
    "savingsProducts": "SDP",
    "branches": "b123",
    "centres": "c123",
    "users": "demo",
}


def _arrange(provider: str, case: Any) -> None:
    path = case.path_parameters or {}
    collection, holder_id = path.get("collection"), path.get("holder")
    if provider == "mambu" and isinstance(holder_id, str) and holder_id:
        known = (
            MAMBU_COLLECTIONS.get(collection) if isinstance(collection, str) else None
        )
        if known is not None:
            path["holder"] = known
    body = case.body
    if not isinstance(body, dict):
        return
    email = body.get("email")
    if provider == "auco" and isinstance(email, str) and PLAUSIBLE.fullmatch(email):
        body["email"] = AUCO_USER
    document = body.get("document")
    if provider == "mambu" and isinstance(document, dict):
        kind = document.get("documentHolderType")
        holder = MAMBU_HOLDERS.get(kind) if isinstance(kind, str) else None
        key = document.get("documentHolderKey")
        if holder is not None and isinstance(key, str) and key:
            document["documentHolderKey"] = holder


def _credentials(case: Any, demo: dict[str, str]) -> dict[str, str]:
    """The demo credentials for ``case``, but none its generated headers leave out
    when they are the negative part: a case made invalid by a missing ``API-Key``
    must not be made valid again by adding it."""
    meta = getattr(case, "meta", None)
    # What ``CaseMetadata.is_negative_at`` reads (it first ships in schemathesis
    # 4.32.5; the components are there from the lower bound on).
    header = meta.components.get(ParameterLocation.HEADER) if meta else None
    if header is None or not header.mode.is_negative:
        return demo
    own = {name.lower() for name in case.headers or {}}
    return {name: value for name, value in demo.items() if name.lower() in own}


def _sandbox(provider: str) -> Controlled:
    return create_sandboxes(Settings())[Provider(provider)]


def _operations() -> list[Any]:
    found = []
    for provider, contract in sorted(CONTRACTS.by_provider.items()):
        schema = schemathesis.openapi.from_dict(contract.document)
        schema.config.generation.update(
            modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
            deterministic=True,
        )
        for result in schema.get_all_operations():
            operation = result.ok()
            found.append(
                pytest.param(
                    provider, schema, operation, id=f"{provider}-{operation.label}"
                )
            )
    return found


@pytest.mark.sends_invalid_requests
@pytest.mark.parametrize(("provider", "schema", "operation"), _operations())
def test_a_sandbox_answers_generated_requests_within_its_contract(
    provider: str, schema: Any, operation: Any
) -> None:
    """Schemathesis's coverage phase (each field's boundaries, each field wrongly
    typed or missing, methods the path does not take) and then fuzzing."""
    app = _sandbox(provider)
    credentials = CREDENTIALS.get(provider, lambda app: lambda method: {})(app)
    sent: Counter[int] = Counter()

    budget = MAX_CASES_BY_PROVIDER.get(provider, MAX_CASES)

    def run(case: Any) -> None:
        if sent.total() >= budget:
            return  # the budget of this operation is spent
        _arrange(provider, case)
        headers = _credentials(case, credentials(case.method.upper()))
        response = case.call(headers=headers, app=app)
        sent[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    config = HypothesisTestConfig(
        project=schema.config,
        modes=[HypothesisTestMode.COVERAGE, HypothesisTestMode.FUZZING],
        settings=settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    create_test(operation=operation, test_func=run, config=config)()

    assert sent.total() > EXAMPLES
    print(f"{provider} {operation.label}: {sent.total()} cases, {dict(sent)}")


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# A value for each path parameter: an enum's first value, else a plausible id.
SAMPLE = "x1"


def _paths(provider: str) -> list[tuple[str, str, list[str]]]:
    """(concrete path, a method not declared, declared methods) per contract path."""
    document = CONTRACTS.by_provider[provider].document
    base = CONTRACTS.by_provider[provider].base
    found = []
    for template, item in document["paths"].items():
        declared = [m for m in METHODS if m.lower() in item]
        other = next((m for m in reversed(METHODS) if m not in declared), None)
        if not declared or other is None:
            continue

        def value(match: re.Match[str], item: dict[str, Any] = item) -> str:
            return _sample(document, item, match.group(1))

        concrete = re.sub(r"\{([^}]+)\}", value, template)
        found.append((base + concrete, other, declared))
    return found


def _sample(document: dict[str, Any], item: dict[str, Any], name: str) -> str:
    parameters = list(item.get("parameters", []))
    for operation in item.values():
        if isinstance(operation, dict):
            parameters += operation.get("parameters", [])
    for parameter in parameters:
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][
                parameter["$ref"].rsplit("/", 1)[-1]
            ]
        if parameter.get("name") == name and parameter.get("in") == "path":
            enum = parameter.get("schema", {}).get("enum")
            return str(enum[0]) if enum else SAMPLE
    return SAMPLE


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
            media = response.headers["content-type"].split(";")[0].strip()
            assert media == "application/json" or media.endswith("+json"), media


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
