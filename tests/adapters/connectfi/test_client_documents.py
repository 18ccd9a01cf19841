"""ConnectFiClient's documents: generate (seed 000), then a streamed upload."""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import UTC, datetime

import pytest

from adapters.connectfi.client import ConnectFiClient
from adapters.errors import NotFound, ValidationFailed
from adapters.model import Document, DocumentStatus, Provider, Upload
from adapters.sandbox_kit import Controlled

from .support import logins, paths

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff\xe0"


class ReadRecordingFile(io.BytesIO):
    """A file that remembers how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int | None] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads.append(size)
        return super().read(size)


def upload_of(
    data: bytes, filename: str = "licence.png", content_type: str | None = "image/png"
) -> Upload:
    return Upload(
        filename=filename,
        content_type=content_type,
        size=len(data),
        file=ReadRecordingFile(data),
    )


async def generated(client: ConnectFiClient, extension: str = "png") -> Document:
    return await client.generate_document(
        workflow="PERSONAL", name="license", extension=extension, type="license"
    )


async def test_generating_the_seed_example_gives_an_awaiting_document(
    client: ConnectFiClient, app: Controlled
) -> None:
    document = await client.generate_document(
        workflow="PERSONAL", name="license", extension="jpg", type="license"
    )
    assert document == Document(
        provider=Provider.CONNECTFI,
        key=document.key,
        name="license",
        status=DocumentStatus.AWAITING_UPLOAD,
        kind="license",
        file_extension="jpg",
        content_type="image/jpeg",
        created_at=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
    )
    assert document.key in app.store.documents
    assert paths(app) == ["/auth/get-token", "/akepa/document/generate"]
    sent = app.control.requests[-1]
    assert sent.headers["x-connectfi-token"] in app.store.tokens
    # Exactly the seed's request body: absent optionals are left out.
    assert json.loads(sent.body) == {
        "workflow": "PERSONAL",
        "name": "license",
        "extension": "jpg",
        "type": "license",
    }


async def test_the_optional_note_and_author_are_sent(
    client: ConnectFiClient, app: Controlled
) -> None:
    await client.generate_document(
        workflow="BUSINESS",
        name="Articles of incorporation",
        extension="png",
        type="contract",
        note="front page",
        note_author_agent_email="agent@bank.example",
    )
    assert json.loads(app.control.requests[-1].body) == {
        "workflow": "BUSINESS",
        "name": "Articles of incorporation",
        "extension": "png",
        "type": "contract",
        "note": "front page",
        "note_author_agent_email": "agent@bank.example",
    }


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"name": "<b>license</b>"}, ("name",)),
        ({"name": "n" * 51}, ("name",)),
        ({"name": ""}, ("name",)),
        ({"name": "   "}, ("name",)),
        ({"extension": "gif"}, ("extension",)),
        ({"type": "selfie"}, ("type",)),
        ({"workflow": "personal"}, ("workflow",)),
        ({"note": "a > b"}, ("note",)),
        ({"note": "x" * 501}, ("note",)),
        ({"note_author_agent_email": "agent at bank"}, ("noteAuthorAgentEmail",)),
    ],
)
async def test_a_document_connectfi_would_refuse_is_refused_without_a_call(
    client: ConnectFiClient,
    app: Controlled,
    change: dict[str, str],
    path: tuple[str, ...],
) -> None:
    arguments = {
        "workflow": "PERSONAL",
        "name": "license",
        "extension": "jpg",
        "type": "license",
        **change,
    }
    with pytest.raises(ValidationFailed) as caught:
        await client.generate_document(**arguments)
    assert {v.path for v in caught.value.violations} == {path}
    assert caught.value.provider is Provider.CONNECTFI
    assert app.control.requests == []


async def test_a_ten_megabyte_upload_arrives_byte_identical_and_streamed(
    client: ConnectFiClient, app: Controlled
) -> None:
    document = await generated(client)
    data = PNG + os.urandom(10 * 1024 * 1024 - len(PNG))
    upload = upload_of(data)
    uploaded = await client.upload_document(document.key, upload)

    assert uploaded == Document(
        provider=Provider.CONNECTFI,
        key=document.key,
        name="license",
        status=DocumentStatus.UPLOADED,
        kind="license",
        file_extension="png",
        content_type="image/png",
        size=len(data),
        created_at=document.created_at,
    )
    stored = app.store.documents[document.key]
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content == data
    # Streamed: read in bounded chunks, never whole.
    assert isinstance(upload.file, ReadRecordingFile)
    reads = upload.file.reads
    assert len(reads) > 100
    assert all(size is not None and 0 < size <= 1024 * 1024 for size in reads)

    sent = app.control.requests[-1]
    assert sent.path == f"/akepa/document/upload/{document.key}"
    assert sent.headers["x-connectfi-token"] in app.store.tokens
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="licence.png"' in sent.body[:300]
    assert b"Content-Type: image/png" in sent.body[:300]


async def test_an_upload_refused_for_its_token_is_sent_again_whole(
    client: ConnectFiClient, app: Controlled
) -> None:
    document = await generated(client, extension="jpg")
    app.store.revoke_tokens()
    data = JPEG + bytes(range(256)) * 1000
    uploaded = await client.upload_document(
        document.key, upload_of(data, "scan.jpeg", "image/jpeg")
    )
    assert uploaded.status is DocumentStatus.UPLOADED
    assert app.store.documents[document.key].content == data
    assert app.control.calls("POST", "/akepa/document/upload/.*") == 2
    assert logins(app) == 2


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"GIF89a" + b"\0" * 100, "licence.gif", "image/gif"),
        (b"GIF89a" + b"\0" * 100, "licence.png", "image/png"),  # content lies
        (PNG + b"\0" * 100, "licence.jpg", "image/png"),  # name disagrees
        (PNG + b"\0" * 100, "licence.png", "application/pdf"),
        (b"", "licence.png", "image/png"),
    ],
)
async def test_a_file_that_is_not_a_jpeg_or_png_is_refused_without_a_call(
    client: ConnectFiClient,
    app: Controlled,
    data: bytes,
    filename: str,
    content_type: str,
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await client.upload_document(
            "doc_71YxuRUnKqLhOWriDJFMI2", upload_of(data, filename, content_type)
        )
    assert [v.path for v in caught.value.violations] == [("file",)]
    assert app.control.requests == []


async def test_an_untyped_file_is_judged_by_its_content(
    client: ConnectFiClient, app: Controlled
) -> None:
    document = await generated(client)
    upload = upload_of(PNG + b"\1" * 10, "scan", None)
    uploaded = await client.upload_document(document.key, upload)
    assert uploaded.status is DocumentStatus.UPLOADED
    assert b"Content-Type: image/png" in app.control.requests[-1].body[:300]


async def test_uploading_to_an_unknown_document_is_not_found(
    client: ConnectFiClient, app: Controlled
) -> None:
    with pytest.raises(NotFound) as caught:
        await client.upload_document("doc_nothere", upload_of(PNG))
    assert caught.value.provider_code == "documentNotFound"
    assert caught.value.request_id is not None
    assert paths(app) == ["/auth/get-token", "/akepa/document/upload/doc_nothere"]


@pytest.mark.parametrize("document_id", ["", "../akepa/list", "doc x", "doc/1"])
async def test_a_document_id_connectfi_cannot_have_is_not_found_without_a_call(
    client: ConnectFiClient, app: Controlled, document_id: str
) -> None:
    with pytest.raises(NotFound):
        await client.upload_document(document_id, upload_of(PNG))
    assert app.control.requests == []
