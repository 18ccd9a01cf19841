"""Provider answers are checked against their declared shapes (adapters/<provider>/
answers.py): a 200 that does not fit is a malformed answer (ProviderError) for that
provider only, never an empty list or a made-up record, and no integer outside
GraphQL's 32-bit Int (or below 0 where it counts or measures) reaches the domain.

Each client reads a canned answer through httpx.MockTransport, so what is tested is
the whole read path: bytes → validation → mapping → domain records."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.apiture.client import ApitureClient
from adapters.auco.client import AucoClient
from adapters.connectfi.client import ConnectFiClient
from adapters.errors import NotFound, ProviderError
from adapters.mambu.client import MambuClient
from adapters.model import (
    Application,
    ApplicationQuery,
    Document,
    Owner,
    OwnerKind,
    Page,
    Provider,
)
from adapters.sandbox_kit import Fault
from adapters.transport.http import validated
from schema import ids
from tests.conftest import Gateway
from tests.schema.test_partial_results import MERGED, both

INT32_MAX = 2**31 - 1
CUSTOMER = "cstap_5mBHiIx3QbkvEpjGfKsI9k"
AUCO_CODE = "DOCCODE123"
MAMBU_OWNER = Owner(OwnerKind.MAMBU_CLIENT, "client1")


class Canned:
    """A MockTransport answering 200 with whatever body is set, counting calls."""

    def __init__(self) -> None:
        self.body = b"{}"
        self.calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if request.url.path.endswith("/auth/get-token"):  # connectFi's login
            token = {"token": "t", "dtsExpireAt": "2999-01-01T00:00:00Z"}
            body = json.dumps({"code": "0", "requestId": "r", "data": token})
            return httpx.Response(200, content=body.encode())
        return httpx.Response(
            200, content=self.body, headers={"Content-Type": "application/json"}
        )

    def client(self, base_url: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.MockTransport(self.handle), base_url=base_url
        )


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()


def envelope(data: object) -> bytes:
    return dumps({"code": "0", "requestId": "r", "data": data})


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as running:
        yield running


# readers: one per provider answer, the client's own read path ------------------


def apiture_page(canned: Canned) -> Callable[[], Coroutine[Any, Any, Any]]:
    client = ApitureClient(canned.client("http://apiture.test/accountApplications"))
    return lambda: client.list_applications(ApplicationQuery(), 0, 50)


def apiture_record(canned: Canned) -> Callable[[], Coroutine[Any, Any, Any]]:
    client = ApitureClient(canned.client("http://apiture.test/accountApplications"))

    async def read() -> Application:
        found = (await client.get_applications(["a1"]))["a1"]
        if isinstance(found, Exception):
            raise found
        return found

    return read


def connectfi_page(canned: Canned) -> Callable[[], Coroutine[Any, Any, Any]]:
    client = ConnectFiClient(
        canned.client("http://connectfi.test"), login="l", password="p"
    )
    return lambda: client.list_applications(CUSTOMER, offset=0, limit=10)


def auco_document(canned: Canned) -> Callable[[], Coroutine[Any, Any, Any]]:
    client = AucoClient(
        canned.client("http://auco.test/v1.5/ext"),
        private_key="prk_x",
        public_key="puk_x",
    )

    async def read() -> Document:
        found = (await client.get_documents([AUCO_CODE]))[AUCO_CODE]
        if isinstance(found, Exception):
            raise found
        return found

    return read


def mambu_page(canned: Canned) -> Callable[[], Coroutine[Any, Any, Any]]:
    client = MambuClient(canned.client("http://mambu.test"), username="u", password="p")
    return lambda: client.list_documents(MAMBU_OWNER, offset=0, limit=10)


def read(
    runner: asyncio.Runner,
    reader: Callable[[Canned], Callable[[], Coroutine[Any, Any, Any]]],
    body: bytes,
) -> Any:
    canned = Canned()
    canned.body = body
    return runner.run(reader(canned)())


def malformed(
    runner: asyncio.Runner,
    reader: Callable[[Canned], Callable[[], Coroutine[Any, Any, Any]]],
    body: bytes,
) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        read(runner, reader, body)
    assert raised.value.code == "PROVIDER_ERROR"
    assert "malformed" in raised.value.message
    return raised.value


SUMMARY = {"_id": "a1", "state": "running", "name": "Savings"}


def apiture_collection(**fields: object) -> bytes:
    return dumps({"_embedded": {"items": [SUMMARY]}, **fields})


# the reproductions --------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        {"count": 3, "start": 0},  # the items are gone
        {"count": 1, "_embedded": {}},
        {"count": 1, "_embedded": {"items": {"0": SUMMARY}}},  # not a list
        {"count": 1, "_embedded": {"items": [SUMMARY, "x"]}},
        {"count": 1, "_embedded": {"items": [{"name": "no id"}]}},
        {"count": 1, "_embedded": {"items": [{"_id": 7, "state": "running"}]}},
        ["not", "a", "page"],
    ],
)
def test_a_wrong_shaped_apiture_page_is_malformed_not_empty(
    runner: asyncio.Runner, page: object
) -> None:
    error = malformed(runner, apiture_page, dumps(page))
    assert error.provider is Provider.APITURE


@pytest.mark.parametrize("count", [2**31, 2**63, -1])
def test_an_apiture_count_outside_int32_or_negative_is_malformed(
    runner: asyncio.Runner, count: int
) -> None:
    malformed(runner, apiture_page, apiture_collection(count=count))


def test_an_apiture_count_at_the_int32_edge_still_reads(
    runner: asyncio.Runner,
) -> None:
    page = read(runner, apiture_page, apiture_collection(count=INT32_MAX, start=0))
    assert page.total == INT32_MAX
    assert [a.key for a in page.items] == ["a1"]
    assert page.items[0].name == "Savings"


def test_negative_apiture_start_is_malformed(runner: asyncio.Runner) -> None:
    malformed(runner, apiture_page, apiture_collection(count=1, start=-5))


def test_the_seeds_anyof_rendering_of_items_is_still_read(
    runner: asyncio.Runner,
) -> None:
    body = dumps({"count": 1, "_embedded": {"items": {"anyOf": [SUMMARY]}}})
    page = read(runner, apiture_page, body)
    assert [a.key for a in page.items] == ["a1"]


def test_an_apiture_record_without_an_id_is_malformed(runner: asyncio.Runner) -> None:
    malformed(runner, apiture_record, dumps({"state": "running", "name": "x"}))
    malformed(runner, apiture_record, dumps({"_id": "", "state": "running"}))
    no_list = {"_id": "a1", "state": "running", "applicants": 3}
    malformed(runner, apiture_record, dumps(no_list))


@pytest.mark.parametrize(
    "answer",
    [
        {"code": "0", "data": {}},  # another provider's envelope
        {"code": "0"},
        {"code": "0", "status": "CREATED"},  # another document's answer
        {"code": AUCO_CODE, "status": "CREATED", "signProfile": "everyone"},
        {"code": AUCO_CODE, "status": "CREATED", "signProfile": [{"order": -1}]},
        {"code": AUCO_CODE, "status": "CREATED", "signProfile": [{"order": 2**31}]},
        {"code": AUCO_CODE, "status": 3},
        [AUCO_CODE],
    ],
)
def test_a_wrong_shaped_auco_answer_is_malformed_not_invented(
    runner: asyncio.Runner, answer: object
) -> None:
    error = malformed(runner, auco_document, dumps(answer))
    assert error.provider is Provider.AUCO


def test_a_well_shaped_auco_answer_still_reads(runner: asyncio.Runner) -> None:
    answer = {
        "code": AUCO_CODE,
        "name": "Contract",
        "status": "CREATED",
        "url": "https://s3/x",
        "signProfile": [{"name": "Ana", "email": "ana@x.co", "status": "NOTIFICATION"}],
        "data": {"signProfile": [{"email": "ana@x.co", "order": "2"}]},
    }
    document = read(runner, auco_document, dumps(answer))
    assert (document.key, document.name) == (AUCO_CODE, "Contract")
    assert [(s.email, s.order) for s in document.signers] == [("ana@x.co", 2)]


META = {"encodedKey": "8a1", "name": "passport", "type": "pdf", "fileSize": 10}


@pytest.mark.parametrize("size", [-1, 2**31, 1.5, "10"])
def test_a_mambu_file_size_out_of_range_is_malformed(
    runner: asyncio.Runner, size: object
) -> None:
    error = malformed(runner, mambu_page, dumps([{**META, "fileSize": size}]))
    assert error.provider is Provider.MAMBU


def test_a_mambu_list_that_is_not_a_list_is_malformed(runner: asyncio.Runner) -> None:
    malformed(runner, mambu_page, dumps({"documents": [META]}))
    malformed(runner, mambu_page, dumps([META, {"name": "no key"}]))


def test_mambu_sizes_in_range_read(runner: asyncio.Runner) -> None:
    page = read(runner, mambu_page, dumps([META, {**META, "fileSize": INT32_MAX}]))
    assert [d.size for d in page.items] == [10, INT32_MAX]


@pytest.mark.parametrize(
    "data",
    [
        {"items": [], "total": {}},
        {"items": {}, "total": {"more": False}},
        {"items": [{"applicationId": "a", "customerId": "c"}], "total": {"more": 0}},
    ],
)
def test_a_wrong_shaped_connectfi_page_is_malformed(
    runner: asyncio.Runner, data: object
) -> None:
    error = malformed(runner, connectfi_page, envelope(data))
    assert error.provider is Provider.CONNECTFI
    assert error.request_id == "r"


# through the gateway: that provider's fields only --------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"count": 3, "_links": {}}',  # a page without its items
        b'{"count": 2147483648, "_embedded": {"items": []}}',  # was INTERNAL
        b'{"count": -4, "_embedded": {"items": []}}',
    ],
)
async def test_a_misfit_apiture_page_costs_only_apiture(
    gateway: Gateway, body: bytes
) -> None:
    gateway.apiture.control.inject("applications", Fault(status=200, body=body))
    answer = await gateway.execute(MERGED, {"filter": both(gateway)})
    page = answer["data"]["applications"]
    assert page["missingProviders"] == ["APITURE"]
    assert page["edges"], "connectFi's applications still come back"
    assert {e["node"]["provider"] for e in page["edges"]} == {"CONNECTFI"}
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["extensions"]["provider"] == "APITURE"


# property: any JSON value → a typed record or ProviderError, never anything else --

INTS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([INT32_MAX, 2**31, -(2**31), 2**53, 2**64, -(2**70)]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    INTS,
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=8),
    st.sampled_from(["", "running", "approved", "CREATED", "2024-01-02T03:04:05Z"]),
)
KEYS = st.sampled_from(
    [
        "_id",
        "state",
        "name",
        "count",
        "start",
        "_embedded",
        "items",
        "anyOf",
        "_links",
        "next",
        "href",
        "code",
        "status",
        "data",
        "signProfile",
        "order",
        "email",
        "encodedKey",
        "fileSize",
        "type",
        "creationDate",
        "applicationId",
        "customerId",
        "total",
        "more",
        "entityApplications",
        "entityId",
        "createdAt",
    ]
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=4)), inner, max_size=5),
    ),
    max_leaves=12,
)


def shaped(required: dict[str, Any], optional: dict[str, Any]) -> Any:
    """Objects close to the declared shape: the named keys, each value either of
    the right sort or any JSON value."""
    return st.fixed_dictionaries(
        {k: st.one_of(v, JSON_VALUES) for k, v in required.items()},
        optional={k: st.one_of(v, JSON_VALUES) for k, v in optional.items()},
    )


TEXT = st.text(min_size=0, max_size=6)
APITURE_SUMMARY = shaped(
    {"_id": TEXT, "state": st.sampled_from(["running", "approved", "x"])},
    {"name": TEXT, "createdAt": SCALARS, "completedAt": SCALARS},
)
APITURE_PAGES = st.one_of(
    JSON_VALUES,
    shaped(
        {"_embedded": shaped({"items": st.lists(APITURE_SUMMARY, max_size=3)}, {})},
        {"count": INTS, "start": INTS, "_links": JSON_VALUES},
    ),
)
APITURE_RECORDS = st.one_of(
    JSON_VALUES,
    shaped(
        {"_id": TEXT, "state": TEXT},
        {
            "applicants": st.lists(JSON_VALUES, max_size=2),
            "documents": st.lists(shaped({"uri": TEXT}, {}), max_size=2),
            "fundingAmount": shaped({"value": TEXT, "currency": TEXT}, {}),
            "_links": st.dictionaries(TEXT, JSON_VALUES, max_size=2),
        },
    ),
)
SIGNER = shaped({}, {"email": TEXT, "order": st.one_of(INTS, TEXT), "status": TEXT})
AUCO_ANSWERS = st.one_of(
    JSON_VALUES,
    shaped(
        {"code": st.sampled_from([AUCO_CODE, "0", ""]), "status": TEXT},
        {"signProfile": st.lists(SIGNER, max_size=2), "data": JSON_VALUES},
    ),
)
MAMBU_LISTS = st.one_of(
    JSON_VALUES,
    st.lists(
        shaped(
            {"encodedKey": TEXT, "name": TEXT},
            {"fileSize": INTS, "type": TEXT, "creationDate": SCALARS},
        ),
        max_size=3,
    ),
)
CONNECTFI_APPLICATION = shaped(
    {"applicationId": TEXT, "customerId": TEXT, "status": TEXT},
    {"outcome": TEXT, "entityApplications": st.lists(JSON_VALUES, max_size=2)},
)
CONNECTFI_PAGES = st.one_of(
    JSON_VALUES,
    shaped(
        {
            "items": st.lists(CONNECTFI_APPLICATION, max_size=3),
            "total": shaped({"more": st.booleans()}, {}),
        },
        {},
    ),
)

PROPERTY = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def int32_fields(value: object) -> Iterator[int]:
    """Every int a domain record (or page) carries, nested records included."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from int32_fields(item)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            yield from int32_fields(getattr(value, name))


