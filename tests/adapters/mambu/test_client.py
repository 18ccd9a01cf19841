"""MambuClient against the Mambu sandbox: domain results and the requests sent."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from adapters.errors import (
    AdapterError,
    NotFound,
    ProviderAuthFailed,
    ProviderRejected,
    ProviderUnavailable,
    UploadTooLarge,
    ValidationFailed,
)
from adapters.mambu import upload as upload_module
from adapters.mambu.client import MAX_UPLOAD_BYTES, MambuClient
from adapters.mambu.sandbox import create_app
from adapters.model import (
    Document,
    DocumentStatus,
    Owner,
    OwnerKind,
    Provider,
    Upload,
)
from adapters.sandbox_kit import Controlled, Fault, RecordedRequest

BASE_URL = "http://mambu.test"
BASIC = "Basic " + base64.b64encode(b"sandbox:sandbox").decode()

# One holder of every type with its collection path and how many documents it has.
HOLDERS = [
    (OwnerKind.MAMBU_CLIENT, "cstap_demo0001", "clients", 30),
    (OwnerKind.MAMBU_GROUP, "2", "groups", 27),
    (OwnerKind.MAMBU_LOAN, "3", "loans", 3),
    (OwnerKind.MAMBU_SAVINGS, "2344", "savings", 4),
    (OwnerKind.MAMBU_LOAN_PRODUCT, "LDP", "loanProducts", 2),
    (OwnerKind.MAMBU_SAVINGS_PRODUCT, "SDP", "savingsProducts", 2),
    (OwnerKind.MAMBU_BRANCH, "b123", "branches", 25),
    (OwnerKind.MAMBU_CENTRE, "c123", "centres", 3),
    (OwnerKind.MAMBU_USER, "demo", "users", 2),
]


@pytest.fixture
async def http(app: Controlled) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as client:
        yield client


@pytest.fixture
def mambu(http: httpx.AsyncClient) -> MambuClient:
    return MambuClient(http, username="sandbox", password="sandbox")


def upload_of(data: bytes, filename: str = "statement.pdf") -> Upload:
    return Upload(filename, "application/pdf", len(data), io.BytesIO(data))


def assert_sent(
    request: RecordedRequest, method: str, path: str, query: str = ""
) -> None:
    assert (request.method, request.path, request.query) == (method, path, query)
    assert request.headers["authorization"] == BASIC


def assert_no_leak(error: AdapterError) -> None:
    text = str(error)
    for secret in ("sandbox", BASE_URL, "returnCode", "/api/"):
        assert secret not in text


# listing ------------------------------------------------------------------------------


async def test_an_unchanged_list_is_read_again_but_mapped_once(
    app: Controlled, mambu: MambuClient
) -> None:
    owner = Owner(OwnerKind.MAMBU_LOAN, "3")
    first = await mambu.list_documents(owner, offset=0, limit=10)
    again = await mambu.list_documents(owner, offset=0, limit=10)
    assert len(app.control.requests) == 2  # Mambu is asked every time
    assert all(a is b for a, b in zip(first.items, again.items, strict=True))
    added = await mambu.upload_document(
        owner, name="statement", upload=upload_of(b"%PDF-1.4 new")
    )
    after = await mambu.list_documents(owner, offset=0, limit=10)
    assert [d.provider_id for d in after.items].count(added.provider_id) == 1
    assert len(after.items) == len(first.items) + 1


async def test_a_page_of_the_seeds_client_maps_to_domain_documents(
    app: Controlled, mambu: MambuClient
) -> None:
    owner = Owner(OwnerKind.MAMBU_CLIENT, "1")
    page = await mambu.list_documents(owner, offset=0, limit=5)
    assert (page.offset, page.total, page.has_more) == (0, None, False)
    assert page.items[0] == Document(
        provider=Provider.MAMBU,
        key="CLIENT:1:8a13732d44cd56800144cf86625d01e7",
        provider_id="8a13732d44cd56800144cf86625d01e7",
        name="post_document_1",
        status=DocumentStatus.UPLOADED,
        kind="txt",
        file_extension="txt",
        content_type="text/plain",
        size=115,
        created_at=datetime(2014, 3, 17, 10, 11, 34, tzinfo=UTC),
        owner=owner,
    )
    assert [d.name for d in page.items] == ["post_document_1", "internal_demo"]
    [request] = app.control.requests
    # limit + 1: one more than asked tells whether there is a next page.
    assert_sent(request, "GET", "/api/clients/1/documents", "offset=0&limit=6")


@pytest.mark.parametrize(("kind", "holder_id", "collection", "total"), HOLDERS)
async def test_every_holder_type_is_listed_and_paged(
    app: Controlled,
    mambu: MambuClient,
    kind: OwnerKind,
    holder_id: str,
    collection: str,
    total: int,
) -> None:
    owner = Owner(kind, holder_id)
    keys: list[str] = []
    offset, has_more = 0, True
    while has_more:
        page = await mambu.list_documents(owner, offset=offset, limit=2)
        assert page.offset == offset
        assert all(d.owner == owner for d in page.items)
        keys += [d.key for d in page.items]
        offset, has_more = offset + len(page.items), page.has_more
    assert len(keys) == len(set(keys)) == total
    pages = (total + 1) // 2
    assert app.control.calls("GET", f"/api/{collection}/{holder_id}/documents") == pages
    assert_sent(
        app.control.requests[-1],
        "GET",
        f"/api/{collection}/{holder_id}/documents",
        f"offset={2 * (pages - 1)}&limit=3",
    )


async def test_has_more_is_exact_when_a_page_ends_the_list(mambu: MambuClient) -> None:
    owner = Owner(OwnerKind.MAMBU_CLIENT, "cstap_demo0001")  # 30 documents
    assert (await mambu.list_documents(owner, offset=0, limit=30)).has_more is False
    assert (await mambu.list_documents(owner, offset=0, limit=29)).has_more is True
    last = await mambu.list_documents(owner, offset=20, limit=10)
    assert (len(last.items), last.has_more) == (10, False)


async def test_the_largest_page_asks_mambus_maximum(
    app: Controlled, mambu: MambuClient
) -> None:
    owner = Owner(OwnerKind.MAMBU_CLIENT, "cstap_demo0001")
    page = await mambu.list_documents(owner, offset=0, limit=1000)
    assert (len(page.items), page.has_more) == (30, False)
    assert app.control.requests[0].query == "offset=0&limit=1000"


@pytest.mark.parametrize(
    ("offset", "limit", "paths"),
    [(-1, 10, [("after",)]), (0, 0, [("first",)]), (0, 1001, [("first",)])],
)
async def test_bad_paging_is_refused_before_mambu(
    app: Controlled,
    mambu: MambuClient,
    offset: int,
    limit: int,
    paths: list[tuple[str, ...]],
) -> None:
    owner = Owner(OwnerKind.MAMBU_CLIENT, "1")
    with pytest.raises(ValidationFailed) as refused:
        await mambu.list_documents(owner, offset=offset, limit=limit)
    assert [v.path for v in refused.value.violations] == paths
    assert app.control.requests == []


async def test_an_unknown_holder_is_not_found(mambu: MambuClient) -> None:
    for kind in (OwnerKind.MAMBU_CLIENT, OwnerKind.MAMBU_LOAN_PRODUCT):
        with pytest.raises(NotFound) as missing:
            await mambu.list_documents(Owner(kind, "nobody"), offset=0, limit=5)
        assert missing.value.provider is Provider.MAMBU
        assert_no_leak(missing.value)


async def test_holder_ids_are_escaped_in_the_path(
    app: Controlled, mambu: MambuClient
) -> None:
    holder = app.store.add_holder("USER", "jane.doe@bank")
    app.store.add_document(holder, "cv", "pdf", b"%PDF")
    owner = Owner(OwnerKind.MAMBU_USER, "jane.doe@bank")
    page = await mambu.list_documents(owner, offset=0, limit=5)
    assert [d.name for d in page.items] == ["cv"]
    assert app.control.requests[0].path == "/api/users/jane.doe@bank/documents"


async def test_holder_ids_outside_the_grammar_are_not_found_without_a_call(
    app: Controlled, mambu: MambuClient
) -> None:
    app.store.add_holder("USER", "jane doe?")
    with pytest.raises(NotFound):
        await mambu.list_documents(
            Owner(OwnerKind.MAMBU_USER, "jane doe?"), offset=0, limit=5
        )
    assert app.control.requests == []


async def test_wrong_credentials_are_a_provider_auth_failure(
    app: Controlled, http: httpx.AsyncClient
) -> None:
    wrong = MambuClient(http, username="sandbox", password="not-it")
    with pytest.raises(ProviderAuthFailed) as refused:
        await wrong.list_documents(
            Owner(OwnerKind.MAMBU_CLIENT, "1"), offset=0, limit=1
        )
    assert refused.value.provider_code == "INVALID_CREDENTIALS"
    assert "not-it" not in str(refused.value)
    assert_no_leak(refused.value)


# batches ------------------------------------------------------------------------------


async def test_documents_for_owners_lists_each_distinct_owner_once(
    app: Controlled, mambu: MambuClient
) -> None:
    a = Owner(OwnerKind.MAMBU_CLIENT, "cstap_demo0001")
    b = Owner(OwnerKind.MAMBU_GROUP, "2")
    missing = Owner(OwnerKind.MAMBU_CLIENT, "nobody")
    foreign = Owner(OwnerKind.CONNECTFI_CUSTOMER, "cstap_demo0001")
    found = await mambu.documents_for_owners([a, b, a, missing, foreign, b])
    assert set(found) == {a, b, missing, foreign}
    documents_a, documents_b = found[a], found[b]
    assert not isinstance(documents_a, AdapterError)
    assert not isinstance(documents_b, AdapterError)
    assert (len(documents_a), len(documents_b)) == (30, 27)
    assert isinstance(found[missing], NotFound)
    assert isinstance(found[foreign], NotFound)
    assert sorted((r.path, r.query) for r in app.control.requests) == [
        ("/api/clients/cstap_demo0001/documents", "offset=0&limit=1000"),
        ("/api/clients/nobody/documents", "offset=0&limit=1000"),
        ("/api/groups/2/documents", "offset=0&limit=1000"),
    ]


async def test_documents_for_owners_runs_concurrently(
    app: Controlled, mambu: MambuClient
) -> None:
    app.control.latency = 0.02
    owners = [Owner(kind, holder_id) for kind, holder_id, _, _ in HOLDERS[:4]]
    await mambu.documents_for_owners(owners)
    requests = app.control.requests
    assert len(requests) == 4
    assert max(r.started for r in requests) < min(r.ended for r in requests)


async def test_concurrency_is_bounded(app: Controlled, http: httpx.AsyncClient) -> None:
    mambu = MambuClient(http, username="sandbox", password="sandbox", max_concurrency=2)
    app.control.latency = 0.02
    owners = [Owner(kind, holder_id) for kind, holder_id, _, _ in HOLDERS[:6]]
    await mambu.documents_for_owners(owners)
    requests = app.control.requests
    assert len(requests) == 6
    in_flight = max(
        sum(1 for other in requests if other.started <= r.started < other.ended)
        for r in requests
    )
    assert in_flight == 2


async def test_a_failing_owner_fails_alone(app: Controlled, mambu: MambuClient) -> None:
    app.control.inject(r"^/api/groups/", Fault(status=503))
    client = Owner(OwnerKind.MAMBU_CLIENT, "1")
    group = Owner(OwnerKind.MAMBU_GROUP, "2")
    found = await mambu.documents_for_owners([client, group])
    assert isinstance(found[group], ProviderUnavailable)
    assert not isinstance(found[client], AdapterError)


async def test_get_documents_lists_each_holder_once(
    app: Controlled, mambu: MambuClient
) -> None:
    owner = Owner(OwnerKind.MAMBU_CLIENT, "cstap_demo0001")
    page = await mambu.list_documents(owner, offset=0, limit=3)
    group_page = await mambu.list_documents(
        Owner(OwnerKind.MAMBU_GROUP, "2"), offset=5, limit=1
    )
    app.control.clear()
    wanted = [d.key for d in page.items] + [group_page.items[0].key]
    unknown = "CLIENT:cstap_demo0001:ffffffffffffffffffffffffffffffff"
    found = await mambu.get_documents([*wanted, unknown, "garbage", wanted[0]])
    assert [found[k] for k in wanted] == [*page.items, group_page.items[0]]
    assert isinstance(found[unknown], NotFound)
    assert isinstance(found["garbage"], NotFound)
    assert sorted(r.path for r in app.control.requests) == [
        "/api/clients/cstap_demo0001/documents",
        "/api/groups/2/documents",
    ]


async def test_get_contents_answers_the_seeds_base64(
    app: Controlled, mambu: MambuClient
) -> None:
    key = "CLIENT:2:8a13732d44bde36e0144bfc1e74100a9"
    found = await mambu.get_contents([key])
    assert found == {key: "ZmlsZSBjb250ZW50"}
    assert sorted((r.method, r.path) for r in app.control.requests) == [
        ("GET", "/api/clients/2/documents"),
        ("GET", "/api/documents/8a13732d44bde36e0144bfc1e74100a9"),
    ]
    for request in app.control.requests:
        assert request.headers["authorization"] == BASIC


async def test_get_contents_refuses_a_document_of_another_holder(
    mambu: MambuClient,
) -> None:
    forged = "CLIENT:1:8a13732d44bde36e0144bfc1e74100a9"  # document 10 is client 2's
    deleted = "CLIENT:2:ffffffffffffffffffffffffffffffff"
    nobody = "CLIENT:nobody:8a13732d44bde36e0144bfc1e74100a9"
    found = await mambu.get_contents([forged, deleted, nobody, "x"])
    assert all(isinstance(found[k], NotFound) for k in (forged, deleted, nobody, "x"))


async def test_many_contents_list_their_holder_once(
    app: Controlled, mambu: MambuClient
) -> None:
    owner = Owner(OwnerKind.MAMBU_BRANCH, "b123")
    page = await mambu.list_documents(owner, offset=0, limit=5)
    app.control.clear()
    found = await mambu.get_contents([d.key for d in page.items])
    for document in page.items:
        stored = app.store.documents[document.provider_id]
        assert found[document.key] == base64.b64encode(stored.content).decode()
    assert app.control.calls("GET", "/api/branches/b123/documents") == 1
    assert app.control.calls("GET", "/api/documents/.*") == 5


# upload -------------------------------------------------------------------------------


async def test_an_upload_sends_the_seeds_json_body(
    app: Controlled, mambu: MambuClient
) -> None:
    owner = Owner(OwnerKind.MAMBU_CLIENT, "cstap_demo0012")
    data = b"%PDF-1.4 a small statement"
    document = await mambu.upload_document(
        owner, name="statement.pdf", upload=upload_of(data)
    )
    [request] = app.control.requests
    assert_sent(request, "POST", "/api/documents")
    assert request.headers["content-type"] == "application/json"
    assert int(request.headers["content-length"]) == len(request.body)
    assert "transfer-encoding" not in request.headers
    assert json.loads(request.body) == {
        "document": {
            "documentHolderKey": "cstap_demo0012",
            "documentHolderType": "CLIENT",
            "name": "statement.pdf",
            "type": "pdf",
        },
        "documentContent": base64.b64encode(data).decode(),
    }
    assert document.owner == owner
    assert document.key == f"CLIENT:cstap_demo0012:{document.provider_id}"
    assert (document.name, document.size, document.kind) == ("statement.pdf", 26, "pdf")
    assert document.status is DocumentStatus.UPLOADED
    assert app.store.documents[document.provider_id].content == data

    listed = await mambu.get_documents([document.key])
    assert listed[document.key] == document


@pytest.mark.parametrize("size", [5 * 1024 * 1024 + 1, 3 * 48 * 1024, 1, 2])
async def test_an_upload_arrives_byte_identical(
    app: Controlled, mambu: MambuClient, size: int
) -> None:
    data = os.urandom(size)
    owner = Owner(OwnerKind.MAMBU_LOAN, "3")
    document = await mambu.upload_document(
        owner, name="scan", upload=upload_of(data, "scan.zip")
    )
    assert app.store.documents[document.provider_id].content == data
    assert document.size == size
    content = (await mambu.get_contents([document.key]))[document.key]
    assert isinstance(content, str)
    assert base64.b64decode(content) == data


class TrickleFile(io.RawIOBase):
    """A file that answers every read with at most 1000 bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._data.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 1000) if size >= 0 else 1000)


