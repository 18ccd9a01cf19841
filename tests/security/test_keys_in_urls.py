"""Issue 14, items 1 and 2: the attacks, reproduced through the running gateway.

A key inside a global id is a provider key: it must not climb out of its URL
segment (``../``), add a query (``?``), be cut short (``#``) or smuggle an encoded
slash (``%2F``). A malformed key reads exactly like an id that does not exist and
makes no upstream call. And an applicant may upload only into a connectFi document
of their own customer.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.connectfi.sandbox import JOURNEY_CUSTOMER_ID, SEED_CUSTOMER_ID
from tests.conftest import Gateway, serve
from tests.schema.multipart import File, jpeg, post
from tests.security.tokens import applicant, secured_settings, staff

# The exploit's two running applications in the Apiture sandbox's demo data, each
# with its own applicant (contact).
ATTACKER_APP = "df61c534-57d1-437c-87af-ae8fdfecb2ae"
VICTIM_APP = "2462c274-abbf-46c7-a80a-ee2a466bd06f"


def gid(typename: str, provider: str, key: str) -> str:
    """A global id as an attacker writes one (schema/ids.py's encoding)."""
    raw = f"{typename}:{provider}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Two:
    gateway: Gateway
    attacker: dict[str, str]  # headers of the applicant owning ATTACKER_APP
    victim: dict[str, str]

    def state(self, key: str) -> str:
        state: str = self.gateway.apiture.store.application(key)["state"]
        return state


def _contact(gateway: Gateway, key: str) -> str:
    app: dict[str, Any] = gateway.apiture.store.application(key)
    href: str = app["applicants"][0]["contact"]["_links"]["self"]["href"]
    return href


@pytest.fixture
async def two() -> AsyncIterator[Two]:
    async with serve(secured_settings()) as gateway:
        assert gateway.apiture.store.application(ATTACKER_APP)["state"] == "running"
        assert gateway.apiture.store.application(VICTIM_APP)["state"] == "running"
        yield Two(
            gateway=gateway,
            attacker=applicant(
                apiture_contact=_contact(gateway, ATTACKER_APP),
                connectfi_customer_id=JOURNEY_CUSTOMER_ID,
            ),
            victim=applicant(
                apiture_contact=_contact(gateway, VICTIM_APP),
                connectfi_customer_id=SEED_CUSTOMER_ID,
            ),
        )


CANCEL = """
mutation C($id: ID!) {
  cancelApplication(id: $id) {
    __typename
    ... on Application { providerId state }
    ... on UserError { code }
  }
}"""


async def test_a_fragment_in_a_key_cannot_cancel_another_applicants_application(
    two: Two,
) -> None:
    forged = gid("Application", "APITURE", f"{ATTACKER_APP}#/{VICTIM_APP}")
    two.gateway.forget_requests()

    data = await two.gateway.data(CANCEL, {"id": forged}, two.attacker)

    assert data["cancelApplication"]["__typename"] == "NotFound"
    assert two.state(VICTIM_APP) == "running"
    assert two.state(ATTACKER_APP) == "running"
    assert two.gateway.upstream_calls() == 0
    # The same answer as for an id that does not exist.
    missing = await two.gateway.data(
        CANCEL,
        {"id": gid("Application", "APITURE", "no-such-application")},
        two.attacker,
    )
    assert missing == data


async def test_each_applicant_still_cancels_their_own(two: Two) -> None:
    own = gid("Application", "APITURE", ATTACKER_APP)
    two.gateway.forget_requests()

    data = await two.gateway.data(CANCEL, {"id": own}, two.attacker)

    assert data["cancelApplication"] == {
        "__typename": "Application",
        "providerId": ATTACKER_APP,
        "state": "CANCELED",
    }
    assert two.state(VICTIM_APP) == "running"
    (action,) = two.gateway.apiture.control.matching("POST")
    assert action.path == "/accountApplications/canceledApplications"
    assert action.query == f"application={ATTACKER_APP}"
    # The victim's cancel of the attacker's application reads as missing.
    refused = await two.gateway.data(
        CANCEL, {"id": gid("Application", "APITURE", VICTIM_APP)}, two.attacker
    )
    assert refused["cancelApplication"]["__typename"] == "NotFound"
    assert two.state(VICTIM_APP) == "running"


READ = "query R($id: ID!) { node(id: $id) { __typename id } }"


def _hostile_keys(gateway: Gateway) -> dict[str, str]:
    enrollment = next(iter(gateway.apiture.store.enrollments))
    return {
        "dot-dot": f"../enrollments/{enrollment}",
        "query": f"{VICTIM_APP}?admin=true&x=",
        "fragment": f"{VICTIM_APP}#frag",
        "encoded slash": f"..%2Fenrollments%2F{enrollment}",
        "empty": "",
        "very long": "a" * 10_000,
        "unicode": "\uff41\uff50\uff50-\u00e9\u202e-\U0001f600",  # fullwidth "app"
        "space": f" {VICTIM_APP}",
        "newline": f"{VICTIM_APP}\n",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "dot-dot",
        "query",
        "fragment",
        "encoded slash",
        "empty",
        "very long",
        "unicode",
        "space",
        "newline",
    ],
)
async def test_a_malformed_key_reads_as_missing_without_an_upstream_call(
    kind: str,
) -> None:
    async with serve() as gateway:  # open: every caller is staff
        key = _hostile_keys(gateway)[kind]
        for typename in ("Application", "Enrollment"):
            body = await gateway.execute(READ, {"id": gid(typename, "APITURE", key)})
            assert body == {"data": {"node": None}}, (typename, key)
        for provider in ("CONNECTFI", "AUCO", "MAMBU"):
            body = await gateway.execute(READ, {"id": gid("Document", provider, key)})
            assert body == {"data": {"node": None}}, (provider, key)
        assert gateway.upstream_calls() == 0