def typed_or_refused(
    runner: asyncio.Runner,
    reader: Callable[[Canned], Callable[[], Coroutine[Any, Any, Any]]],
    body: bytes,
    kind: type,
) -> Any:
    try:
        found = read(runner, reader, body)
    except ProviderError as exc:
        assert exc.code == "PROVIDER_ERROR"
        return None
    records = found.items if isinstance(found, Page) else (found,)
    for record in records:
        assert isinstance(record, kind)
        assert isinstance(record.key, str) and record.key
        if hasattr(record, "created_at"):
            assert record.created_at is None or isinstance(record.created_at, datetime)
    for number in int32_fields(found):
        assert 0 <= number <= INT32_MAX, number
    return found


# One well-shaped answer each, always tried first: it must come back typed.
GOOD_APITURE_PAGE = {"_embedded": {"items": [SUMMARY]}, "count": 1}
GOOD_APITURE_RECORD = {"_id": "a1", "state": "approved", "documents": [{"uri": "/f"}]}
GOOD_AUCO = {"code": AUCO_CODE, "status": "FINISH", "signProfile": [{"order": 1}]}
GOOD_MAMBU = [META]
GOOD_CONNECTFI = {
    "items": [{"applicationId": "a", "customerId": "c", "status": "running"}],
    "total": {"more": False},
}


