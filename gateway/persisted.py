"""Persisted queries: Apollo's automatic persisted queries, and an allowlist.

A client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": H}``
without the query text. When the gateway knows ``H`` it runs that operation;
otherwise it answers ``PERSISTED_QUERY_NOT_FOUND`` and the client sends the text
with the hash once, which registers it. Modes (``GATEWAY_PERSISTED_QUERIES``):

``off``
    Hash-only requests answer ``PERSISTED_QUERY_NOT_SUPPORTED``; text runs.
``apq``
    Automatic persisted queries: known hashes come from the manifest and from an
    in-memory LRU registry filled by clients (per process; a replica that has not
    seen a hash simply asks for the text once).
``allowlist``
    Production: only operations of the manifest run, by hash or by text (matched
    on its normalized form). Anything else is refused with ``FORBIDDEN`` (403).
    A text that passes is registered under the client's own hash, so an APQ
    client sends it once, as in ``apq`` mode; nothing else ever is.
``report``
    As ``apq``, and each operation missing from the manifest is logged once, so
    a rollout can find what the allowlist would refuse before it refuses it.

Fleet: hashes clients registered are shared by every replica when the app is
given a ``SharedQueries`` store (``gateway.state.persisted``, Redis): a replica
that does not know a hash looks there before answering not-found, and each
registration is written there too. Such a store fails open: when it cannot be
reached each replica serves what it knows itself (and the client sends the text
once more), with a warning and a counter.

The manifest is Apollo's persisted-query manifest format (``gateway
persisted-manifest`` writes it from ``operations/``): ids are the SHA-256 of the
normalized body.

Clients add ``__typename``: Apollo Client 4 always does (its cache needs it;
the ``addTypename: false`` of version 3 is gone), and so does urql, to every
selection set but the operation's root. So a text matches a manifest operation
when the two are the same once every plain ``__typename`` (no alias, no
directive) is taken out of both. That is safe: ``__typename`` takes no argument,
calls no provider and costs nothing, so the operation that runs is the listed
one plus or minus type names; an aliased ``__typename`` still has to be listed.
The manifest itself stays the operations as written, so its ids are also what
a client that sends manifest ids (Apollo's ``persisted-query-lists``) sends.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from graphql import REMOVE, DocumentNode, FieldNode, GraphQLError, Visitor, parse, visit

from gateway.operations import DEFAULT_DIR, Operation, normalize, sha256

logger = logging.getLogger(__name__)

DEFAULT_MANIFEST = DEFAULT_DIR / "persisted-queries.json"
MANIFEST_FORMAT = "apollo-persisted-query-manifest"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Mode(StrEnum):
    OFF = "off"
    APQ = "apq"
    ALLOWLIST = "allowlist"
    REPORT = "report"


class PersistedQueryError(Exception):
    """A refusal, shaped as the GraphQL error the client gets."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def not_found() -> PersistedQueryError:
    # Message and code are the protocol: Apollo clients match on them to retry.
    return PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")


def not_supported() -> PersistedQueryError:
    return PersistedQueryError(
        "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported"
    )


def not_allowed() -> PersistedQueryError:
    return PersistedQueryError(
        "FORBIDDEN", "This operation is not in the gateway's allowlist.", 403
    )


def bad_input(message: str) -> PersistedQueryError:
    return PersistedQueryError("BAD_USER_INPUT", message, 400)


@dataclass(frozen=True)
class Manifest:
    """Operation bodies by the SHA-256 of their normalized text."""

    bodies: Mapping[str, str]

    @classmethod
    def from_operations(cls, operations: Iterable[Operation]) -> Manifest:
        return cls({o.sha256: o.body for o in operations})

    @classmethod
    def load(cls, path: Path) -> Manifest:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"{path} is not an {MANIFEST_FORMAT}")
        return cls({op["id"]: op["body"] for op in document["operations"]})

    def __contains__(self, text: str) -> bool:
        """Whether the manifest holds this operation, however it is laid out and
        whatever plain ``__typename`` a client added or left out."""
        if sha256(text) in self.bodies:
            return True
        try:
            document = parse(text)
        except GraphQLError:
            return False
        return (
            sha256(normalize(document)) in self.bodies
            or typename_free(document) in self._typename_free
        )

    @cached_property
    def _typename_free(self) -> frozenset[str]:
        return frozenset(typename_free(parse(b)) for b in self.bodies.values())


