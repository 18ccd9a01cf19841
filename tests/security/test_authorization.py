"""Role, operation and ownership: who may see and do what.

An applicant is bound to their own records by the token's claims; someone else's
record reads exactly as one that does not exist.
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
from tests.schema.multipart import File, pdf, post
from tests.security.tokens import applicant, bearer, secured_settings, staff, token

OWN_CLIENT, OTHER_CLIENT = "cstap_demo0001", "cstap_demo0002"


@dataclass
class World:
    gateway: Gateway
    contact: str  # the applicant's Apiture contact URI
    own_running: str
    own_blocked: str
    other: str
    own_connectfi: str
    other_connectfi: str

    def me(self) -> dict[str, str]:
        return applicant(
            apiture_contact=self.contact,
            connectfi_customer_id=JOURNEY_CUSTOMER_ID,
            mambu_client_key=OWN_CLIENT,
        )


def _contact(app: dict[str, Any]) -> str | None:
    for person in app.get("applicants") or []:
        return str(person["contact"]["_links"]["self"]["href"])
    return None


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with serve(secured_settings()) as gateway:
        store = gateway.apiture.store
        by_contact: dict[str, list[str]] = {}
        for key in store.application_ids:
            contact = _contact(store.application(key))
            if contact:
                by_contact.setdefault(contact, []).append(key)
        contact, own_running = next(
            (c, k)
            for c, keys in by_contact.items()
            for k in keys
            if store.application(k)["state"] == "running"
        )
        # A second application of the same applicant, blocked.
        twin = store.application(own_running)
        twin["_id"] = "0000aaaa-own-blocked-application"
        own_blocked = store.add_application(twin).id
        store.set_application_state(own_blocked, "blocked")
        mine = [*by_contact[contact], own_blocked]
        other = next(k for k in store.application_ids if k not in mine)
        cf = gateway.connectfi.store
        yield World(
            gateway=gateway,
            contact=contact,
            own_running=own_running,
            own_blocked=own_blocked,
            other=other,
            own_connectfi=ids.encode(
                "Application",
                Provider.CONNECTFI,
                f"{JOURNEY_CUSTOMER_ID}:{cf.application_ids(JOURNEY_CUSTOMER_ID)[0]}",
            ),
            other_connectfi=ids.encode(
                "Application",
                Provider.CONNECTFI,
                f"{SEED_CUSTOMER_ID}:{cf.application_ids(SEED_CUSTOMER_ID)[0]}",
            ),
        )


def apiture(key: str) -> str:
    return ids.encode("Application", Provider.APITURE, key)


READ = "query R($id: ID!) { application(id: $id) { id providerId } }"


@pytest.mark.parametrize(
    ("who", "whose", "visible"),
    [
        ("staff", "own", True),
        ("staff", "other", True),
        ("applicant", "own", True),
        ("applicant", "other", False),
        ("nobody", "own", False),
    ],
)
@pytest.mark.parametrize("provider", ["apiture", "connectfi"])
async def test_reading_an_application(
    world: World, who: str, whose: str, visible: bool, provider: str
) -> None:
    record = {
        ("apiture", "own"): apiture(world.own_running),
        ("apiture", "other"): apiture(world.other),
        ("connectfi", "own"): world.own_connectfi,
        ("connectfi", "other"): world.other_connectfi,
    }[provider, whose]
    headers = {
        "staff": staff(),
        "applicant": world.me(),
        "nobody": bearer(token("x", roles=[])),
    }[who]
    body = await world.gateway.execute(READ, {"id": record}, headers)
    assert "errors" not in body
    found = body["data"]["application"]
    assert (found is not None) == visible
    if not visible:
        # Exactly as for an id that does not exist.
        missing = await world.gateway.execute(
            READ, {"id": apiture("no-such-application")}, headers
        )
        assert missing == body


LIST = """
query L($filter: ApplicationFilter) {
  applications(filter: $filter, first: 100) { edges { node { provider providerId } } }
}"""


async def test_an_applicant_lists_only_their_own(world: World) -> None:
    data = await world.gateway.data(LIST, {}, world.me())
    edges = data["applications"]["edges"]
    assert edges
    cf = world.gateway.connectfi.store.application_ids(JOURNEY_CUSTOMER_ID)
    for edge in edges:
        node = edge["node"]
        if node["provider"] == "CONNECTFI":
            assert node["providerId"] in cf
        else:
            app = world.gateway.apiture.store.application(node["providerId"])
            assert _contact(app) == world.contact
    others = await world.gateway.data(
        LIST, {"filter": {"customerId": SEED_CUSTOMER_ID}}, world.me()
    )
    assert others["applications"]["edges"] == []


DOCS = """
query D($id: String!) {
  documents(owner: {kind: MAMBU_CLIENT, id: $id}, first: 5) { edges { node { id } } }
}"""


@pytest.mark.parametrize(("client", "count"), [(OWN_CLIENT, 5), (OTHER_CLIENT, 0)])
async def test_an_applicant_lists_only_their_own_documents(
    world: World, client: str, count: int
) -> None:
    data = await world.gateway.data(DOCS, {"id": client}, world.me())
    assert len(data["documents"]["edges"]) == count


def action(name: str) -> str:
    return f"""
      mutation M($id: ID!) {{
        {name}(id: $id) {{
          __typename ... on UserError {{ code }}
        }}
      }}"""


@pytest.mark.parametrize(
    ("who", "mutation", "whose", "expected"),
    [
        ("staff", "approveApplication", "own", "Application"),
        ("applicant", "approveApplication", "own", "Forbidden"),
        ("applicant", "rejectApplication", "own", "Forbidden"),
        ("applicant", "expireApplication", "own", "Forbidden"),
        ("applicant", "startApplication", "blocked", "Forbidden"),
        ("applicant", "deleteApplication", "own", "Forbidden"),
        ("applicant", "cancelApplication", "own", "Application"),
        ("applicant", "cancelApplication", "other", "NotFound"),
        ("applicant", "cancelApplication", "blocked", "Forbidden"),
        ("staff", "cancelApplication", "blocked", "Application"),
        ("nobody", "cancelApplication", "own", "Forbidden"),
    ],
)
async def test_state_actions(
    world: World, who: str, mutation: str, whose: str, expected: str
) -> None:
    key = {
        "own": world.own_running,
        "other": world.other,
        "blocked": world.own_blocked,
    }[whose]
    if key is None:
        pytest.skip("no blocked application of this applicant in the demo data")
    headers = {
        "staff": staff(),
        "applicant": world.me(),
        "nobody": bearer(token("x", roles=[])),
    }[who]
    data = await world.gateway.data(action(mutation), {"id": apiture(key)}, headers)
    assert data[mutation]["__typename"] == expected
    posts = world.gateway.apiture.control.calls("POST")
    assert posts == (1 if expected == "Application" else 0)


UPDATE = """
mutation U($id: ID!) {
  updateApplication(id: $id, input: {accountName: "Mine"}) { __typename }
}"""


@pytest.mark.parametrize(
    ("whose", "expected"), [("own", "Application"), ("other", "NotFound")]
)
async def test_an_applicant_edits_only_their_own(
    world: World, whose: str, expected: str
) -> None:
    key = world.own_running if whose == "own" else world.other
    data = await world.gateway.data(UPDATE, {"id": apiture(key)}, world.me())
    assert data["updateApplication"]["__typename"] == expected


UPLOAD = """
mutation Up($file: Upload!, $client: String!) {
  uploadDocument(file: $file, input: {owner: {kind: MAMBU_CLIENT, id: $client}}) {
    __typename
  }
}"""


@pytest.mark.parametrize(
    ("client", "expected"), [(OWN_CLIENT, "Document"), (OTHER_CLIENT, "NotFound")]
)
async def test_an_applicant_uploads_only_to_their_own_record(
    world: World, client: str, expected: str
) -> None:
    files = {"file": File("id.pdf", "application/pdf", pdf(2000))}
    response = await post(
        world.gateway.client, UPLOAD, {"client": client}, files, world.me()
    )
    assert response.json()["data"]["uploadDocument"]["__typename"] == expected
    assert world.gateway.mambu.control.calls("POST") == (expected == "Document")


@pytest.mark.parametrize(
    "query",
    [
        'mutation { deleteDocument(id: "x") { __typename } }',
        'mutation { cancelSignature(id: "x") { __typename } }',
        'mutation { deleteEnrollment(id: "x") { __typename } }',
    ],
)
async def test_staff_only_mutations_are_forbidden_to_applicants(
    world: World, query: str
) -> None:
    data = await world.gateway.data(query, {}, world.me())
    assert next(iter(data.values()))["__typename"] == "Forbidden"
    assert world.gateway.upstream_calls() == 0


async def test_an_applicant_may_generate_a_connectfi_document(world: World) -> None:
    query = """
      mutation {
        generateDocument(input: {workflow: "PERSONAL", name: "passport",
                                 extension: "jpg", type: "passport"}) { __typename }
      }"""
    data = await world.gateway.data(query, {}, world.me())
    assert data["generateDocument"]["__typename"] == "Document"