@PROPERTY
@given(value=APITURE_PAGES)
@example(value=GOOD_APITURE_PAGE)
def test_any_apiture_page_is_typed_or_refused(
    runner: asyncio.Runner, value: object
) -> None:
    page = typed_or_refused(runner, apiture_page, dumps(value), Application)
    assert page is not None or value != GOOD_APITURE_PAGE
    if page is not None:
        assert page.total is None or 0 <= page.total <= INT32_MAX


@PROPERTY
@given(value=APITURE_RECORDS)
@example(value=GOOD_APITURE_RECORD)
def test_any_apiture_record_is_typed_or_refused(
    runner: asyncio.Runner, value: object
) -> None:
    found = typed_or_refused(runner, apiture_record, dumps(value), Application)
    assert found is not None or value != GOOD_APITURE_RECORD


@PROPERTY
@given(value=AUCO_ANSWERS)
@example(value=GOOD_AUCO)
def test_any_auco_answer_is_typed_or_refused(
    runner: asyncio.Runner, value: object
) -> None:
    document = typed_or_refused(runner, auco_document, dumps(value), Document)
    assert document is not None or value != GOOD_AUCO
    if document is not None:
        assert document.key == AUCO_CODE  # never another (or a made-up) document


@PROPERTY
@given(value=MAMBU_LISTS)
@example(value=GOOD_MAMBU)
def test_any_mambu_list_is_typed_or_refused(
    runner: asyncio.Runner, value: object
) -> None:
    page = typed_or_refused(runner, mambu_page, dumps(value), Document)
    assert page is not None or value != GOOD_MAMBU


