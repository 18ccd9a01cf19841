"""For every string as a key, every adapter method that takes one keeps it in place.

A recording transport stands in for each provider: it keeps every request and
answers 404 (connectFi's login excepted). For each key and each method the
property is: a key outside the provider's grammar (adapters/transport/keys.py) makes no
upstream call at all; a key inside it reaches the provider as one path segment
or one query value, so the path holds exactly the adapter's own segments and the
query exactly the parameters the adapter set, with no fragment.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.apiture.client import ApitureClient
from adapters.auco.client import AucoClient
from adapters.connectfi.checks import is_id
from adapters.connectfi.client import ConnectFiClient
from adapters.errors import AdapterError
from adapters.mambu import mapping as mambu_mapping
from adapters.mambu.client import MambuClient
from adapters.model import (
    Action,
    ApplicationInput,
    EnrollmentInput,
    Owner,
    Provider,
    Upload,
)
from adapters.transport import keys
from schema import ids
from tests.schema.multipart import jpeg, pdf

PROPERTY = settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

HOSTILE = [
    "",
    ".",
    "..",
    "../enrollments/x",
    "a/../../b",
    "x?admin=true&x=",
    "A#frag",
    "a%2Fb",
    "%2e%2e",
    "a b",
    "a\nb",
    "a\x00b",
    "é",
    "\u202e",
    "a" * 300,
    "a:b",
    "a;b",
    "a\\b",
    "@",
]
# Arbitrary text, text that fits the grammars, and known attacks.
KEYS = st.one_of(
    st.text(max_size=80),
    st.from_regex(r"[A-Za-z0-9_.@-]{1,70}", fullmatch=True),
    st.sampled_from(HOSTILE),
)
HOLDER_TYPES = st.sampled_from([h.holder_type for h in mambu_mapping.HOLDERS])
MAMBU_DOCUMENT_KEYS = st.one_of(
    KEYS,
    st.builds("{}:{}:{}".format, st.one_of(HOLDER_TYPES, KEYS), KEYS, KEYS),
    st.builds(
        "{}:{}:{}".format,
        HOLDER_TYPES,
        st.from_regex(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,40}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
    ),
)


@dataclass(frozen=True)
class Expected:
    method: str
    segments: tuple[str, ...]  # after the base path, decoded
    query: dict[str, list[str]]


class Recorder:
    """A transport that keeps what was sent and answers 404."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.requests: list[httpx.Request] = []

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.MockTransport(self._answer), base_url=self.base
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/auth/get-token"):
            data = {"token": "t", "dtsExpireAt": "2999-01-01T00:00:00Z"}
            return httpx.Response(200, json={"code": "0", "data": data})
        return httpx.Response(404, json={"message": "not found"})

    def sent(self) -> list[httpx.Request]:
        return [r for r in self.requests if not r.url.path.endswith("/get-token")]

    def check(self, valid: bool, expected: list[Expected]) -> None:
        sent = self.sent()
        if not valid:
            assert self.requests == [], [str(r.url) for r in self.requests]
            return
        assert sent, "a valid key made no call"
        base = httpx.URL(self.base).raw_path.rstrip(b"/").split(b"/")
        for request in sent:
            url = request.url
            assert url.fragment == ""
            raw = url.raw_path.split(b"?", 1)[0].split(b"/")
            assert raw[: len(base)] == base
            segments = tuple(unquote(s.decode("ascii")) for s in raw[len(base) :])
            query = parse_qs(url.query.decode("ascii"), keep_blank_values=True)
            assert Expected(request.method, segments, query) in expected, (
                request.method,
                segments,
                query,
            )


def run(calls: list[Callable[[], Awaitable[object]]]) -> None:
    async def all_of() -> None:
        for call in calls:
            # The 404 (or the refusal) is the provider's answer.
            with contextlib.suppress(AdapterError):
                await call()

    asyncio.run(all_of())


def _upload(content: bytes, name: str, content_type: str) -> Upload:
    return Upload(name, content_type, len(content), io.BytesIO(content))


@PROPERTY
@given(key=KEYS)
def test_apiture_keys_stay_in_their_segment(key: str) -> None:
    recorder = Recorder("http://apiture.test/accountApplications")
    http = recorder.client()
    client = ApitureClient(http, etag_cache_bytes=0)
    changes = ApplicationInput(account_name="n")
    run(
        [
            lambda: client.get_applications([key]),
            lambda: client.get_enrollments([key]),
            lambda: client.update_application(key, changes, "e"),
            lambda: client.replace_application(key, changes, None),
            lambda: client.delete_application(key, "e"),
            lambda: client.act_on_application(key, Action.CANCEL, None),
            lambda: client.update_enrollment(key, EnrollmentInput(), "e"),
            lambda: client.replace_enrollment(key, EnrollmentInput(), None),
            lambda: client.delete_enrollment(key),
            lambda: client.act_on_enrollment(key, Action.APPROVE, None),
        ]
    )
    item = [
        Expected(method, (collection, key), {})
        for method in ("GET", "PATCH", "DELETE")
        for collection in ("applications", "enrollments")
    ]
    actions = [
        Expected("POST", ("canceledApplications",), {"application": [key]}),
        Expected("POST", ("approvedEnrollments",), {"enrollment": [key]}),
    ]
    recorder.check(keys.apiture_id(key), item + actions)
    if keys.apiture_id(key):
        assert len(recorder.sent()) == 10


