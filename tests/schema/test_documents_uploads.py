"""Uploads to Mambu through GraphQL multipart requests: end to end (then listed, then
deleted), refused over Mambu's 15 MB before any call, refused over the gateway's own
limit with a 413."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.settings import Settings
from tests.conftest import Gateway
from tests.schema import multipart
from tests.schema.multipart import File

UPLOAD = """
mutation Upload($file: Upload!, $input: UploadDocumentInput!) {
  uploadDocument(file: $file, input: $input) {
    __typename
    ... on Document { id provider providerId name kind fileExtension contentType
                      size status owner { kind id } }
    ... on UploadTooLarge { limit }
    ... on ValidationFailed { fields { path message } }
    ... on UserError { code message }
  }
}"""

LIST = """
query Documents($owner: DocumentOwnerInput!) {
  documents(owner: $owner, first: 100) {
    edges { node { id providerId name size } }
  }
}"""

DELETE = """
mutation Delete($id: ID!) {
  deleteDocument(id: $id) {
    __typename
    ... on Deleted { id }
    ... on UserError { code message }
  }
}"""

CLIENT = {"kind": "MAMBU_CLIENT", "id": "cstap_demo0001"}
MiB = 1024 * 1024


async def test_a_browser_style_multipart_upload_lands_on_mambu_and_can_be_deleted(
    gateway: Gateway,
) -> None:
    content = multipart.pdf(300_000)
    request = multipart.build(
        UPLOAD,
        {"input": {"owner": CLIENT, "name": "passport.pdf"}},
        {"file": File("scan-0001.pdf", "application/pdf", content)},
    )
    # The spec's wire format, as apollo-upload-client writes it.
    wire = request.body()
    operations = json.loads(wire.split(b"\r\n")[3])
    assert operations["variables"] == {
        "file": None,
        "input": {"owner": CLIENT, "name": "passport.pdf"},
    }
    assert b'name="map"\r\n\r\n{"0": ["variables.file"]}\r\n' in wire
    assert b'name="0"; filename="scan-0001.pdf"\r\nContent-Type: application/pdf' in (
        wire
    )

    response = await gateway.client.post(
        "/graphql", content=request.stream(), headers=request.headers
    )

    assert response.status_code == 200
    document = response.json()["data"]["uploadDocument"]
    assert document["__typename"] == "Document", document
    assert document["provider"] == "MAMBU"
    assert (document["name"], document["size"]) == ("passport.pdf", len(content))
    assert (document["fileExtension"], document["contentType"]) == (
        "pdf",
        "application/pdf",
    )
    assert document["owner"] == CLIENT
    stored = gateway.mambu.store.documents[document["providerId"]]
    assert stored.content == content
    assert (stored.holder.type, stored.holder.id) == ("CLIENT", "cstap_demo0001")
    (call,) = gateway.mambu.control.requests
    assert (call.method, call.path) == ("POST", "/api/documents")
    assert call.headers["authorization"].startswith("Basic ")
    assert int(call.headers["content-length"]) == len(call.body)
    body = json.loads(call.body)
    assert body["document"] == {
        "documentHolderKey": "cstap_demo0001",
        "documentHolderType": "CLIENT",
        "name": "passport.pdf",
        "type": "pdf",
    }
    assert base64.b64decode(body["documentContent"]) == content

    listed = await gateway.data(LIST, {"owner": CLIENT})
    nodes = {e["node"]["id"]: e["node"] for e in listed["documents"]["edges"]}
    assert nodes[document["id"]]["size"] == len(content)
    assert len(nodes) == 31  # the demo's 30 and this one

    gateway.forget_requests()
    deleted = await gateway.data(DELETE, {"id": document["id"]})

    assert deleted["deleteDocument"] == {"__typename": "Deleted", "id": document["id"]}
    assert document["providerId"] not in gateway.mambu.store.documents
    assert (
        gateway.mambu.control.calls(
            "DELETE", f"/api/documents/{document['providerId']}"
        )
        == 1
    )
    listed = await gateway.data(LIST, {"owner": CLIENT})
    ids = {e["node"]["id"] for e in listed["documents"]["edges"]}
    assert document["id"] not in ids and len(ids) == 30


async def test_the_files_own_name_is_used_when_none_is_given(gateway: Gateway) -> None:
    data = await multipart.upload(
        gateway.client,
        UPLOAD,
        {"input": {"owner": {"kind": "MAMBU_BRANCH", "id": "b123"}}},
        {"file": File("branch-hours.txt", "text/plain", b"Mon-Fri 9-17\n")},
    )
    assert data["uploadDocument"]["name"] == "branch-hours.txt"
    (call,) = gateway.mambu.control.requests
    assert json.loads(call.body)["document"]["documentHolderType"] == "BRANCH"


async def test_20_mb_is_refused_as_over_mambus_limit_before_any_call(
    gateway: Gateway,
) -> None:
    data = await multipart.upload(
        gateway.client,
        UPLOAD,
        {"input": {"owner": CLIENT, "name": "statement.pdf"}},
        {"file": File("statement.pdf", "application/pdf", multipart.pdf(20 * MiB))},
    )

    result = data["uploadDocument"]
    assert result["__typename"] == "UploadTooLarge"
    assert result["code"] == "UPLOAD_TOO_LARGE"
    assert result["limit"] == 15 * MiB
    assert gateway.mambu.control.requests == []
    assert gateway.upstream_calls() == 0


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("pass/port.pdf", ["input", "name"]),
        ("passport.exe", ["input", "name"]),
        ("passport.pdf.zip", ["input", "name"]),
    ],
)
async def test_names_mambu_would_refuse_are_refused_before_any_call(
    gateway: Gateway, name: str, path: list[str]
) -> None:
    data = await multipart.upload(
        gateway.client,
        UPLOAD,
        {"input": {"owner": CLIENT, "name": name}},
        {"file": File("scan.pdf", "application/pdf", multipart.pdf(2048))},
    )

    result = data["uploadDocument"]
    assert result["__typename"] == "ValidationFailed", result
    assert path in [f["path"] for f in result["fields"]]
    assert gateway.upstream_calls() == 0


async def test_an_owner_that_takes_no_attachments_is_refused(gateway: Gateway) -> None:
    data = await multipart.upload(
        gateway.client,
        UPLOAD,
        {"input": {"owner": {"kind": "APITURE_APPLICATION", "id": "x"}}},
        {"file": File("scan.pdf", "application/pdf", multipart.pdf(2048))},
    )
    result = data["uploadDocument"]
    assert result["__typename"] == "ValidationFailed"
    assert [f["path"] for f in result["fields"]] == [["input", "owner", "kind"]]
    assert gateway.upstream_calls() == 0


async def test_a_variable_that_is_no_file_part_is_refused_at_file(
    gateway: Gateway,
) -> None:
    data = await gateway.data(
        UPLOAD, {"file": "not a file", "input": {"owner": CLIENT, "name": "a.pdf"}}
    )
    result = data["uploadDocument"]
    assert result["__typename"] == "ValidationFailed"
    assert [f["path"] for f in result["fields"]] == [["file"]]
    assert gateway.upstream_calls() == 0


class TestTheGatewaysOwnLimit:
    @pytest.fixture
    def settings(self) -> Settings:
        return Settings(max_upload_bytes=MiB)

    async def test_a_request_over_it_is_a_413_before_any_resolver(
        self, gateway: Gateway
    ) -> None:
        response = await multipart.post(
            gateway.client,
            UPLOAD,
            {"input": {"owner": CLIENT, "name": "big.pdf"}},
            {"file": File("big.pdf", "application/pdf", multipart.pdf(2 * MiB))},
        )

        assert response.status_code == 413
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "UPLOAD_TOO_LARGE"
        assert gateway.upstream_calls() == 0

    async def test_a_request_without_a_length_is_cut_off_as_it_streams(
        self, gateway: Gateway
    ) -> None:
        request = multipart.build(
            UPLOAD,
            {"input": {"owner": CLIENT, "name": "big.pdf"}},
            {"file": File("big.pdf", "application/pdf", multipart.pdf(2 * MiB))},
        )
        headers = {k: v for k, v in request.headers.items() if k != "Content-Length"}

        response = await gateway.client.post(
            "/graphql", content=request.stream(), headers=headers
        )

        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == (
            "UPLOAD_TOO_LARGE"
        )
        assert gateway.upstream_calls() == 0

    async def test_a_file_under_it_still_goes_through(self, gateway: Gateway) -> None:
        data = await multipart.upload(
            gateway.client,
            UPLOAD,
            {"input": {"owner": CLIENT, "name": "small.pdf"}},
            {"file": File("small.pdf", "application/pdf", multipart.pdf(MiB - 1))},
        )
        assert data["uploadDocument"]["size"] == MiB - 1
