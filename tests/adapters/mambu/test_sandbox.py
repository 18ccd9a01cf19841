"""The Mambu sandbox alone, with raw httpx: the seed's examples and its rules."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.mambu.sandbox import MAX_UPLOAD_BYTES, create_app
from adapters.mambu.sandbox.store import DEMO_CLIENT_IDS
from adapters.sandbox_kit import Controlled

# These tests send requests outside the provider's contract on purpose, to see
# the sandbox refuse them (tests/contracts/plugin.py).
pytestmark = pytest.mark.sends_invalid_requests

# The seed's sample list response (its stray `"` after lastModifiedDate removed).
SEED_LIST = json.loads("""[
    {
    "encodedKey":"8a13732d44cd56800144cf86625d01e7",
    "id":59,
    "creationDate":"2014-03-17T10:11:34+0000",
    "lastModifiedDate":"2014-03-17T10:11:34+0000",
    "documentHolderKey":"8a13732d44bde36e0144bfbf7e41009b",
    "documentHolderType":"CLIENT",
    "name":"post_document_1",
    "type":"txt",
    "fileSize":115,
    "originalFilename":"post_document_1",
    "location":"8a13732d44cd56800144cf86625d01e7",
    "createdByUserKey":"8a33ae49441c4fe101441c5fe42f0005",
    "userName":"Max Power"
    },
    {
    "encodedKey":"8a13732d44c07fb80144c0aff4e2009d",
    "id":41,
    "creationDate":"2014-03-14T13:02:40+0000",
    "lastModifiedDate":"2014-03-14T13:02:40+0000",
    "documentHolderKey":"8a13732d44bde36e0144bfbf7e41009b",
    "documentHolderType":"CLIENT",
    "name":"internal_demo",
    "type":"txt",
    "fileSize":131,
    "originalFilename":"internal_demo",
    "location":"8a13732d44c07fb80144c0aff4e2009d",
    "createdByUserKey":"8a33ae49441c4fe101441c5fe42f0005",
    "userName":"Max Power"
    }
]""")

# The seed's sample POST response: the fields an upload answers with.
SEED_POST_RESPONSE_FIELDS = [
    "encodedKey",
    "id",
    "creationDate",
    "lastModifiedDate",
    "documentHolderKey",
    "documentHolderType",
    "name",
    "type",
    "fileSize",
    "originalFilename",
    "location",
    "createdByUserKey",
]

# The seed's GET examples, one per holder collection.
SEED_LIST_EXAMPLES = [
    ("/api/clients/1/documents", "CLIENT"),
    ("/api/clients/8a13732d44cd56800144cf0311550077/documents", "CLIENT"),
    ("/api/groups/2/documents", "GROUP"),
    ("/api/loans/3/documents", "LOAN_ACCOUNT"),
    ("/api/savings/2344/documents", "DEPOSIT_ACCOUNT"),
    ("/api/loanProducts/LDP/documents", "LOAN_PRODUCT"),
    ("/api/savingsProducts/SDP/documents", "SAVINGS_PRODUCT"),
    ("/api/branches/b123/documents", "BRANCH"),
    ("/api/centres/c123/documents", "CENTRE"),
    ("/api/users/demo/documents", "USER"),
]


@pytest.fixture
async def mambu(app: Controlled) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://mambu.test",
        auth=("sandbox", "sandbox"),
    ) as client:
        yield client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def upload_body(
    name: str = "client_information",
    type_: str = "doc",
    content: str | None = None,
    *,
    holder_key: str = "40288a0c3e3cfb4e013e3d00bb9c00df",
    holder_type: str = "CLIENT",
) -> dict[str, object]:
    return {
        "document": {
            "documentHolderKey": holder_key,
            "documentHolderType": holder_type,
            "name": name,
            "type": type_,
        },
        "documentContent": b64(b"hello mambu") if content is None else content,
    }


# listing ------------------------------------------------------------------------------


async def test_the_seeds_sample_list_is_served_verbatim(
    mambu: httpx.AsyncClient,
) -> None:
    for path in (
        "/api/clients/1/documents?offset=0&limit=5",
        "/api/clients/1/documents",
    ):
        response = await mambu.get(path)
        assert response.status_code == 200
        assert response.json() == SEED_LIST


@pytest.mark.parametrize(("path", "holder_type"), SEED_LIST_EXAMPLES)
async def test_every_seed_list_example_answers_with_its_holders_documents(
    mambu: httpx.AsyncClient, path: str, holder_type: str
) -> None:
    for variant in (path, path + "/"):  # the seed's URL list ends with a slash
        response = await mambu.get(variant)
        assert response.status_code == 200
        documents = response.json()
        assert documents
        assert {d["documentHolderType"] for d in documents} == {holder_type}
        assert len({d["documentHolderKey"] for d in documents}) == 1


async def test_a_holder_is_found_by_id_or_by_encoded_key(
    mambu: httpx.AsyncClient,
) -> None:
    by_id = (await mambu.get("/api/clients/2/documents")).json()
    holder_key = by_id[0]["documentHolderKey"]
    assert holder_key == "8a13732d44cd56800144cf0311550077"
    by_key = (await mambu.get(f"/api/clients/{holder_key}/documents")).json()
    assert by_key == by_id


async def test_connectfi_customer_ids_are_mambu_client_ids(
    mambu: httpx.AsyncClient,
) -> None:
    assert "cstap_5mBHiIx3QbkvEpjGfKsI9k" in DEMO_CLIENT_IDS
    for client_id in DEMO_CLIENT_IDS:
        response = await mambu.get(f"/api/clients/{client_id}/documents")
        assert response.status_code == 200
    empty = await mambu.get("/api/clients/cstap_demo0012/documents")
    assert empty.json() == []


@pytest.mark.parametrize(
    ("path", "total"),
    [
        ("/api/clients/cstap_demo0001/documents", 30),
        ("/api/clients/cstap_demo0002/documents", 26),
        ("/api/groups/2/documents", 27),
        ("/api/branches/b123/documents", 25),
    ],
)
async def test_large_holders_page_by_offset_and_limit(
    mambu: httpx.AsyncClient, path: str, total: int
) -> None:
    everything = (await mambu.get(path)).json()  # default limit 50
    assert len(everything) == total
    seen: list[str] = []
    for offset in range(0, total + 10, 10):
        page = (await mambu.get(path, params={"offset": offset, "limit": 10})).json()
        assert len(page) == max(0, min(10, total - offset))
        seen += [d["encodedKey"] for d in page]
    assert seen == [d["encodedKey"] for d in everything]
    dates = [d["creationDate"] for d in everything]
    assert dates == sorted(dates, reverse=True)  # newest first, as the seed's sample


@pytest.mark.parametrize(("path", "holder_type"), SEED_LIST_EXAMPLES[2:])
async def test_every_holder_type_pages(
    mambu: httpx.AsyncClient, path: str, holder_type: str
) -> None:
    everything = (await mambu.get(path)).json()
    assert len(everything) >= 2
    first = (await mambu.get(path, params={"offset": 0, "limit": 1})).json()
    second = (await mambu.get(path, params={"offset": 1, "limit": 1})).json()
    assert [first[0], second[0]] == everything[:2]


@pytest.mark.parametrize(
    ("params", "code", "status"),
    [
        ({"offset": "abc"}, 11, "INVALID_PAGINATION_OFFSET_VALUE"),
        ({"offset": "-1"}, 12, "OUT_OF_BOUNDS_PAGINATION_OFFSET_VALUE"),
        ({"limit": "x"}, 13, "INVALID_PAGINATION_LIMIT_VALUE"),
        ({"limit": "-1"}, 14, "OUT_OF_BOUNDS_PAGINATION_LIMIT_VALUE"),
        ({"limit": "1001"}, 14, "OUT_OF_BOUNDS_PAGINATION_LIMIT_VALUE"),
    ],
)
async def test_bad_paging_values_are_refused_with_mambus_codes(
    mambu: httpx.AsyncClient, params: dict[str, str], code: int, status: str
) -> None:
    response = await mambu.get("/api/clients/1/documents", params=params)
    assert response.status_code == 400
    assert response.json() == {"returnCode": code, "returnStatus": status}


@pytest.mark.parametrize(
    ("collection", "body"),
    [
        ("clients", {"returnCode": 301, "returnStatus": "INVALID_CLIENT_ID"}),
        ("groups", {"returnCode": 201, "returnStatus": "INVALID_GROUP_ID"}),
        ("loans", {"returnCode": 100, "returnStatus": "INVALID_LOAN_ACCOUNT_ID"}),
        ("savings", {"returnCode": 400, "returnStatus": "INVALID_SAVINGS_ACCOUNT_ID"}),
        ("branches", {"returnCode": 800, "returnStatus": "INVALID_BRANCH_ID"}),
        ("centres", {"returnCode": 851, "returnStatus": "INVALID_CENTRE_ID"}),
        ("users", {"returnCode": 701, "returnStatus": "INVALID_USER_ID"}),
        (
            "loanProducts",
            {
                "returnCode": 4,
                "returnStatus": "INVALID_PARAMETERS",
                "errorSource": "id",
            },
        ),
    ],
)
async def test_an_unknown_holder_is_a_404_with_the_entity_code(
    mambu: httpx.AsyncClient, collection: str, body: dict[str, object]
) -> None:
    response = await mambu.get(f"/api/{collection}/nobody/documents")
    assert response.status_code == 404
    assert response.json() == body


async def test_unknown_paths_and_methods_answer_with_mambu_codes(
    mambu: httpx.AsyncClient,
) -> None:
    response = await mambu.get("/api/accounts/1/documents")
    assert (response.status_code, response.json()["returnCode"]) == (404, 3)
    response = await mambu.put("/api/documents/10", json={})
    assert (response.status_code, response.json()["returnCode"]) == (405, 5)


# auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code", "status"),
    [
        ({}, 1, "INVALID_BASIC_AUTHORIZATION"),
        ({"Authorization": "Bearer abc"}, 1, "INVALID_BASIC_AUTHORIZATION"),
        ({"Authorization": "Basic !!!"}, 1, "INVALID_BASIC_AUTHORIZATION"),
        (
            {"Authorization": "Basic " + b64(b"sandbox:wrong")},
            2,
            "INVALID_CREDENTIALS",
        ),
    ],
)
async def test_every_call_needs_basic_auth(
    app: Controlled, headers: dict[str, str], code: int, status: str
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mambu.test"
    ) as anonymous:
        for method, path in [
            ("GET", "/api/clients/1/documents"),
            ("GET", "/api/documents/10"),
            ("DELETE", "/api/documents/10"),
            ("POST", "/api/documents"),
        ]:
            response = await anonymous.request(method, path, headers=headers)
            assert response.status_code == 401
            assert response.json() == {"returnCode": code, "returnStatus": status}
    assert app.store.document("10") is not None


async def test_credentials_are_configurable() -> None:
    app = create_app(username="api", password="s3cret")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://mambu.test",
        auth=("api", "s3cret"),
    ) as client:
        assert (await client.get("/api/documents/10")).status_code == 200


# content ------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["10", "8a13732d44bde36e0144bfc1e74100a9"])
async def test_content_is_the_seeds_quoted_base64_string(
    mambu: httpx.AsyncClient, ref: str
) -> None:
    response = await mambu.get(f"/api/documents/{ref}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == '"ZmlsZSBjb250ZW50"'
    assert base64.b64decode(response.text.strip('"')) == b"file content"


async def test_an_unknown_document_is_a_404(mambu: httpx.AsyncClient) -> None:
    for method in ("GET", "DELETE"):
        response = await mambu.request(method, "/api/documents/nope")
        assert response.status_code == 404
        assert response.json() == {
            "returnCode": 4,
            "returnStatus": "INVALID_PARAMETERS",
            "errorSource": "documentId",
        }


# upload -------------------------------------------------------------------------------


async def test_the_seeds_post_example_uploads_a_document(
    app: Controlled, mambu: httpx.AsyncClient
) -> None:
    content = b"fourteen bytes"
    body = upload_body(content=b64(content))
    body[" documentContent"] = body.pop("documentContent")  # the seed's spelling
    response = await mambu.post("/api/documents", json=body)
    assert response.status_code == 201
    created = response.json()
    assert list(created) == SEED_POST_RESPONSE_FIELDS
    assert created["documentHolderKey"] == "40288a0c3e3cfb4e013e3d00bb9c00df"
    assert created["documentHolderType"] == "CLIENT"
    assert (created["name"], created["type"], created["fileSize"]) == (
        "client_information",
        "doc",
        14,
    )
    assert created["location"] == created["encodedKey"]
    assert app.store.documents[created["encodedKey"]].content == content

    listed = (await mambu.get("/api/clients/3/documents")).json()
    assert listed[0]["encodedKey"] == created["encodedKey"]
    downloaded = await mambu.get(f"/api/documents/{created['id']}")
    assert downloaded.text == f'"{b64(content)}"'


async def test_the_seeds_user_photo_example_uploads_to_a_user(
    mambu: httpx.AsyncClient,
) -> None:
    body = upload_body(
        "john_photo",
        "jpg",
        holder_key="40288a0c3e3cfb4e013e3d00bbzxcvs",
        holder_type="USER",
    )
    response = await mambu.post("/api/documents", json=body)
    assert response.status_code == 201
    listed = (await mambu.get("/api/users/demo/documents")).json()
    assert listed[0]["name"] == "john_photo"


async def test_an_upload_may_name_its_holder_by_id(mambu: httpx.AsyncClient) -> None:
    body = upload_body("statement.pdf", "PDF", holder_key="cstap_demo0012")
    response = await mambu.post("/api/documents", json=body)
    assert response.status_code == 201
    assert response.json()["documentHolderKey"] != "cstap_demo0012"  # the encoded key
    listed = (await mambu.get("/api/clients/cstap_demo0012/documents")).json()
    assert [d["name"] for d in listed] == ["statement.pdf"]


@pytest.mark.parametrize(
    ("name", "type_"),
    [
        ("a" * 256, "pdf"),
        ("with spaces and-dashes", "txt"),
        ("scan.pdf", "pdf"),
        ("SCAN.PDF", "pdf"),
        ("scan.jpeg", "JPEG"),
        ("no_extension", "jrxml"),
    ],
)
async def test_names_within_the_seeds_rules_are_accepted(
    mambu: httpx.AsyncClient, name: str, type_: str
) -> None:
    response = await mambu.post("/api/documents", json=upload_body(name, type_))
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("name", "type_", "source"),
    [
        ("a" * 257, "pdf", "name"),
        ("   ", "pdf", "name"),
        *((f"bad{c}name", "pdf", "name") for c in "/<>|:&?*[]#\\\"'"),
        ("two.ext.pdf", "pdf", "name"),
        ("report.pdf", "doc", "name"),
        ("report.", "pdf", "name"),
        ("program", "exe", "type"),
        ("page.xhtml", "xhtml", "type"),
    ],
)
async def test_names_and_types_against_the_seeds_rules_are_refused(
    app: Controlled,
    mambu: httpx.AsyncClient,
    name: str,
    type_: str,
    source: str,
) -> None:
    before = len(app.store.documents)
    response = await mambu.post("/api/documents", json=upload_body(name, type_))
    assert response.status_code == 400
    assert response.json() == {
        "returnCode": 4,
        "returnStatus": "INVALID_PARAMETERS",
        "errorSource": source,
    }
    assert len(app.store.documents) == before


@pytest.mark.parametrize(
    ("body", "source"),
    [
        (upload_body(content=""), "documentContent"),
        (upload_body(content="not base64!"), "documentContent"),
        ({"document": upload_body()["document"]}, "documentContent"),
        (upload_body(holder_type="ACCOUNT"), "documentHolderType"),
        ({"documentContent": "aGk="}, "document"),
        (upload_body(name=""), "name"),
        # Wrongly typed fields are refused, never a crash (issue 15's inputs).
        (
            {
                **upload_body(),
                "document": {**upload_body()["document"], "description": {}},
            },
            "description",
        ),
        (
            {
                **upload_body(),
                "document": {**upload_body()["document"], "description": None},
            },
            "description",
        ),
        ({**upload_body(), " documentContent": {}}, "documentContent"),
        ({**upload_body(), "document": []}, "document"),
        ([upload_body()], "document"),
    ],
)
async def test_malformed_uploads_are_refused(
    mambu: httpx.AsyncClient, body: dict[str, object], source: str
) -> None:
    response = await mambu.post("/api/documents", json=body)
    assert response.status_code == 400
    assert response.json()["errorSource"] == source


async def test_an_upload_to_an_unknown_holder_is_refused_with_the_entity_code(
    mambu: httpx.AsyncClient,
) -> None:
    response = await mambu.post("/api/documents", json=upload_body(holder_key="zz"))
    assert response.status_code == 400
    assert response.json() == {
        "returnCode": 301,
        "returnStatus": "INVALID_CLIENT_ID",
        "errorSource": "documentHolderKey",
    }


async def test_a_body_that_is_not_json_is_refused(mambu: httpx.AsyncClient) -> None:
    response = await mambu.post("/api/documents", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["returnCode"] == 4


async def test_the_size_limit_is_the_seeds_15_mb_by_default_and_configurable() -> None:
    assert MAX_UPLOAD_BYTES == 15 * 1024 * 1024
    app = create_app(max_upload_bytes=1000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://mambu.test",
        auth=("sandbox", "sandbox"),
    ) as client:
        for size, status in [(999, 201), (1000, 201), (1001, 413), (1002, 413)]:
            body = upload_body("blob", "zip", b64(b"x" * size))
            response = await client.post("/api/documents", json=body)
            assert response.status_code == status, size
        assert response.json() == {
            "returnCode": 4,
            "returnStatus": "INVALID_PARAMETERS",
            "errorSource": "documentContent",
        }


# delete -------------------------------------------------------------------------------


async def test_delete_answers_success_and_the_document_is_gone(
    mambu: httpx.AsyncClient,
) -> None:
    key = "8a13732d44cd56800144cf86625d01e7"
    response = await mambu.delete(f"/api/documents/{key}")
    assert response.status_code == 200
    assert response.json() == {"returnCode": 0, "returnStatus": "SUCCESS"}
    assert (await mambu.get(f"/api/documents/{key}")).status_code == 404
    listed = (await mambu.get("/api/clients/1/documents")).json()
    assert [d["id"] for d in listed] == [41]
    by_id = await mambu.delete("/api/documents/41")
    assert by_id.json()["returnStatus"] == "SUCCESS"
    assert (await mambu.get("/api/clients/1/documents")).json() == []


async def test_every_request_is_recorded(
    app: Controlled, mambu: httpx.AsyncClient
) -> None:
    await mambu.get("/api/clients/1/documents", params={"offset": 0, "limit": 5})
    [request] = app.control.requests
    assert (request.method, request.path, request.query) == (
        "GET",
        "/api/clients/1/documents",
        "offset=0&limit=5",
    )
    assert request.headers["authorization"] == "Basic " + b64(b"sandbox:sandbox")


async def test_a_json_body_sent_as_another_type_is_refused(
    mambu: httpx.AsyncClient, app: Controlled
) -> None:
    before = len(app.store.documents)
    response = await mambu.post(
        "/api/documents",
        content=json.dumps(upload_body()),
        headers={"Content-Type": "text/plain"},
    )

    assert (response.status_code, response.json()["errorSource"]) == (400, "document")
    assert len(app.store.documents) == before


async def test_a_method_a_path_does_not_take_lists_the_ones_it_does(
    mambu: httpx.AsyncClient,
) -> None:
    response = await mambu.put("/api/documents/10")

    assert response.status_code == 405
    assert response.json()["returnStatus"] == "METHOD_NOT_IMPLEMENTED"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE"}