class _PlainTypename(Visitor):
    def enter_field(self, node: FieldNode, *_: object) -> object:
        plain = node.name.value == "__typename" and not node.alias
        return REMOVE if plain and not node.directives else None


def typename_free(document: DocumentNode) -> str:
    """The SHA-256 of ``document`` normalized, with every plain ``__typename``
    taken out: what Apollo Client and urql add is not a difference."""
    return sha256(normalize(visit(document, _PlainTypename())))


def manifest_json(operations: Iterable[Operation]) -> str:
    """The manifest of ``operations``, as committed (stable order, trailing LF)."""
    entries = [
        {"id": o.sha256, "name": o.name, "type": o.kind, "body": o.body}
        for o in sorted(operations, key=lambda o: o.name)
    ]
    document = {"format": MANIFEST_FORMAT, "version": 1, "operations": entries}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


class SharedQueries(Protocol):
    """Registered query texts by hash, shared by replicas; never raises (a store
    that fails answers None and drops the write)."""

    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, query: str) -> None: ...


class PersistedQueries:
    """Turns a request's ``query`` and ``extensions`` into the text to run."""

    def __init__(
        self,
        mode: Mode,
        manifest: Manifest | None = None,
        cache_size: int = 1000,
        shared: SharedQueries | None = None,
    ) -> None:
        if mode is Mode.ALLOWLIST and manifest is None:
            raise ValueError("the allowlist mode needs a manifest")
        self.mode = mode
        self.manifest = manifest or Manifest({})
        self.shared = shared
        self._registered: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size
        self._reported: set[str] = set()
        self.hits = 0  # hashes found (the metrics read these)
        self.misses = 0  # hashes not found: PERSISTED_QUERY_NOT_FOUND

    async def resolve_shared(
        self, query: str | None, extensions: Mapping[str, Any] | None
    ) -> str | None:
        """``resolve``, with the hashes other replicas registered."""
        if self.shared is None:
            return self.resolve(query, extensions)
        try:
            resolved = self.resolve(query, extensions)
        except PersistedQueryError as exc:
            if exc.code != "PERSISTED_QUERY_NOT_FOUND":
                raise
            digest = _digest((extensions or {}).get("persistedQuery"))
            body = await self.shared.get(digest)
            if body is None or sha256(body) != digest:
                raise
            self._check_listed(body)  # the allowlist holds here too
            self._register(digest, body)
            return body
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is not None and query is not None:
            digest = _digest(persisted)
            if self._registered.get(digest) == query:  # registered just now
                await self.shared.put(digest, query)
        return resolved

    def resolve(
        self, query: str | None, extensions: Mapping[str, Any] | None
    ) -> str | None:
        """The query to run; ``None`` when the request carries none at all.

        Raises ``PersistedQueryError`` for a refusal.
        """
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is not None:
                self._check_listed(query)
            return query
        if self.mode is Mode.OFF:
            raise not_supported()
        digest = _digest(persisted)
        if query is None:
            return self._lookup(digest)
        if sha256(query) != digest:
            raise bad_input("provided sha does not match query")
        self._check_listed(query)
        self._register(digest, query)  # in allowlist mode, only what is listed
        return query

    def _lookup(self, digest: str) -> str:
        body = self.manifest.bodies.get(digest)
        if body is None:
            body = self._registered.get(digest)
            if body is not None:
                self._registered.move_to_end(digest)
        if body is None:
            self.misses += 1
            raise not_found()
        self.hits += 1
        return body

    def _register(self, digest: str, query: str) -> None:
        self._registered[digest] = query
        self._registered.move_to_end(digest)
        while len(self._registered) > self._cache_size:
            self._registered.popitem(last=False)

    def _check_listed(self, query: str) -> None:
        if self.mode not in (Mode.ALLOWLIST, Mode.REPORT) or query in self.manifest:
            return
        if self.mode is Mode.ALLOWLIST:
            raise not_allowed()
        digest = sha256(query)
        if digest not in self._reported and len(self._reported) < self._cache_size:
            self._reported.add(digest)
            logger.warning(
                "operation not in the allowlist (report mode, so it runs): "
                "sha256=%s %s",
                digest,
                " ".join(query.split())[:200],
            )


def _digest(persisted: object) -> str:
    if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
        raise bad_input("Unsupported persisted query version")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.match(digest.lower()):
        raise bad_input("persistedQuery.sha256Hash must be a SHA-256 hex digest")
    return digest.lower()