@PROPERTY
@given(key=KEYS)
def test_connectfi_keys_stay_in_their_segment(key: str) -> None:
    recorder = Recorder("http://connectfi.test")
    client = ConnectFiClient(recorder.client(), login="l", password="p")
    image = _upload(jpeg(512), "id.jpg", "image/jpeg")
    run([lambda: client.upload_document(key, image)])
    recorder.check(
        is_id(key), [Expected("POST", ("akepa", "document", "upload", key), {})]
    )


@PROPERTY
@given(key=KEYS, customer=KEYS)
def test_connectfi_application_keys_are_checked_before_any_call(
    key: str, customer: str
) -> None:
    recorder = Recorder("http://connectfi.test")
    client = ConnectFiClient(recorder.client(), login="l", password="p")
    pair = f"{customer}:{key}"
    run([lambda: client.get_applications([pair])])
    recorder.check(
        keys.connectfi_application_key(pair),
        [Expected("POST", ("akepa", "status"), {})],
    )
    if keys.connectfi_application_key(pair):
        (status,) = recorder.sent()
        assert status.content == (
            f'{{"customerId":"{customer}","applicationId":"{key}"}}'.encode()
        )


@PROPERTY
@given(key=KEYS)
def test_auco_codes_stay_in_their_query_value(key: str) -> None:
    recorder = Recorder("http://auco.test/v1.5/ext")
    client = AucoClient(recorder.client(), private_key="prk", public_key="puk")
    run(
        [
            lambda: client.get_documents([key]),
            lambda: client.cancel_signature(key),
        ]
    )
    recorder.check(
        keys.auco_code(key),
        [
            Expected("GET", ("document",), {"code": [key]}),
            Expected("POST", ("document", "cancel"), {}),
        ],
    )


@PROPERTY
@given(key=MAMBU_DOCUMENT_KEYS)
def test_mambu_document_keys_stay_in_their_segment(key: str) -> None:
    recorder = Recorder("http://mambu.test")
    client = MambuClient(recorder.client(), username="u", password="p")
    run(
        [
            lambda: client.get_documents([key]),
            lambda: client.get_contents([key]),
            lambda: client.delete_document(key),
        ]
    )
    parsed = mambu_mapping.parse_key(key)
    expected = []
    if parsed is not None:
        collection = parsed.holder.collection
        query = {"offset": ["0"], "limit": ["1000"]}
        expected = [
            Expected("GET", ("api", collection, parsed.holder_id, "documents"), query),
            Expected("GET", ("api", "documents", parsed.encoded_key), {}),
        ]
    recorder.check(keys.mambu_document_key(key), expected)


@PROPERTY
@given(holder=KEYS, kind=st.sampled_from(mambu_mapping.HOLDERS))
def test_mambu_holder_ids_stay_in_their_segment(
    holder: str, kind: mambu_mapping.HolderKind
) -> None:
    recorder = Recorder("http://mambu.test")
    client = MambuClient(recorder.client(), username="u", password="p")
    owner = Owner(kind.owner_kind, holder)
    document = _upload(pdf(512), "cv.pdf", "application/pdf")
    run(
        [
            lambda: client.list_documents(owner, offset=0, limit=5),
            lambda: client.documents_for_owners([owner]),
            lambda: client.upload_document(owner, name="cv.pdf", upload=document),
        ]
    )
    listing = ("api", kind.collection, holder, "documents")
    recorder.check(
        keys.mambu_holder(holder),
        [
            Expected("GET", listing, {"offset": ["0"], "limit": ["6"]}),
            Expected("GET", listing, {"offset": ["0"], "limit": ["1000"]}),
            Expected("POST", ("api", "documents"), {}),
        ],
    )
    if keys.mambu_holder(holder):
        assert len(recorder.sent()) == 3


def test_the_key_strategies_reach_both_sides_of_every_grammar() -> None:
    """The properties above are worth something only if both branches run."""
    found: dict[str, set[bool]] = {}

    @settings(derandomize=True, max_examples=120, database=None)
    @given(key=KEYS, document=MAMBU_DOCUMENT_KEYS)
    def sample(key: str, document: str) -> None:
        for name, ok in {
            "apiture": keys.apiture_id(key),
            "connectfi": is_id(key),
            "auco": keys.auco_code(key),
            "mambu holder": keys.mambu_holder(key),
            "mambu document": keys.mambu_document_key(document),
        }.items():
            found.setdefault(name, set()).add(ok)

    sample()
    assert all(seen == {True, False} for seen in found.values()), found


@PROPERTY
@given(
    key=st.one_of(KEYS, MAMBU_DOCUMENT_KEYS),
    typename=st.sampled_from(["Application", "Enrollment", "Document"]),
    provider=st.sampled_from(list(Provider)),
)
def test_a_global_id_decodes_only_when_its_key_fits_the_grammar(
    key: str, typename: str, provider: Provider
) -> None:
    found = ids.decode(ids.encode(typename, provider, key))
    if keys.is_key(typename, provider, key):
        assert found == ids.GlobalId(typename, provider, key)
    else:
        assert found is None
