"""docs/frontend.md, run as written: its code generator set-up, its Apollo Client 4
and urql clients, against live gateways (guide.mjs does the running)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.frontend.conftest import run_node

# graphql-tools rebuilds custom scalars from an introspection result without their
# descriptions, so the URL's types lack these two doc comments; nothing else differs.
SCALAR_COMMENTS = {
    "-   /** Date with time (isoformat) */",
    "-   /** Represents a file upload. */",
}


@pytest.fixture(scope="module")
def ran(node: str, served: str, served_allowlist: str) -> dict[str, Any]:
    result: dict[str, Any] = run_node(node, "guide.mjs", served, served_allowlist)
    return result


def requests(sent: list[dict[str, Any]]) -> list[tuple[str, bool, bool, int]]:
    """(method, query text sent, hash sent, status) of each request."""
    return [(r["method"], r["hasQuery"], r["hashed"], r["status"]) for r in sent]


def test_codegen_gives_the_same_types_from_the_url_and_from_the_sdl(
    ran: dict[str, Any],
) -> None:
    assert ran["files"] == ["codegen.yml", "src/apollo.mjs", "src/urql.mjs"]
    assert set(ran["codegen"]["differences"]) <= SCALAR_COMMENTS
    possible = ran["codegen"]["possibleTypes"]
    assert "VersionConflict" in possible["UserError"]
    assert "VersionConflict" in possible["ApplicationResult"]
    assert sorted(possible["Node"]) == ["Application", "Document", "Enrollment"]


def test_apollo_pages_through_its_cache_without_duplicates(
    ran: dict[str, Any],
) -> None:
    paging = ran["apollo"]["paging"]
    assert len(paging["first"]) == len(paging["second"]) == 3
    assert paging["cached"] == paging["first"] + paging["second"]
    assert len(set(paging["cached"])) == 6
    # First sight of the query: hash alone as GET, asked for the text, sent once.
    assert requests(paging["requests"]) == [
        ("GET", False, True, 400),
        ("POST", True, True, 200),
        ("GET", False, True, 200),
    ]


def test_apollo_sends_known_queries_as_a_hash_over_get(ran: dict[str, Any]) -> None:
    assert requests(ran["apollo"]["apqGet"]) == [("GET", False, True, 200)] * 2


def test_apollo_reads_a_detail(ran: dict[str, Any]) -> None:
    detail = ran["apollo"]["detail"]
    assert detail["__typename"] == "Application"
    assert detail["provider"] == "APITURE"
    assert detail["version"]


def test_apollo_keeps_code_and_message_of_a_typed_error(ran: dict[str, Any]) -> None:
    for result in (ran["apollo"]["action"], ran["apollo"]["actionAgain"]):
        assert result["__typename"] == "VersionConflict"
        assert result["code"] == "VERSION_CONFLICT"
        assert result["message"]
    # The control: without possibleTypes the cache drops them (issue 16, item 2).
    bare = ran["apollo"]["actionWithoutPossibleTypes"]
    assert bare["__typename"] == "VersionConflict"
    assert "code" not in bare
    assert "message" not in bare
    # Mutations: persisted over POST; the second sends the hash alone.
    assert requests(ran["apollo"]["apqPost"]) == [
        ("POST", False, True, 400),
        ("POST", True, True, 200),
        ("POST", False, True, 200),
    ]


def test_apollo_uploads_in_one_multipart_request(ran: dict[str, Any]) -> None:
    upload = ran["apollo"]["upload"]
    assert upload["__typename"] == "Document"
    assert (upload["provider"], upload["name"]) == ("MAMBU", "passport")
    assert upload["size"] == 33
    # One multipart request with the text: no hash first, so the file goes once.
    assert [(r["multipart"], r["hasQuery"], r["hashed"], r["status"]) for r in (
        ran["apollo"]["uploadRequests"]
    )] == [(True, True, False, 200)]  # fmt: skip


def test_urql_pages_reads_acts_and_uploads(ran: dict[str, Any]) -> None:
    urql = ran["urql"]
    assert len(urql["paging"]["first"]) == len(urql["paging"]["second"]) == 3
    assert not set(urql["paging"]["first"]) & set(urql["paging"]["second"])
    # urql's default: queries as GET, here with the hash alone (already known).
    assert {r["method"] for r in urql["paging"]["requests"]} == {"GET"}
    assert all(r["status"] == 200 for r in urql["paging"]["requests"])
    assert urql["detail"]["__typename"] == "Application"
    assert urql["action"]["code"] == "VERSION_CONFLICT"
    assert urql["action"]["message"]
    assert urql["upload"]["__typename"] == "Document"
    assert [r["multipart"] for r in urql["uploadRequests"]] == [True]


def test_the_allowlist_runs_the_operations_as_the_clients_send_them(
    ran: dict[str, Any],
) -> None:
    allowlist = ran["allowlist"]
    # urql first: its text (with __typename added) matches the manifest, and
    # from then on its hash alone is enough, for Apollo too (same printed text).
    assert len(allowlist["urqlListed"]) == 2
    assert requests(allowlist["urqlRequests"]) == [
        ("GET", False, True, 400),
        ("GET", True, True, 200),
    ]
    assert allowlist["apolloListed"] == allowlist["urqlListed"]
    assert requests(allowlist["apolloRequests"]) == [("GET", False, True, 200)] * 2
    assert allowlist["apolloUnlisted"] == ["FORBIDDEN"]