@PROPERTY
@given(value=CONNECTFI_PAGES)
@example(value=GOOD_CONNECTFI)
def test_any_connectfi_page_is_typed_or_refused(
    runner: asyncio.Runner, value: object
) -> None:
    page = typed_or_refused(runner, connectfi_page, envelope(value), Application)
    assert page is not None or value != GOOD_CONNECTFI


def test_identical_mambu_lists_are_mapped_once_apiture_pages_every_time(
    runner: asyncio.Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adapters.apiture.client as apiture_client
    import adapters.mambu.client as mambu_client

    checked: list[bytes] = []

    def counting(adapter: Any, response: httpx.Response, provider: Provider) -> Any:
        checked.append(response.content)
        return validated(adapter, response, provider)

    monkeypatch.setattr(apiture_client, "validated", counting)
    monkeypatch.setattr(mambu_client, "validated", counting)
    # Mambu's document lists are kept as mapped by their bytes; Apiture's pages
    # are not (under varied traffic the same page's bytes hardly ever came again).
    for reader, body, other, memo in (
        (apiture_page, apiture_collection(count=1), apiture_collection(count=2), False),
        (mambu_page, dumps([META]), dumps([META, META]), True),
    ):
        checked.clear()
        canned = Canned()
        fetch = reader(canned)
        canned.body = body
        first = runner.run(fetch())
        again = runner.run(fetch())
        assert again.items == first.items
        assert (again.items[0] is first.items[0]) is memo  # as mapped the first time
        canned.body = other
        runner.run(fetch())
        assert canned.calls == 3  # the provider is still asked every time
        assert checked == ([body, other] if memo else [body, body, other])


async def test_a_misfit_auco_answer_costs_only_that_document(gateway: Gateway) -> None:
    gateway.auco.control.inject(
        "^/v1.5/ext/document$", Fault(status=200, body=b'{"code": "0", "data": {}}')
    )
    application = next(iter(gateway.apiture.store.application_ids))
    answer = await gateway.execute(
        "query Two($doc: ID!, $app: ID!) {"
        " document(id: $doc) { providerId } application(id: $app) { providerId } }",
        {
            "doc": ids.encode("Document", Provider.AUCO, "DEMOWAIT01"),
            "app": ids.encode("Application", Provider.APITURE, application),
        },
    )
    assert answer["data"]["document"] is None  # not one made up from the answer
    assert answer["data"]["application"] == {"providerId": application}
    [error] = answer["errors"]
    assert error["path"] == ["document"]
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["extensions"]["provider"] == "AUCO"


def test_a_connectfi_refusal_is_still_read_as_one(runner: asyncio.Runner) -> None:
    # Not the success shape: read again as a refusal, not called malformed.
    refusal = dumps({"code": "customerNotFound", "requestId": "r9", "context": {}})
    with pytest.raises(NotFound) as raised:
        read(runner, connectfi_page, refusal)
    assert (raised.value.provider_code, raised.value.request_id) == (
        "customerNotFound",
        "r9",
    )