async def test_an_enrollment_is_never_answered_as_an_application() -> None:
    async with serve() as gateway:
        enrollment = next(iter(gateway.apiture.store.enrollments))
        query = "query R($id: ID!) { application(id: $id) { id providerId } }"
        for key in (
            f"../enrollments/{enrollment}",
            f"x/../../enrollments/{enrollment}",
        ):
            body = await gateway.execute(
                query, {"id": gid("Application", "APITURE", key)}
            )
            assert body == {"data": {"application": None}}
        assert gateway.apiture.control.requests == []


GENERATE = """
mutation {
  generateDocument(input: {workflow: "PERSONAL", name: "passport",
                           extension: "jpg", type: "passport"}) {
    __typename
    ... on Document { id owner { kind id } }
  }
}"""

UPLOAD = """
mutation Up($file: Upload!, $id: ID!) {
  uploadDocument(file: $file, input: {documentId: $id}) {
    __typename ... on Document { id } ... on UserError { code }
  }
}"""


async def _upload(gateway: Gateway, document_id: str, who: dict[str, str]) -> str:
    files = {"file": File("passport.jpg", "image/jpeg", jpeg(2048))}
    response = await post(gateway.client, UPLOAD, {"id": document_id}, files, who)
    body = response.json()
    assert "errors" not in body, body
    typename: str = body["data"]["uploadDocument"]["__typename"]
    return typename


def _uploads(gateway: Gateway) -> int:
    return sum(
        1
        for r in gateway.connectfi.control.requests
        if r.path.startswith("/akepa/document/upload/")
    )


async def test_an_applicant_cannot_upload_into_a_document_staff_generated(
    two: Two,
) -> None:
    made = await two.gateway.data(GENERATE, {}, staff())
    document = made["generateDocument"]
    assert document["owner"] is None

    assert await _upload(two.gateway, document["id"], two.victim) == "NotFound"
    assert _uploads(two.gateway) == 0
    assert await _upload(two.gateway, document["id"], staff()) == "Document"
    assert _uploads(two.gateway) == 1


async def test_an_applicant_uploads_only_into_their_own_customers_document(
    two: Two,
) -> None:
    made = await two.gateway.data(GENERATE, {}, two.attacker)
    document = made["generateDocument"]
    assert document["owner"] == {
        "kind": "CONNECTFI_CUSTOMER",
        "id": JOURNEY_CUSTOMER_ID,
    }

    assert await _upload(two.gateway, document["id"], two.victim) == "NotFound"
    assert _uploads(two.gateway) == 0
    assert await _upload(two.gateway, document["id"], two.attacker) == "Document"
    assert _uploads(two.gateway) == 1


async def test_a_forged_document_id_uploads_nothing(two: Two) -> None:
    made = await two.gateway.data(GENERATE, {}, two.attacker)
    key = base64.urlsafe_b64decode(made["generateDocument"]["id"] + "==").decode()
    own = key.split(":", 2)[2]
    for forged in (f"{own}/../x", f"{own}?x=1", f"{own}#", f"../{own}"):
        document_id = gid("Document", "CONNECTFI", forged)
        assert await _upload(two.gateway, document_id, two.attacker) == "NotFound"
        assert await _upload(two.gateway, document_id, staff()) == "NotFound"
    assert _uploads(two.gateway) == 0


DOCUMENTS = """
query D($kind: DocumentOwnerKind!, $id: String!) {
  documents(owner: {kind: $kind, id: $id}, first: 5) { edges { node { id } } }
}"""


@pytest.mark.parametrize("kind", ["MAMBU_CLIENT", "MAMBU_USER", "APITURE_APPLICATION"])
@pytest.mark.parametrize(
    "owner", ["../documents", "..", "a?limit=1000", "a#b", "a%2Fb", "a/b", ""]
)
async def test_a_malformed_owner_id_lists_nothing_and_calls_no_one(
    kind: str, owner: str
) -> None:
    async with serve() as gateway:
        body = await gateway.execute(DOCUMENTS, {"kind": kind, "id": owner})
        assert body == {"data": {"documents": {"edges": []}}}
        assert gateway.upstream_calls() == 0
