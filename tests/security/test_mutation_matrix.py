"""Every mutation input that names a record, for the applicant who owns it, an
applicant who does not, and staff: the answer, and that a refused call wrote nothing
upstream (no POST, PUT, PATCH or DELETE reached any provider).

The records: Apiture applications and enrollments (``id``), Auco and Mambu
documents (``id``), connectFi documents (``uploadDocument.documentId``), Mambu
holders (``uploadDocument.owner``) and the vault documents an enrollment's required
documents point at (``requiredDocuments.documentUri``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.connectfi.sandbox import JOURNEY_CUSTOMER_ID, SEED_CUSTOMER_ID
from adapters.model import Provider
from schema import ids
from tests.conftest import Gateway, serve
from tests.schema.multipart import File, jpeg, pdf, post
from tests.security.tokens import applicant, secured_settings, staff

OWN_CLIENT, OTHER_CLIENT = "cstap_demo0001", "cstap_demo0002"
RUNNING_APP = "df61c534-57d1-437c-87af-ae8fdfecb2ae"
BLOCKED_APP = "ffc573d5-fd0b-470e-b85a-f4635e4af862"
PENDING_APP = "10cc8711-552a-45ca-8124-405b91fcfe88"
ENROLLMENT = "c408143f-290d-47e4-8e1f-40819f2d5db8"  # running, with documents
OTHER_ENROLLMENT = "e61b4dc6-7e52-4e4f-9e20-3161b050eb01"
AUCO_DOCUMENT = "DEMOWAIT01"
# connectFi's reads by POST and its login write nothing.
READS = {"/auth/get-token", "/akepa/status", "/akepa/list"}


@dataclass
class World:
    gateway: Gateway
    owner: dict[str, str]  # set per case: the applicant owning the case's record
    other: dict[str, str]

    def writes(self) -> int:
        return sum(
            1
            for sandbox in self.gateway.sandboxes.values()
            for r in sandbox.control.requests
            if r.method not in ("GET", "HEAD") and r.path not in READS
        )


def _contact(gateway: Gateway, key: str, enrollment: bool = False) -> str:
    store = gateway.apiture.store
    record = store.enrollment(key) if enrollment else store.application(key)
    people = record.get("applicants") or [record.get("applicant")]
    href: str = people[0]["contact"]["_links"]["self"]["href"]
    return href


def _who(contact: str, customer: str, client: str) -> dict[str, str]:
    return applicant(
        apiture_contact=contact, connectfi_customer_id=customer, mambu_client_key=client
    )


def app_id(key: str) -> str:
    return ids.encode("Application", Provider.APITURE, key)


def enrollment_id(key: str) -> str:
    return ids.encode("Enrollment", Provider.APITURE, key)


def _vault(gateway: Gateway, key: str) -> str:
    uri: str = gateway.apiture.store.enrollment(key)["requiredDocuments"][0][
        "documentUri"
    ]
    return uri


async def _generated(gateway: Gateway, who: dict[str, str]) -> str:
    query = """mutation { generateDocument(input: {workflow: "PERSONAL",
      name: "passport", extension: "jpg", type: "passport"}) {
        ... on Document { id } } }"""
    data = await gateway.data(query, {}, who)
    document_id: str = data["generateDocument"]["id"]
    return document_id


def _mambu_document(gateway: Gateway) -> str:
    stored = next(
        d for d in gateway.mambu.store.documents.values() if d.holder.id == OWN_CLIENT
    )
    key = f"{stored.holder.type}:{stored.holder.id}:{stored.encoded_key}"
    return ids.encode("Document", Provider.MAMBU, key)


@dataclass(frozen=True)
class Case:
    name: str
    mutation: str  # the operation's text
    record: str  # "app:<key>", "enrollment:<key>" or "" (no Apiture owner)
    expected: tuple[str, str, str]  # owner, other, staff
    upload: bool = False


def _action(field: str, argument: str = "$id: ID!", call: str = "id: $id") -> str:
    return f"""mutation M({argument}) {{ {field}({call}) {{
      __typename ... on UserError {{ code }} }} }}"""


APP_INPUT = "$id: ID!, $input: ApplicationInput!"
CHANGES = "$id: ID!, $input: ApplicationChangesInput!"
ENROLLMENT_INPUT = "$id: ID!, $input: EnrollmentInput!"
WITH_INPUT = "id: $id, input: $input"
UPLOAD = """mutation Up($file: Upload!, $input: UploadDocumentInput!) {
  uploadDocument(file: $file, input: $input) {
    __typename ... on UserError { code } } }"""

CASES = [
    Case("updateApplication", _action("updateApplication", CHANGES, WITH_INPUT),
         f"app:{RUNNING_APP}", ("Application", "NotFound", "Application")),
    Case("replaceApplication", _action("replaceApplication", APP_INPUT, WITH_INPUT),
         f"app:{RUNNING_APP}", ("Application", "NotFound", "Application")),
    Case("deleteApplication", _action("deleteApplication"),
         f"app:{PENDING_APP}", ("Forbidden", "Forbidden", "Deleted")),
    Case("approveApplication", _action("approveApplication"),
         f"app:{RUNNING_APP}", ("Forbidden", "Forbidden", "Application")),
    Case("rejectApplication", _action("rejectApplication"),
         f"app:{RUNNING_APP}", ("Forbidden", "Forbidden", "Application")),
    Case("expireApplication", _action("expireApplication"),
         f"app:{RUNNING_APP}", ("Forbidden", "Forbidden", "Application")),
    Case("startApplication", _action("startApplication"),
         f"app:{BLOCKED_APP}", ("Forbidden", "Forbidden", "Application")),
    Case("cancelApplication", _action("cancelApplication"),
         f"app:{RUNNING_APP}", ("Application", "NotFound", "Application")),
    Case("updateEnrollment", _action("updateEnrollment", ENROLLMENT_INPUT, WITH_INPUT),
         f"enrollment:{ENROLLMENT}", ("Enrollment", "NotFound", "Enrollment")),
    Case("replaceEnrollment",
         _action("replaceEnrollment", ENROLLMENT_INPUT, WITH_INPUT),
         f"enrollment:{ENROLLMENT}", ("Enrollment", "NotFound", "Enrollment")),
    Case("deleteEnrollment", _action("deleteEnrollment"),
         f"enrollment:{ENROLLMENT}", ("Forbidden", "Forbidden", "Deleted")),
    Case("approveEnrollment", _action("approveEnrollment"),
         f"enrollment:{ENROLLMENT}", ("Forbidden", "Forbidden", "Enrollment")),
    Case("rejectEnrollment", _action("rejectEnrollment"),
         f"enrollment:{ENROLLMENT}", ("Forbidden", "Forbidden", "Enrollment")),
    Case("cancelSignature", _action("cancelSignature"),
         "", ("Forbidden", "Forbidden", "Document")),
    Case("deleteDocument", _action("deleteDocument"),
         "", ("Forbidden", "Forbidden", "Deleted")),
    Case("uploadDocument.documentId", UPLOAD,
         "", ("Document", "NotFound", "Document"), upload=True),
    Case("uploadDocument.owner", UPLOAD,
         "", ("Document", "NotFound", "Document"), upload=True),
    Case("updateEnrollment.documentUri (own)",
         _action("updateEnrollment", ENROLLMENT_INPUT, WITH_INPUT),
         f"enrollment:{ENROLLMENT}", ("Enrollment", "NotFound", "Enrollment")),
    Case("updateEnrollment.documentUri (another's)",
         _action("updateEnrollment", ENROLLMENT_INPUT, WITH_INPUT),
         f"enrollment:{ENROLLMENT}", ("NotFound", "NotFound", "Enrollment")),
    Case("replaceEnrollment.documentUri (another's)",
         _action("replaceEnrollment", ENROLLMENT_INPUT, WITH_INPUT),
         f"enrollment:{ENROLLMENT}", ("NotFound", "NotFound", "Enrollment")),
    Case("createEnrollment.documentUri (another's)",
         _action("createEnrollment", "$input: EnrollmentInput!", "input: $input"),
         f"enrollment:{ENROLLMENT}", ("NotFound", "NotFound", "Enrollment")),
]  # fmt: skip


async def _variables(case: Case, world: World) -> dict[str, Any]:
    gateway = world.gateway
    _, _, key = case.record.partition(":")
    person = {"firstName": "Nina", "lastName": "Okoro", "username": "nina.okoro.x"}
    own_uri = _vault(gateway, ENROLLMENT)
    other_uri = _vault(gateway, OTHER_ENROLLMENT)
    required = {
        "updateEnrollment.documentUri (own)": own_uri,
        "updateEnrollment.documentUri (another's)": other_uri,
        "replaceEnrollment.documentUri (another's)": other_uri,
        "createEnrollment.documentUri (another's)": other_uri,
    }.get(case.name)
    enrollment_input: dict[str, Any] = {"applicant": person}
    if required is not None:
        enrollment_input["requiredDocuments"] = [
            {"label": "License", "documentUri": required}
        ]
    field = case.name.split(".")[0].split(" ")[0]
    if field in ("updateApplication",):
        return {"id": app_id(key), "input": {"accountName": "Mine"}}
    if field == "replaceApplication":
        product = "/products/products/p1"
        return {"id": app_id(key), "input": {"productUri": product}}
    if field.endswith("Application"):
        return {"id": app_id(key)}
    if field == "createEnrollment":
        return {"input": enrollment_input}
    if field in ("updateEnrollment", "replaceEnrollment"):
        return {"id": enrollment_id(key), "input": enrollment_input}
    if field.endswith("Enrollment"):
        return {"id": enrollment_id(key)}
    if field == "cancelSignature":
        return {"id": ids.encode("Document", Provider.AUCO, AUCO_DOCUMENT)}
    if field == "deleteDocument":
        return {"id": _mambu_document(gateway)}
    if case.name == "uploadDocument.documentId":
        return {"input": {"documentId": await _generated(gateway, world.owner)}}
    return {"input": {"owner": {"kind": "MAMBU_CLIENT", "id": OWN_CLIENT}}}


@pytest.fixture
async def running() -> AsyncIterator[Gateway]:
    async with serve(secured_settings()) as gateway:
        yield gateway


@pytest.mark.parametrize("who", ["owner", "other", "staff"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_mutation_inputs_that_name_a_record(
    running: Gateway, case: Case, who: str
) -> None:
    kind, _, key = case.record.partition(":")
    contact = (
        _contact(running, key, enrollment=kind == "enrollment")
        if kind
        else "/contacts/contacts/nobody"
    )
    world = World(
        gateway=running,
        owner=_who(contact, JOURNEY_CUSTOMER_ID, OWN_CLIENT),
        other=_who("/contacts/contacts/someone-else", SEED_CUSTOMER_ID, OTHER_CLIENT),
    )
    variables = await _variables(case, world)
    running.forget_requests()
    headers = {"owner": world.owner, "other": world.other, "staff": staff()}[who]
    expected = case.expected[("owner", "other", "staff").index(who)]

    if case.upload:
        content = (
            File("passport.jpg", "image/jpeg", jpeg(2048))
            if "documentId" in case.name
            else File("id.pdf", "application/pdf", pdf(2048))
        )
        response = await post(
            running.client, case.mutation, variables, {"file": content}, headers
        )
        body = response.json()
    else:
        body = await running.execute(case.mutation, variables, headers)

    assert "errors" not in body, body
    (answer,) = body["data"].values()
    assert answer["__typename"] == expected, answer
    if expected in ("Forbidden", "NotFound"):
        assert world.writes() == 0
    else:
        assert world.writes() >= 1
