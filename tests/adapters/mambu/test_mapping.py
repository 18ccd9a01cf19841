"""Mambu JSON ⇄ domain, keys, content unquoting, and the upload rules."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from adapters.errors import ProviderError
from adapters.mambu import mapping
from adapters.mambu.sandbox import app as sandbox
from adapters.model import Document, DocumentStatus, Owner, OwnerKind, Provider

SEED_DOCUMENT = {
    "encodedKey": "8a13732d44cd56800144cf86625d01e7",
    "id": 59,
    "creationDate": "2014-03-17T10:11:34+0000",
    "lastModifiedDate": "2014-03-17T10:11:34+0000",
    "documentHolderKey": "8a13732d44bde36e0144bfbf7e41009b",
    "documentHolderType": "CLIENT",
    "name": "post_document_1",
    "type": "txt",
    "fileSize": 115,
    "originalFilename": "post_document_1",
    "location": "8a13732d44cd56800144cf86625d01e7",
    "createdByUserKey": "8a33ae49441c4fe101441c5fe42f0005",
    "userName": "Max Power",
}


def test_the_seeds_document_maps_to_the_domain() -> None:
    owner = Owner(OwnerKind.MAMBU_CLIENT, "1")
    assert mapping.document_from_json(SEED_DOCUMENT, owner) == Document(
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


def test_upper_case_types_and_odd_dates_do_not_break_a_document() -> None:
    body = {**SEED_DOCUMENT, "type": "PDF", "creationDate": "yesterday"}
    document = mapping.document_from_json(body, Owner(OwnerKind.MAMBU_USER, "demo"))
    assert (document.kind, document.file_extension) == ("PDF", "pdf")
    assert document.content_type == "application/pdf"
    assert document.created_at is None


@pytest.mark.parametrize(
    "body",
    [None, [], {"name": "x"}, {"encodedKey": "", "name": "x"}, {"encodedKey": 1}],
)
def test_a_malformed_document_is_a_provider_error(body: object) -> None:
    with pytest.raises(ProviderError):
        mapping.document_from_json(body, Owner(OwnerKind.MAMBU_CLIENT, "1"))
    with pytest.raises(ProviderError):
        mapping.documents_from_json(
            {"not": "a list"}, Owner(OwnerKind.MAMBU_CLIENT, "1")
        )


@pytest.mark.parametrize("kind", [h.owner_kind for h in mapping.HOLDERS])
def test_keys_give_back_the_owner_and_the_encoded_key(kind: OwnerKind) -> None:
    owner = Owner(kind, "id:with:colons")
    key = mapping.document_key(owner, "8aa0f78f444f763601444f7fb89e0001")
    parsed = mapping.parse_key(key)
    assert parsed is not None
    assert (parsed.owner, parsed.encoded_key) == (
        owner,
        "8aa0f78f444f763601444f7fb89e0001",
    )


def test_every_mambu_owner_kind_has_one_holder_type_and_collection() -> None:
    mambu_kinds = {k for k in OwnerKind if k.name.startswith("MAMBU_")}
    assert set(mapping.BY_OWNER_KIND) == mambu_kinds
    assert {h.collection: h.holder_type for h in mapping.HOLDERS} == {
        path: holder_type for path, (holder_type, _, _) in sandbox.COLLECTIONS.items()
    }


@pytest.mark.parametrize(
    "key", ["", "CLIENT", "CLIENT:1", "CLIENT::abc", "CLIENT:1:", "NOPE:1:abc"]
)
def test_strings_that_are_not_keys_parse_to_none(key: str) -> None:
    assert mapping.parse_key(key) is None


@pytest.mark.parametrize(
    ("body", "content"),
    [
        ('"ZmlsZSBjb250ZW50"', "ZmlsZSBjb250ZW50"),  # the seed's answer
        ('"YQ\\u003d\\u003d"\n', "YQ=="),  # a Java serializer's escapes
        ("ZmlsZSBjb250ZW50", "ZmlsZSBjb250ZW50"),  # unquoted, taken as is
    ],
)
def test_content_is_unquoted(body: str, content: str) -> None:
    assert mapping.content_from_body(body) == content


@pytest.mark.parametrize("body", ["", '{"returnCode": 0}', "[]", '"unterminated'])
def test_content_that_is_not_a_string_is_a_provider_error(body: str) -> None:
    with pytest.raises(ProviderError):
        mapping.content_from_body(body)


def test_the_upload_prefix_and_suffix_wrap_the_base64_into_the_seeds_body() -> None:
    holder = mapping.BY_OWNER_KIND[OwnerKind.MAMBU_CLIENT]
    prefix = mapping.upload_prefix(holder, "cstap_demo0001", 'ünï "q".pdf', "pdf")
    content = base64.b64encode(b"some bytes")
    body = json.loads(prefix + content + mapping.UPLOAD_SUFFIX)
    assert body == {
        "document": {
            "documentHolderKey": "cstap_demo0001",
            "documentHolderType": "CLIENT",
            "name": 'ünï "q".pdf',
            "type": "pdf",
        },
        "documentContent": content.decode(),
    }


def test_the_client_knows_the_same_rules_as_the_sandbox() -> None:
    assert {t.lower() for t in sandbox.ALLOWED_TYPES} == mapping.ALLOWED_EXTENSIONS
    assert set(mapping.FORBIDDEN_NAME_CHARACTERS) == sandbox.FORBIDDEN_NAME_CHARACTERS
    assert mapping.MAX_NAME_LENGTH == sandbox.MAX_NAME_LENGTH


NAMES = [
    "client_information",
    "john_photo",
    "scan.pdf",
    "SCAN.PDF",
    "scan.jpeg",
    "report.",
    "two.ext.pdf",
    "report.doc",
    "a" * 256,
    "a" * 257,
    "   ",
    *(f"bad{c}name" for c in "/<>|:&?*[]#\\\"'"),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("type_", ["pdf", "jpeg", "doc", "exe"])
def test_the_client_refuses_exactly_what_the_sandbox_refuses(
    name: str, type_: str
) -> None:
    _, violations = mapping.upload_type(name, f"upload.{type_}")
    assert (sandbox.name_problem(name, type_) is None) == (not violations)


@pytest.mark.parametrize(
    ("name", "filename", "type_", "paths"),
    [
        ("passport", "passport.JPG", "jpg", []),
        ("passport.jpg", "blob", "jpg", []),  # the file has none: the name's
        ("passport", "C:\\scans\\passport.png", "png", []),
        ("passport", "passport", None, [("file",)]),
        ("passport.pdf", "passport.jpg", "jpg", [("name",)]),
        ("passport", "virus.exe", "exe", [("file",)]),
        ("a:b", "a.pdf", "pdf", [("name",)]),
        ("a.b.c", "a.pdf", "pdf", [("name",)]),
    ],
)
def test_the_type_comes_from_the_file_and_violations_name_their_input(
    name: str, filename: str, type_: str | None, paths: list[tuple[str, ...]]
) -> None:
    found, violations = mapping.upload_type(name, filename)
    assert found == type_
    assert [v.path for v in violations] == paths


def test_return_codes_are_read_defensively() -> None:
    body = {"returnCode": 301, "returnStatus": "INVALID_CLIENT_ID", "errorSource": "x"}
    assert mapping.return_code(body) == mapping.ReturnCode(
        301, "INVALID_CLIENT_ID", "x"
    )
    assert mapping.return_code("oops") == mapping.ReturnCode(None, None, None)
    assert mapping.return_code({"returnCode": True}).code is None


def test_every_date_form_read_before_is_read_the_same() -> None:
    owner = Owner(OwnerKind.MAMBU_USER, "demo")
    expected = {
        "2014-03-17T10:11:34+0000": datetime(2014, 3, 17, 10, 11, 34, tzinfo=UTC),
        "2014-03-17T10:11:34Z": datetime(2014, 3, 17, 10, 11, 34, tzinfo=UTC),
        "2014-03-17T12:11:34+02:00": datetime(2014, 3, 17, 10, 11, 34, tzinfo=UTC),
        "2014-3-7T1:2:3+0000": datetime(2014, 3, 7, 1, 2, 3, tzinfo=UTC),  # strptime
        "2014-03-17T10:11:34.5+00:00": datetime(
            2014, 3, 17, 10, 11, 34, 500000, tzinfo=UTC
        ),
    }
    for text, when in expected.items():
        body = {**SEED_DOCUMENT, "creationDate": text}
        assert mapping.document_from_json(body, owner).created_at == when, text
