"""A provider failing during a mutation costs only that mutation's result.

Every mutation's result is a non-null union, so a provider error raised out of one
would null the whole response: the client would lose the results of the mutations
already done in the same request, and could not tell that they happened. Instead
the failing mutation answers ``ProviderFailed`` (a ``UserError``) and every other
mutation of the request keeps its own result.

The cases come from the schema's own ``Mutation`` fields: a mutation added without
a case here fails ``test_a_failing_provider_costs_only_its_own_mutation`` by name.
Each request holds three mutations: one on a healthy provider, the one whose
provider fails, and the healthy one again (mutations run in order: the third shows
the request went on after the failure).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.connectfi.sandbox import SEED_CUSTOMER_ID
from adapters.errors import ProviderUnavailable
from adapters.model import Provider
from adapters.sandbox_kit import Fault
from schema import ids
from schema.api import schema as live_schema
from schema.errors import ProviderFailed
from schema.idempotency import Idempotent, MemoryIdempotencyStore
from tests.conftest import Gateway, serve
from tests.resilience.support import SECRETS, assert_nothing_leaks, failure_settings
from tests.schema.apiture_helpers import app_id, enrollment_id
from tests.schema.multipart import File, jpeg, pdf, post
from tests.security.tokens import applicant, secured_settings

AUCO_DOCUMENT = "DEMOWAIT01"
MAMBU_CLIENT = "cstap_demo0003"


@dataclass(frozen=True)
class Case:
    name: str  # the mutation, and which of its providers when it has two
    provider: Provider  # the one that fails
    signature: str  # the operation's variables
    call: str  # the mutation's arguments
    file: File | None = None  # the upload, for ``$file: Upload!``

    @property
    def field(self) -> str:
        return self.name.split(".")[0]


ID = ("$id: ID!", "id: $id")
WITH_INPUT = "id: $id, input: $input"
PDF = File("contrato.pdf", "application/pdf", pdf(4096))
JPEG = File("passport.jpg", "image/jpeg", jpeg(4096))
APITURE, CONNECTFI, AUCO, MAMBU = (
    Provider.APITURE,
    Provider.CONNECTFI,
    Provider.AUCO,
    Provider.MAMBU,
)
CASES = [
    Case("createApplication", APITURE, "$input: ApplicationInput!", "input: $input"),
    Case("updateApplication", APITURE, "$id: ID!, $input: ApplicationChangesInput!",
         WITH_INPUT),
    Case("replaceApplication", APITURE, "$id: ID!, $input: ApplicationInput!",
         WITH_INPUT),
    Case("deleteApplication", APITURE, *ID),
    Case("approveApplication", APITURE, *ID),
    Case("rejectApplication", APITURE, *ID),
    Case("cancelApplication", APITURE, *ID),
    Case("expireApplication", APITURE, *ID),
    Case("startApplication", APITURE, *ID),
    Case("createEnrollment", APITURE, "$input: EnrollmentInput!", "input: $input"),
    Case("updateEnrollment", APITURE, "$id: ID!, $input: EnrollmentInput!",
         WITH_INPUT),
    Case("replaceEnrollment", APITURE, "$id: ID!, $input: EnrollmentInput!",
         WITH_INPUT),
    Case("deleteEnrollment", APITURE, *ID),
    Case("approveEnrollment", APITURE, *ID),
    Case("rejectEnrollment", APITURE, *ID),
    Case("generateDocument", CONNECTFI, "$input: GenerateDocumentInput!",
         "input: $input"),
    Case("uploadDocument.connectfi", CONNECTFI,
         "$file: Upload!, $input: UploadDocumentInput!", "file: $file, input: $input",
         JPEG),
    Case("uploadDocument.mambu", MAMBU,
         "$file: Upload!, $input: UploadDocumentInput!", "file: $file, input: $input",
         PDF),
    Case("requestSignature", AUCO, "$file: Upload!, $input: SignatureRequestInput!",
         "file: $file, input: $input", PDF),
    Case("cancelSignature", AUCO, *ID),
    Case("deleteDocument", MAMBU, *ID),
    Case("startIdentification", CONNECTFI, "$input: IdentificationInput!",
         "input: $input"),
]  # fmt: skip


def mutation_fields() -> list[str]:
    mutation = live_schema._schema.mutation_type
    assert mutation is not None
    return sorted(mutation.fields)


def cases_of_the_schema() -> Iterator[Any]:
    """One parameter per case of every Mutation field; a field with no case is a
    parameter too, which fails naming it."""
    for field in mutation_fields():
        found = [c for c in CASES if c.field == field]
        if not found:
            yield pytest.param(field, id=f"{field} (no case)")
        for case in found:
            yield pytest.param(case, id=case.name)


# The healthy mutation beside the failing one, on another provider: its
# selection (for a distinct username or name), the type it answers and the write
# it sends (method, path).
Witness = tuple[Callable[[str], str], str, tuple[str, str]]
GENERATE: Witness = (
    lambda name: (
        f"""generateDocument(input: {{workflow: "PERSONAL",
         name: "{name}", extension: "jpg", type: "passport"}}) {{
         __typename ... on Document {{ id provider }} }}"""
    ),
    "Document",
    ("POST", "/akepa/document/generate"),
)
ENROLL: Witness = (
    lambda name: (
        f"""createEnrollment(input: {{applicant: {{firstName: "Nina",
         lastName: "Okoro", username: "{name}"}}}}) {{
         __typename ... on Enrollment {{ id provider state }} }}"""
    ),
    "Enrollment",
    ("POST", "/accountApplications/enrollments"),
)


def witness_for(provider: Provider) -> Witness:
    return GENERATE if provider is APITURE else ENROLL


def operation(case: Case) -> str:
    selection, _, _ = witness_for(case.provider)
    tag = uuid.uuid4().hex[:8]
    return f"""mutation Three({case.signature}) {{
      before: {selection(f"before{tag}")}
      failing: {case.field}({case.call}) {{
        __typename
        ... on UserError {{ code message }}
        ... on ProviderFailed {{ provider retryable retryAfter requestId }}
      }}
      after: {selection(f"after{tag}")}
    }}"""


GENERATE_INPUT = {
    "workflow": "PERSONAL",
    "name": "passport",
    "extension": "jpg",
    "type": "passport",
}
SIGNATURE_INPUT = {
    "name": "Contrato",
    "subject": "Firma",
    "message": "Por favor firma.",
    "signers": [
        {
            "name": "Ana García",
            "email": "ana.garcia@example.com",
            "phone": "+573001110001",
        }
    ],
}


async def variables(case: Case, gateway: Gateway) -> dict[str, Any]:
    """Arguments the gateway accepts and sends on: the failure must come from the
    provider, not from a refusal before any call."""
    store = gateway.apiture.store
    person = {"firstName": "Nina", "lastName": "Okoro", "username": "nina.okoro"}
    enrollment = {"applicant": person}
    product = {"productUri": "https://www.example.com/products/products/51df9a81"}
    match case.name:
        case "createApplication":
            return {"input": product}
        case "updateApplication":
            running = store.ids_in_state("running")[0]
            return {"id": app_id(running), "input": {"accountName": "Mine"}}
        case "replaceApplication":
            return {"id": app_id(store.ids_in_state("running")[0]), "input": product}
        case "deleteApplication":
            return {"id": app_id(store.ids_in_state("pending")[0])}
        case "startApplication":
            return {"id": app_id(store.ids_in_state("blocked")[0])}
        case name if name.endswith("Application"):
            return {"id": app_id(store.ids_in_state("running")[0])}
        case "createEnrollment":
            return {"input": enrollment}
        case "updateEnrollment" | "replaceEnrollment":
            key = store.ids_in_state("running", enrollments=True)[0]
            return {"id": enrollment_id(key), "input": enrollment}
        case name if name.endswith("Enrollment"):
            key = store.ids_in_state("running", enrollments=True)[0]
            return {"id": enrollment_id(key)}
        case "generateDocument":
            return {"input": GENERATE_INPUT}
        case "uploadDocument.connectfi":
            return {"input": {"documentId": await generated(gateway)}}
        case "uploadDocument.mambu":
            owner = {"kind": "MAMBU_CLIENT", "id": MAMBU_CLIENT}
            return {"input": {"owner": owner, "name": "contract.pdf"}}
        case "requestSignature":
            return {"input": SIGNATURE_INPUT}
        case "cancelSignature":
            return {"id": ids.encode("Document", AUCO, AUCO_DOCUMENT)}
        case "deleteDocument":
            return {"id": mambu_document(gateway)}
        case "startIdentification":
            customer = {"customerId": SEED_CUSTOMER_ID, "reference": "kyc1"}
            return {"input": customer}
    raise AssertionError(f"no variables for {case.name}")


async def generated(gateway: Gateway) -> str:
    data = await gateway.data(f"mutation {{ {GENERATE[0]('passport')} }}")
    document_id: str = data["generateDocument"]["id"]
    return document_id


def mambu_document(gateway: Gateway) -> str:
    stored = next(iter(gateway.mambu.store.documents.values()))
    key = f"{stored.holder.type}:{stored.holder.id}:{stored.encoded_key}"
    return ids.encode("Document", MAMBU, key)


async def run(case: Case, gateway: Gateway, values: dict[str, Any]) -> dict[str, Any]:
    if case.file is None:
        return await gateway.execute(operation(case), values)
    response = await post(gateway.client, operation(case), values, {"file": case.file})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def check_witnesses(case: Case, gateway: Gateway, body: dict[str, Any]) -> None:
    """Both healthy mutations answered their record and reached their provider."""
    _, typename, (method, path) = witness_for(case.provider)
    data = body["data"]
    assert data is not None, body
    before, after = data["before"], data["after"]
    assert before["__typename"] == after["__typename"] == typename, body
    assert before["id"] != after["id"]
    healthy = CONNECTFI if case.provider is APITURE else APITURE
    assert before["provider"] == after["provider"] == healthy.name
    assert gateway.sandboxes[healthy].control.calls(method, path) == 2


@pytest.mark.parametrize("case", list(cases_of_the_schema()))
async def test_a_failing_provider_costs_only_its_own_mutation(
    case: Case | str,
) -> None:
    assert isinstance(case, Case), f"mutation {case} has no case in CASES: add one"
    async with serve(failure_settings()) as gateway:
        values = await variables(case, gateway)
        failing = gateway.sandboxes[case.provider].control
        failing.inject(".*", Fault(status=503, body=b'{"error": "injected"}'))
        gateway.forget_requests()

        body = await run(case, gateway, values)

        assert "errors" not in body, body
        assert body["data"]["failing"] == {
            "__typename": "ProviderFailed",
            "code": "PROVIDER_UNAVAILABLE",
            "message": f"{case.provider.name} failed (HTTP 503)",
            "provider": case.provider.name,
            "retryable": True,
            "retryAfter": None,
            "requestId": None,
        }
        assert failing.calls() >= 1, "the failure came from the provider"
        check_witnesses(case, gateway, body)
        assert_nothing_leaks(body)


def test_every_case_names_a_mutation_of_the_schema() -> None:
    assert {c.field for c in CASES} <= set(mutation_fields())


# Faults a provider can answer a mutation with, and what the mutation answers:
# (code, retryable, retryAfter).
@dataclass(frozen=True)
class Drawn:
    fault: Fault
    code: str
    retryable: bool
    retry_after: float | None = None


def _status(status: int, body: bytes, retry_after: int | None) -> Drawn:
    fault = Fault(
        status=status,
        body=body,
        retry_after=None if retry_after is None else str(retry_after),
    )
    if status == 429:
        seconds = None if retry_after is None else float(retry_after)
        return Drawn(fault, "RATE_LIMITED", True, seconds)
    return Drawn(fault, "PROVIDER_UNAVAILABLE", True)


# Upstream bodies that must never reach the client: the fault's own body, a
# credential, an upstream URL, with arbitrary text around them.
LEAKY = st.builds(
    lambda before, needle, after: (before + needle + after).encode(),
    st.text(max_size=30),
    st.sampled_from(
        [*SECRETS.values(), "http://sandbox.internal/accountApplications/x",
         '{"error": "injected"}']
    ),
    st.text(max_size=30),
)  # fmt: skip
DRAWN = st.one_of(
    st.builds(
        _status,
        st.sampled_from([429, 500, 502, 503, 504]),
        LEAKY,
        st.one_of(st.none(), st.integers(0, 120)),
    ),
    st.just(Drawn(Fault(drop=True), "PROVIDER_UNAVAILABLE", True)),
    st.just(Drawn(Fault(hang=True), "PROVIDER_TIMEOUT", True)),
    st.just(Drawn(Fault(malformed=True), "PROVIDER_ERROR", False)),
)
# Apiture answers a delete with 204 and no body: the gateway reads none, so a
# broken 200 body reads as done, like any 2xx.
# Deletes whose success has no body, so a malformed 200 is no failure. An
# application's delete reads its ETag first (If-Match is required), and that read
# does fail on a malformed answer; an enrollment's delete takes no If-Match.
BODYLESS = {"deleteEnrollment"}


def test_any_provider_failure_is_the_mutations_typed_result() -> None:
    """Faults and mutations drawn by hypothesis, one gateway for every example."""
    loop = asyncio.new_event_loop()
    running = serve(failure_settings(attempt_timeout=0.05))
    plain = [c for c in CASES if c.file is None]  # uploads: covered above
    try:
        gateway: Gateway = loop.run_until_complete(running.__aenter__())

        @settings(
            derandomize=True,
            max_examples=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(case=st.sampled_from(plain), drawn=DRAWN)
        def prop(case: Case, drawn: Drawn) -> None:
            values = loop.run_until_complete(variables(case, gateway))
            for sandbox in gateway.sandboxes.values():
                sandbox.control.clear()
            gateway.sandboxes[case.provider].control.inject(".*", drawn.fault)
            body = loop.run_until_complete(run(case, gateway, values))
            gateway.sandboxes[case.provider].control.clear()

            assert "errors" not in body, body
            failed = body["data"]["failing"]
            check_witnesses(case, gateway, body)
            assert_nothing_leaks(body)
            if drawn.fault.malformed and case.name in BODYLESS:
                assert failed["__typename"] == "Deleted", failed
                return
            assert failed["__typename"] == "ProviderFailed", failed
            assert failed["provider"] == case.provider.name
            assert (failed["code"], failed["retryable"], failed["retryAfter"]) == (
                drawn.code,
                drawn.retryable,
                drawn.retry_after,
            )

        prop()
    finally:
        loop.run_until_complete(running.__aexit__(None, None, None))
        loop.close()


async def test_a_provider_failing_in_the_policys_read_is_the_typed_result() -> None:
    """An applicant's change is checked against the record read first (the
    policy, before the resolver): that read failing answers ProviderFailed too."""
    async with serve(secured_settings()) as gateway:
        key = gateway.apiture.store.ids_in_state("running")[0]
        record = gateway.apiture.store.application(key)
        contact = record["applicants"][0]["contact"]["_links"]["self"]["href"]
        gateway.apiture.control.inject(key, Fault(status=502), method="GET")
        body = await gateway.execute(
            """mutation Cancel($id: ID!) { cancelApplication(id: $id) {
                 __typename ... on ProviderFailed { code provider } } }""",
            {"id": app_id(key)},
            applicant(apiture_contact=contact),
        )
        assert body == {
            "data": {
                "cancelApplication": {
                    "__typename": "ProviderFailed",
                    "code": "PROVIDER_UNAVAILABLE",
                    "provider": "APITURE",
                }
            }
        }
        assert gateway.apiture.control.calls("GET") >= 1
        assert gateway.apiture.control.calls("POST") == 0  # refused before acting
        assert gateway.apiture.store.application(key)["state"] == "running"


APPROVE = """
mutation Approve($id: ID!, $key: String) {
  approveApplication(id: $id, idempotencyKey: $key) {
    __typename
    ... on Application { state }
    ... on ProviderFailed { code }
  }
}"""


async def test_a_keyed_mutation_retried_after_a_failure_reaches_the_provider(
    gateway: Gateway,
) -> None:
    key = gateway.apiture.store.ids_in_state("running")[0]
    variables = {"id": app_id(key), "key": str(uuid.uuid4())}
    gateway.apiture.control.inject("approvedApplications", Fault(status=503, times=1))

    failed = await gateway.data(APPROVE, variables)
    assert failed["approveApplication"] == {
        "__typename": "ProviderFailed",
        "code": "PROVIDER_UNAVAILABLE",
    }
    assert gateway.apiture.store.application(key)["state"] == "running"
    calls = gateway.apiture.control.calls()

    retried = await gateway.data(APPROVE, variables)
    assert retried["approveApplication"] == {
        "__typename": "Application",
        "state": "APPROVED",
    }
    assert gateway.apiture.control.calls() > calls, "the retry reached Apiture"
    assert gateway.apiture.store.application(key)["state"] == "approved"

    # The success is remembered: a third call with the key sends nothing.
    calls = gateway.apiture.control.calls()
    assert await gateway.data(APPROVE, variables) == retried
    assert gateway.apiture.control.calls() == calls


async def test_repeats_waiting_on_a_failed_first_get_its_typed_failure(
    gateway: Gateway,
) -> None:
    gateway.apiture.control.latency = 0.05
    gateway.apiture.control.inject("approvedApplications", Fault(status=503))
    key = gateway.apiture.store.ids_in_state("running")[0]
    variables = {"id": app_id(key), "key": str(uuid.uuid4())}
    results = await asyncio.gather(
        *(gateway.data(APPROVE, variables) for _ in range(3))
    )
    assert all(
        r["approveApplication"]["__typename"] == "ProviderFailed" for r in results
    )


async def test_a_returned_provider_failure_is_not_remembered() -> None:
    """The store's own guard, whatever raised or returned it: a ProviderFailed
    result is forgotten, so the next call with the key runs again."""
    store = MemoryIdempotencyStore()
    extension = Idempotent(store)
    answers: list[Any] = [
        ProviderFailed.of(ProviderUnavailable("MAMBU failed", provider=MAMBU)),
        "done",
    ]
    calls: list[int] = []

    async def resolver(source: Any, info: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return answers[len(calls) - 1]

    caller = SimpleNamespace(subject="someone")
    info: Any = SimpleNamespace(
        field_name="deleteDocument", context=SimpleNamespace(caller=caller)
    )
    first = await extension.resolve_async(resolver, None, info, idempotency_key="k")
    second = await extension.resolve_async(resolver, None, info, idempotency_key="k")
    third = await extension.resolve_async(resolver, None, info, idempotency_key="k")
    assert isinstance(first, ProviderFailed) and first.code == "PROVIDER_UNAVAILABLE"
    assert (second, third) == ("done", "done")
    assert len(calls) == 2