async def test_the_body_is_streamed_in_bounded_chunks() -> None:
    data = os.urandom(200_003)
    chunks = [
        chunk
        async for chunk in upload_module.json_body(
            b"<",
            TrickleFile(data),  # type: ignore[arg-type]  # a RawIOBase reads bytes too
            len(data),
            b">",
        )
    ]
    assert chunks[0] == b"<" and chunks[-1] == b">"
    encoded = b"".join(chunks[1:-1])
    assert encoded == base64.b64encode(data)
    assert b"=" not in b"".join(chunks[1:-2])  # padding only at the very end
    assert max(len(c) for c in chunks) <= 4 * upload_module.CHUNK_BYTES // 3


async def test_a_file_shorter_than_announced_is_refused(mambu: MambuClient) -> None:
    upload = Upload("a.pdf", "application/pdf", 100, io.BytesIO(b"short"))
    with pytest.raises(ValidationFailed):
        await mambu.upload_document(
            Owner(OwnerKind.MAMBU_CLIENT, "1"), name="a", upload=upload
        )


async def test_a_20_mb_upload_is_refused_before_mambu(
    app: Controlled, mambu: MambuClient
) -> None:
    assert MAX_UPLOAD_BYTES == 15 * 1024 * 1024
    upload = Upload("big.pdf", "application/pdf", 20 * 1024 * 1024, io.BytesIO())
    with pytest.raises(UploadTooLarge) as refused:
        await mambu.upload_document(
            Owner(OwnerKind.MAMBU_CLIENT, "1"), name="big", upload=upload
        )
    assert refused.value.limit == MAX_UPLOAD_BYTES
    assert app.control.requests == []


