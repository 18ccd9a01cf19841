"""Property: whatever the gateway lets through to a provider fits its contract.

Callers' input crosses a trust boundary and becomes an upstream body. For every
input the gateway's own rules accept (``adapters.auco.inputs``,
``adapters.connectfi.checks``), the body it would send must validate against the
provider's contract: the gateway must never rely on the provider to refuse.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.apiture import queries
from adapters.auco import mapping
from adapters.auco.inputs import ReaderInput, SignatureRequest, SignerInput, validate
from adapters.connectfi import checks
from adapters.connectfi import mapping as connectfi_mapping
from adapters.errors import ValidationFailed
from adapters.model import ApplicationQuery, State
from adapters.sandbox_kit import Exchange
from tests.contracts.validator import load_contracts

CONTRACTS = load_contracts()
NOW = datetime(2025, 3, 10, tzinfo=UTC)
PDF_BASE64 = "JVBERi0xLjQKJSVFT0YK"

texts = st.text(max_size=12)
emails = st.one_of(st.emails(), texts)
# "\d" in a Python pattern is any script's digit: "+٣٠٠١١١٠٠٠١" is no phone to Auco.
phones = st.one_of(
    st.none(),
    st.from_regex(r"\+[0-9]{7,15}", fullmatch=True),
    st.from_regex(r"\+\d{7,15}", fullmatch=True),
    st.text(max_size=16),
)
signers = st.builds(
    SignerInput,
    name=texts,
    email=emails,
    phone=phones,
    role=st.sampled_from(["SIGNER", "APPROVER", "READER"]),
    order=st.one_of(st.none(), st.integers(min_value=-2, max_value=30)),
)
requests = st.builds(
    SignatureRequest,
    name=texts,
    subject=texts,
    message=texts,
    signers=st.lists(signers, min_size=0, max_size=3).map(tuple),
    readers=st.lists(st.builds(ReaderInput, name=texts, email=emails), max_size=2).map(
        tuple
    ),
    remember=st.one_of(st.none(), st.integers(min_value=-3, max_value=30)),
)


def _post(provider: str, path: str, headers: dict[str, str], body: object) -> Exchange:
    return Exchange(
        provider=provider,
        method="POST",
        path=path,
        query="",
        headers={**headers, "content-type": "application/json"},
        body=json.dumps(body).encode(),
        status=400,  # the request alone is checked here
        response_headers={"content-type": "application/json"},
        response_body=b"{}",
        faulted=True,
    )


def _upload_exchange(body: dict[str, object]) -> Exchange:
    return _post("auco", "/v1.5/ext/document/upload", {"authorization": "k"}, body)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(request=requests)
def test_every_signature_request_the_gateway_accepts_fits_aucos_contract(
    request: SignatureRequest,
) -> None:
    if validate(request, NOW):
        return  # refused before any call: nothing reaches Auco
    body = mapping.upload_payload(request, "onboarding@bank.example", compress=False)
    body["file"] = PDF_BASE64

    outcome = CONTRACTS.check(_upload_exchange(body))

    assert outcome is not None
    assert outcome.request_errors == (), (body, outcome.request_errors)


def test_the_shipped_example_fits_the_contract_and_a_missing_phone_does_not() -> None:
    signer = SignerInput("Priya Patel", "priya.patel@example.com", "+15555550123")
    request = SignatureRequest("Account agreement", "Please sign", "Soon", (signer,))
    body = mapping.upload_payload(request, "onboarding@bank.example", compress=True)
    assert CONTRACTS.check(_upload_exchange(body)).request_errors == ()  # type: ignore[union-attr]

    body["signProfile"][0].pop("phone")  # type: ignore[index, union-attr]
    errors = CONTRACTS.check(_upload_exchange(body)).request_errors  # type: ignore[union-attr]
    assert any("'phone' is a required property" in e for e in errors)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(
    workflow=st.sampled_from(["BUSINESS", "PERSONAL", "personal", ""]),
    name=st.text(max_size=60),
    extension=st.sampled_from(["jpg", "png", "JPG", "gif"]),
    kind=st.sampled_from(["license", "passport", "w2", "selfie"]),
    note=st.one_of(st.none(), st.text(max_size=20)),
    email=st.one_of(st.none(), st.emails(), st.text(max_size=12)),
)
def test_every_document_the_gateway_would_generate_fits_connectfis_contract(
    workflow: str,
    name: str,
    extension: str,
    kind: str,
    note: str | None,
    email: str | None,
) -> None:
    fields = {
        "workflow": workflow,
        "name": name,
        "extension": extension,
        "type": kind,
        "note": note,
        "note_author_agent_email": email,
    }
    if checks.generate_violations(**fields):
        return  # refused before any call
    body = connectfi_mapping.generate_request(**fields)
    exchange = _post(
        "connectfi", "/akepa/document/generate", {"x-connectfi-token": "t"}, body
    )

    outcome = CONTRACTS.check(exchange)

    assert outcome is not None
    assert outcome.request_errors == (), (body, outcome.request_errors)


# Apiture: a caller's filter becomes a collection query (adapters.apiture.queries).
apiture_sorts = st.lists(
    st.sampled_from(
        ["created_at", "-createdAt", "name", "-product_name", "state", "+completedAt",
         "applicantName", "balance", "-organization_name"]
    ),
    max_size=3,
).map(tuple)  # fmt: skip
moments = st.one_of(
    st.none(),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.datetimes(timezones=st.just(UTC)),
)
apiture_queries = st.builds(
    ApplicationQuery,
    states=st.frozensets(st.sampled_from(list(State))),
    created_from=moments,
    created_to=moments,
    search=st.one_of(st.none(), st.text(max_size=10)),
    sort=apiture_sorts,
    extra=st.dictionaries(
        st.sampled_from(["filter", "q", "name"]), st.text(max_size=8), max_size=2
    ),
)


def _apiture_get(path: str, params: dict[str, str]) -> Exchange:
    url = httpx.Request("GET", f"http://a/accountApplications/{path}", params=params)
    return Exchange(
        provider="apiture",
        method="GET",
        path=url.url.path,
        query=url.url.query.decode(),
        headers={"api-key": "k", "authorization": "Bearer t"},
        body=b"",
        status=400,  # the request alone is checked here
        response_headers={},
        response_body=b"",
        faulted=True,
    )


@pytest.mark.filterwarnings("ignore:Unsupported scheme type")
@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(
    query=apiture_queries,
    view=st.sampled_from(["all", "running", "blocked"]),
    applicant=st.one_of(st.none(), st.just(""), st.text(max_size=12)),
    enrollments=st.booleans(),
)
def test_every_apiture_query_the_gateway_sends_fits_the_contract(
    query: ApplicationQuery,
    view: Literal["all", "running", "blocked"],
    applicant: str | None,
    enrollments: bool,
) -> None:
    try:
        if enrollments:
            path, params = "enrollments", queries.enrollment_params(query, 0, 10)
        else:
            path, params = queries.application_params(query, view, applicant)
            params.update(start="0", limit="10")
    except ValidationFailed:
        return  # refused before any call: nothing reaches Apiture

    outcome = CONTRACTS.check(_apiture_get(path, params))

    assert outcome is not None
    assert outcome.request_errors == (), (path, params, outcome.request_errors)
