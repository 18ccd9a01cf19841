"""An applicant's connections count and search their own records only.

Two applicants with records of their own (applications, enrollments,
documents): every ``totalCount``, page and ``search`` of one answers exactly as
if the other's records did not exist, so neither the count nor the search can
be used as an oracle on other people's names. Staff still see everyone's.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.model import Provider
from schema import ids
from tests.conftest import Gateway, serve
from tests.security.tokens import applicant, secured_settings, staff


@dataclass
class Person:
    contact: str  # contact id
    surname: str
    applications: list[str]
    enrollments: list[str]

    def headers(self) -> dict[str, str]:
        return applicant(apiture_contact=f"/contacts/contacts/{self.contact}")


@dataclass
class World:
    gateway: Gateway
    alice: Person
    bob: Person
    enrollments: int  # in the whole sandbox
    applications: int


def _as(person: Person, key: str, template: dict[str, Any]) -> dict[str, Any]:
    """A copy of an Apiture record, ``key``, whose every applicant is ``person``."""
    data = copy.deepcopy(template)
    data["_id"] = key
    surname = person.surname
    people = [data["applicant"]] if data.get("applicant") else []
    for one in [*people, *(data.get("applicants") or [])]:
        contact = one["contact"]
        contact["_id"] = person.contact
        contact["lastName"] = surname
        contact["_links"]["self"]["href"] = f"/contacts/contacts/{person.contact}"
    data["applicantName"] = f"{data['applicants'][0]['contact']['firstName']} {surname}"
    return data


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with serve(secured_settings()) as gateway:
        store = gateway.apiture.store
        alice = Person("alice-contact-0001", "Quixotic", [], [])
        bob = Person("bob-contact-0002", "Zebulon", [], [])
        apps, enrollments = store.application_ids, store.enrollment_ids
        # Alice: one application, one enrollment; Bob: two of each.
        for person, count in ((alice, 1), (bob, 2)):
            for i in range(count):
                key = f"{person.contact}-{i}"
                app = _as(person, key, store.application(apps[i]))
                # Documents: one on Alice's application, three on Bob's first.
                app["documents"] = [
                    {
                        "uri": f"/documents/{key}-{n}.pdf",
                        "contentType": "application/pdf",
                    }
                    for n in range(3 if person is bob else 1)
                    if i == 0
                ]
                person.applications.append(store.add_application(app).id)
                found = _as(person, key, store.enrollment(enrollments[i]))
                person.enrollments.append(store.add_enrollment(found).id)
        yield World(
            gateway,
            alice,
            bob,
            enrollments=len(store.enrollment_ids),
            applications=len(store.application_ids),
        )


ENROLLMENTS = """
query E($filter: EnrollmentFilter, $first: Int, $after: String) {
  enrollments(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { node { providerId } }
    pageInfo { hasNextPage endCursor }
  }
}"""

APPLICATIONS = """
query A($filter: ApplicationFilter, $first: Int, $after: String) {
  applications(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { node { providerId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def _page(
    world: World,
    query: str,
    who: dict[str, str],
    search: str | None = None,
    first: int = 20,
    after: str | None = None,
) -> dict[str, Any]:
    variables: dict[str, Any] = {"first": first, "after": after}
    if search is not None:
        variables["filter"] = {"search": search}
    data = await world.gateway.data(query, variables, who)
    page: dict[str, Any] = next(iter(data.values()))
    return page


def _ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["providerId"] for edge in page["edges"]]


@pytest.mark.parametrize(
    ("query", "records"),
    [(ENROLLMENTS, "enrollments"), (APPLICATIONS, "applications")],
)
async def test_an_applicant_counts_only_their_own(
    world: World, query: str, records: str
) -> None:
    for person in (world.alice, world.bob):
        own = getattr(person, records)
        page = await _page(world, query, person.headers())
        assert page["totalCount"] == len(own)
        assert sorted(_ids(page)) == sorted(own)
        assert page["pageInfo"]["hasNextPage"] is False
    everyone = await _page(world, query, staff(), first=100)
    assert everyone["totalCount"] == getattr(world, records)


@pytest.mark.parametrize(
    ("query", "records"),
    [(ENROLLMENTS, "enrollments"), (APPLICATIONS, "applications")],
)
async def test_searching_someone_elses_name_reads_as_no_match(
    world: World, query: str, records: str
) -> None:
    alice, bob = world.alice, world.bob
    nonsense = await _page(world, query, alice.headers(), search="zzqqxx")
    assert nonsense["totalCount"] == 0
    # Bob's surname, and a surname of the seed data, answer Alice like nonsense.
    for name in (bob.surname, "Tanaka"):
        probe = await _page(world, query, alice.headers(), search=name)
        assert probe == nonsense, name
    own = await _page(world, query, alice.headers(), search=alice.surname)
    assert own["totalCount"] == 1
    assert _ids(own) == getattr(alice, records)
    # Staff search everyone's.
    theirs = await _page(world, query, staff(), search=bob.surname)
    assert sorted(_ids(theirs)) == sorted(getattr(bob, records))


async def test_an_applicants_enrollments_page_through_their_own(
    world: World,
) -> None:
    bob = world.bob.headers()
    first = await _page(world, ENROLLMENTS, bob, first=1)
    assert first["totalCount"] == 2
    assert first["pageInfo"]["hasNextPage"] is True
    second = await _page(
        world, ENROLLMENTS, bob, first=1, after=first["pageInfo"]["endCursor"]
    )
    assert second["pageInfo"]["hasNextPage"] is False
    assert sorted(_ids(first) + _ids(second)) == sorted(world.bob.enrollments)


async def test_an_applicant_without_an_apiture_contact_asks_apiture_nothing(
    world: World,
) -> None:
    world.gateway.forget_requests()
    page = await _page(world, ENROLLMENTS, applicant(connectfi_customer_id="x"))
    assert page == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    assert world.gateway.upstream_calls() == 0


DOCUMENTS = """
query D($owner: DocumentOwnerInput!) {
  documents(owner: $owner) { totalCount edges { node { providerId } } }
}"""


async def test_an_applicant_counts_only_their_own_documents(world: World) -> None:
    def owner(key: str) -> dict[str, Any]:
        return {"owner": {"kind": "APITURE_APPLICATION", "id": key}}

    alice = world.alice.headers()
    mine = await world.gateway.data(
        DOCUMENTS, owner(world.alice.applications[0]), alice
    )
    assert mine["documents"]["totalCount"] == 1
    theirs = await world.gateway.data(
        DOCUMENTS, owner(world.bob.applications[0]), alice
    )
    missing = await world.gateway.data(DOCUMENTS, owner("no-such-application"), alice)
    assert theirs == missing == {"documents": {"totalCount": 0, "edges": []}}
    seen = await world.gateway.data(
        DOCUMENTS, owner(world.bob.applications[0]), staff()
    )
    assert seen["documents"]["totalCount"] == 3


async def test_an_applicant_reads_their_enrollment_by_the_listed_id(
    world: World,
) -> None:
    page = await _page(world, ENROLLMENTS, world.alice.headers())
    (key,) = _ids(page)
    gid = ids.encode("Enrollment", Provider.APITURE, key)
    data = await world.gateway.data(
        "query($id: ID!) { enrollment(id: $id) { providerId } }",
        {"id": gid},
        world.alice.headers(),
    )
    assert data["enrollment"] == {"providerId": key}