@pytest.mark.parametrize(
    ("owner", "name", "filename", "data", "paths"),
    [
        (None, "a" * 257, "a.pdf", b"x", [("name",)]),
        (None, "bad:name", "a.pdf", b"x", [("name",)]),
        (None, "it's", "a.pdf", b"x", [("name",)]),
        (None, "two.ext.pdf", "a.pdf", b"x", [("name",)]),
        (None, "report.doc", "a.pdf", b"x", [("name",)]),
        (None, "program", "program.exe", b"x", [("file",)]),
        (None, "noext", "noext", b"x", [("file",)]),
        (None, "empty", "empty.txt", b"", [("file",)]),
        (None, "a|b", "a.exe", b"", [("name",), ("file",), ("file",)]),
        (
            Owner(OwnerKind.CONNECTFI_CUSTOMER, "cstap_demo0001"),
            "fine",
            "fine.pdf",
            b"x",
            [("owner",)],
        ),
    ],
)
async def test_bad_uploads_are_refused_before_mambu(
    app: Controlled,
    mambu: MambuClient,
    owner: Owner | None,
    name: str,
    filename: str,
    data: bytes,
    paths: list[tuple[str, ...]],
) -> None:
    owner = owner or Owner(OwnerKind.MAMBU_CLIENT, "1")
    with pytest.raises(ValidationFailed) as refused:
        await mambu.upload_document(owner, name=name, upload=upload_of(data, filename))
    assert [v.path for v in refused.value.violations] == paths
    assert refused.value.provider is Provider.MAMBU
    assert app.control.requests == []


