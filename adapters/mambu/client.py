"""Mambu core banking, API v1 Attachments: the gateway's client.

Seed: ``/work/shared/seeds/004_70f253724f9fbb2d.txt`` (authority), with
``reference/providers.md`` §4. The tenant base URL is the ``httpx.AsyncClient``'s
``base_url``; every call carries ``Authorization: Basic base64(user:password)``.
Endpoints used:

- ``GET /api/{collection}/{holder}/documents?offset=&limit=`` (list a holder's
  attachments: :meth:`MambuClient.list_documents`, :meth:`documents_for_owners`,
  :meth:`get_documents`, and the ownership checks);
- ``GET /api/documents/{encodedKey}`` (the content, a quoted base64 string:
  :meth:`get_contents`);
- ``POST /api/documents`` (JSON with the base64 content: :meth:`upload_document`);
- ``DELETE /api/documents/{encodedKey}`` (:meth:`delete_document`).

Choices:

- Keys are ``"{documentHolderType}:{holder id}:{encodedKey}"`` (see
  :mod:`adapters.mambu.mapping`). v1 has no metadata-by-document call, so
  :meth:`get_documents` lists each holder once (grouping the keys) and picks the
  documents out. The content and delete calls only need the encoded key, but they
  check first that the document belongs to the key's holder (one listing per holder,
  run alongside the content calls), so a key forged with someone else's encoded key
  and one's own holder reads or deletes nothing.
- Paging: :meth:`list_documents` asks for ``limit + 1`` and trims, so ``has_more`` is
  exact (at ``limit`` 1000, Mambu's maximum, it falls back to "a full page came
  back"); ``total`` is None, v1 does not say. Whole-holder listings ask for pages of
  1000, i.e. one call per holder in practice.
- Uploads are validated first with the seed's rules (name, forbidden characters, one
  extension matching ``type``, the extension list, the size limit), raising
  ``ValidationFailed`` / ``UploadTooLarge`` before any upstream call. ``type`` is the
  uploaded file's extension (the name's when the file has none). The JSON body is
  then *streamed*: its prefix, the file's base64 encoded 48 KiB (a multiple of 3) at
  a time, and its suffix, with a ``Content-Length`` computed from ``upload.size``,
  so at most one chunk's base64 is ever in memory.
- Keys and holder ids outside Mambu's grammar (:mod:`adapters.transport.keys`) are
  ``NotFound`` with no call; each is one encoded path segment
  (:mod:`adapters.transport.paths`).
- ``documentHolderKey`` is sent as the owner's id as the caller gives it; the seed
  calls it the holder's encoded key, which a real tenant may insist on (the sandbox
  accepts either).
- Errors: :mod:`adapters.mambu.errors` (429 and 5xx are
  :func:`adapters.transport.http.send`'s); the streamed upload body is
  :mod:`adapters.mambu.upload`'s.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from typing import TypeVar

import httpx

from adapters import batches
from adapters.errors import (
    AdapterError,
    NotFound,
    UploadTooLarge,
    ValidationFailed,
    Violation,
)
from adapters.mambu import answers, mapping
from adapters.mambu.errors import no_document, raise_for
from adapters.mambu.mapping import PROVIDER, DocumentKey, HolderKind
from adapters.mambu.upload import json_body
from adapters.model import Document, Owner, Page, Upload
from adapters.transport.http import RequestBuilder, send, validated
from adapters.transport.keys import mambu_document_key, mambu_holder
from adapters.transport.memo import MappedAnswers
from adapters.transport.paths import route

MAX_UPLOAD_BYTES = 15 * 1024 * 1024  # the seed: "maximum 15 MB size"
MAX_LIMIT = 1000  # Mambu v1's largest page

K = TypeVar("K")
V = TypeVar("V")


class MambuClient:
    """Attachments on Mambu clients, groups, accounts, products, branches, centres
    and users. One instance per process, shared by every request."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        username: str,
        password: str,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        max_concurrency: int = 16,
    ) -> None:
        self._http = http
        self._lists = MappedAnswers()  # document lists as mapped, by their bytes
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"
        # Every call's headers, made into the builder's defaults once.
        self._build = RequestBuilder(
            http,
            headers={
                "Authorization": self._authorization,
                "Accept": "application/json",
            },
        )
        self.max_upload_bytes = max_upload_bytes
        self._slots = asyncio.Semaphore(max_concurrency)

    # reads ----------------------------------------------------------------------------

    async def list_documents(
        self, owner: Owner, *, offset: int, limit: int
    ) -> Page[Document]:
        """One page of the owner's attachments, newest first."""
        violations = []
        if offset < 0:
            violations.append(Violation(("after",), "The offset must be 0 or more."))
        if not 1 <= limit <= MAX_LIMIT:
            violations.append(
                Violation(("first",), f"Ask for 1 to {MAX_LIMIT} documents.")
            )
        if violations:
            raise ValidationFailed(
                mapping.violations_message(violations), violations, provider=PROVIDER
            )
        holder = _holder(owner)
        asked = limit + 1 if limit < MAX_LIMIT else limit
        found = await self._list(holder, owner, offset, asked)
        return Page(
            items=found[:limit],
            offset=offset,
            total=None,
            has_more=len(found) > limit or (asked == limit and len(found) == limit),
        )

    async def documents_for_owners(
        self, owners: Sequence[Owner]
    ) -> Mapping[Owner, Sequence[Document] | AdapterError]:
        """Every attachment of each owner: one listing per distinct owner,
        concurrently (bounded by ``max_concurrency``)."""
        return await batches.each(owners, self._list_all)

    async def get_documents(
        self, keys: Sequence[str]
    ) -> Mapping[str, Document | AdapterError]:
        """Metadata by key; each holder is listed once, whatever the number of keys."""
        parsed, refused = self._parse_keys(keys)
        result: dict[str, Document | AdapterError] = dict(refused)
        holders = await self.documents_for_owners([k.owner for k in parsed.values()])
        for key, document_key in parsed.items():
            listed = holders[document_key.owner]
            if isinstance(listed, AdapterError):
                result[key] = listed
                continue
            result[key] = next(
                (d for d in listed if d.provider_id == document_key.encoded_key),
                no_document(),
            )
        return result

    async def get_contents(
        self, keys: Sequence[str]
    ) -> Mapping[str, str | AdapterError]:
        """The base64 content of each document, checked to belong to its key's
        holder (the holders listed once each, alongside the content calls)."""
        parsed, refused = self._parse_keys(keys)
        result: dict[str, str | AdapterError] = dict(refused)
        members, contents = await asyncio.gather(
            self._members([k.owner for k in parsed.values()]),
            batches.each(list(parsed), lambda key: self._content(parsed[key])),
        )
        for key, document_key in parsed.items():
            belongs = members[document_key.owner]
            content = contents[key]
            if isinstance(belongs, AdapterError):
                result[key] = belongs
            elif document_key.encoded_key not in belongs:
                result[key] = no_document()
            else:
                result[key] = content
        return result

    # writes ---------------------------------------------------------------------------

    async def upload_document(
        self, owner: Owner, *, name: str, upload: Upload
    ) -> Document:
        """Attach ``upload`` to ``owner`` under ``name``; refused before any upstream
        call when the seed's rules or the size limit say no."""
        holder = mapping.BY_OWNER_KIND.get(owner.kind)
        type_, violations = mapping.upload_type(name, upload.filename)
        if holder is None:
            violations.insert(
                0, Violation(("owner",), "Mambu documents belong to a Mambu holder.")
            )
        if upload.size > self.max_upload_bytes:
            raise UploadTooLarge(
                f"Mambu accepts files up to {self.max_upload_bytes} bytes.",
                limit=self.max_upload_bytes,
                provider=PROVIDER,
            )
        if holder is not None and not mambu_holder(owner.id):
            raise NotFound(f"Mambu has no such {holder.noun}", provider=PROVIDER)
        if upload.size <= 0:
            violations.append(Violation(("file",), "The file is empty."))
        if violations or holder is None or type_ is None:
            raise ValidationFailed(
                mapping.violations_message(violations), violations, provider=PROVIDER
            )
        prefix = mapping.upload_prefix(holder, owner.id, name, type_)
        suffix = mapping.UPLOAD_SUFFIX
        length = len(prefix) + 4 * -(-upload.size // 3) + len(suffix)
        request = self._http.build_request(
            "POST",
            "/api/documents",
            headers={
                "Authorization": self._authorization,
                "Content-Type": "application/json",
                "Content-Length": str(length),
            },
            content=json_body(prefix, upload.file, upload.size, suffix),
        )
        async with self._slots:
            response = await send(self._http, PROVIDER, request)
        raise_for(response, self.max_upload_bytes, f"Mambu has no such {holder.noun}")
        meta = validated(answers.DOCUMENT, response, PROVIDER)
        return mapping.document_answer(meta, owner)

    async def delete_document(self, key: str) -> None:
        """Delete the document, once it is known to belong to the key's holder."""
        document_key = _parse_key(key)
        if document_key is None:
            raise no_document()
        members = (await self._members([document_key.owner]))[document_key.owner]
        if isinstance(members, AdapterError):
            raise members
        if document_key.encoded_key not in members:
            raise no_document()
        request = self._request(
            "DELETE", route("/api/documents/{key}", key=document_key.encoded_key)
        )
        async with self._slots:
            response = await send(self._http, PROVIDER, request)
        raise_for(response, self.max_upload_bytes, "Mambu has no such document")

    # internals ------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, params: Mapping[str, int] | None = None
    ) -> httpx.Request:
        return self._build(method, path, params=params)

    async def _list(
        self, holder: HolderKind, owner: Owner, offset: int, limit: int
    ) -> list[Document]:
        path = route(f"/api/{holder.collection}/{{holder}}/documents", holder=owner.id)
        request = self._request("GET", path, {"offset": offset, "limit": limit})
        async with self._slots:
            response = await send(self._http, PROVIDER, request)
        raise_for(response, self.max_upload_bytes, f"Mambu has no such {holder.noun}")
        found: tuple[Document, ...] | None = self._lists.get(owner, response.content)
        if found is None:
            metas = validated(answers.DOCUMENTS, response, PROVIDER)
            found = tuple(mapping.documents_answer(metas, owner))
            self._lists.put(owner, response.content, found)
        return list(found)

    async def _list_all(self, owner: Owner) -> list[Document]:
        holder = _holder(owner)
        documents: list[Document] = []
        while True:
            page = await self._list(holder, owner, len(documents), MAX_LIMIT)
            documents += page
            if len(page) < MAX_LIMIT:
                return documents

    async def _members(
        self, owners: Sequence[Owner]
    ) -> Mapping[Owner, frozenset[str] | AdapterError]:
        listed = await self.documents_for_owners(owners)
        return {
            owner: found
            if isinstance(found, AdapterError)
            else frozenset(d.provider_id for d in found if d.provider_id)
            for owner, found in listed.items()
        }

    async def _content(self, document_key: DocumentKey) -> str:
        path = route("/api/documents/{key}", key=document_key.encoded_key)
        async with self._slots:
            response = await send(self._http, PROVIDER, self._request("GET", path))
        raise_for(response, self.max_upload_bytes, "Mambu has no such document")
        return mapping.content_from_body(response.text)

    @staticmethod
    def _parse_keys(
        keys: Sequence[str],
    ) -> tuple[dict[str, DocumentKey], dict[str, AdapterError]]:
        """The keys that name a Mambu document; the others, answered NotFound."""
        parsed: dict[str, DocumentKey] = {}
        refused: dict[str, AdapterError] = {}
        for key in dict.fromkeys(keys):
            document_key = _parse_key(key)
            if document_key is None:
                refused[key] = no_document()
            else:
                parsed[key] = document_key
        return parsed, refused


def _holder(owner: Owner) -> HolderKind:
    holder = mapping.BY_OWNER_KIND.get(owner.kind)
    if holder is None:
        raise NotFound("Mambu holds no documents for that owner", provider=PROVIDER)
    if not mambu_holder(owner.id):
        raise NotFound(f"Mambu has no such {holder.noun}", provider=PROVIDER)
    return holder


def _parse_key(key: str) -> DocumentKey | None:
    """The key's parts when it fits the grammar (:mod:`adapters.transport.keys`), else
    None."""
    return mapping.parse_key(key) if mambu_document_key(key) else None