async def test_mambus_own_size_limit_is_an_upload_too_large() -> None:
    app = create_app(max_upload_bytes=100)  # a tenant stricter than the gateway
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as http:
        mambu = MambuClient(http, username="sandbox", password="sandbox")
        with pytest.raises(UploadTooLarge) as refused:
            await mambu.upload_document(
                Owner(OwnerKind.MAMBU_CLIENT, "1"),
                name="blob",
                upload=upload_of(b"x" * 101, "blob.zip"),
            )
    assert refused.value.provider_code == "INVALID_PARAMETERS"
    assert app.control.calls("POST") == 1
    assert_no_leak(refused.value)


async def test_an_upload_to_an_unknown_holder_is_not_found(mambu: MambuClient) -> None:
    with pytest.raises(NotFound) as missing:
        await mambu.upload_document(
            Owner(OwnerKind.MAMBU_CLIENT, "nobody"),
            name="a",
            upload=upload_of(b"x", "a.pdf"),
        )
    assert missing.value.provider_code == "INVALID_CLIENT_ID"


@pytest.mark.parametrize(
    ("status", "body", "error", "path"),
    [
        (400, {"returnCode": 4, "errorSource": "name"}, ValidationFailed, ("name",)),
        (400, {"returnCode": 4, "errorSource": "type"}, ValidationFailed, ("file",)),
        (400, {"returnCode": 4, "errorSource": "notes"}, ProviderRejected, None),
        (400, {"returnCode": 902, "returnStatus": "X"}, ProviderRejected, None),
        (403, {"returnCode": 15}, ProviderRejected, None),
        (400, None, ProviderRejected, None),
    ],
)
async def test_mambus_refusals_become_domain_errors(
    app: Controlled,
    mambu: MambuClient,
    status: int,
    body: dict[str, object] | None,
    error: type[AdapterError],
    path: tuple[str, ...] | None,
) -> None:
    raw = b"<html>no</html>" if body is None else json.dumps(body).encode()
    app.control.inject(r"^/api/documents$", Fault(status=status, body=raw))
    with pytest.raises(error) as refused:
        await mambu.upload_document(
            Owner(OwnerKind.MAMBU_CLIENT, "1"),
            name="fine",
            upload=upload_of(b"x", "fine.pdf"),
        )
    if path is not None:
        assert isinstance(refused.value, ValidationFailed)
        assert [v.path for v in refused.value.violations] == [path]
    assert "<html>" not in str(refused.value)
    assert_no_leak(refused.value)


# delete -------------------------------------------------------------------------------


async def test_delete_checks_the_holder_then_deletes(
    app: Controlled, mambu: MambuClient
) -> None:
    key = "CLIENT:1:8a13732d44cd56800144cf86625d01e7"
    await mambu.delete_document(key)
    list_call, delete_call = app.control.requests
    assert_sent(list_call, "GET", "/api/clients/1/documents", "offset=0&limit=1000")
    assert_sent(
        delete_call, "DELETE", "/api/documents/8a13732d44cd56800144cf86625d01e7"
    )
    assert app.store.document("59") is None
    assert isinstance((await mambu.get_documents([key]))[key], NotFound)
    with pytest.raises(NotFound):
        await mambu.delete_document(key)


async def test_delete_refuses_a_key_forged_with_another_holder(
    app: Controlled, mambu: MambuClient
) -> None:
    with pytest.raises(NotFound):
        await mambu.delete_document("CLIENT:1:8a13732d44bde36e0144bfc1e74100a9")
    with pytest.raises(NotFound):
        await mambu.delete_document("not a key")
    assert app.control.calls("DELETE") == 0
    assert app.store.document("10") is not None
