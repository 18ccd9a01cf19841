"""Apiture's items, applications and enrollments, behind one implementation.

:class:`Items` reads an item with a conditional GET (``If-None-Match``, answered from
a small cache on 304), creates, changes, deletes and acts on it; every change
carries ``If-Match`` (the current ETag read first when the caller gave none, except
where Apiture takes no precondition: an enrollment's DELETE), every answer is
validated against its shape before it is mapped. :class:`Resource` holds what tells
the two apart (path, action collections, answer shape, mapping). The client
(:mod:`adapters.apiture.client`) gives it how to build and send a request.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

import httpx
from pydantic import TypeAdapter

from adapters.apiture import answers, mapping
from adapters.apiture.errors import Kind
from adapters.errors import NotFound, ValidationFailed, Violation
from adapters.model import Action, Provider
from adapters.transport.http import validated
from adapters.transport.keys import apiture_id
from adapters.transport.paths import route
from caching import Cache, bounds, per_entry

APITURE = Provider.APITURE
JSON = dict[str, Any]
T = TypeVar("T")


class Build(Protocol):
    """Builds one request to Apiture (the client's headers, a HAL body)."""

    def __call__(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: JSON | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request: ...


class Send(Protocol):
    """Sends it within the client's concurrency; a 4xx/5xx raises its domain error."""

    def __call__(
        self, request: httpx.Request, kind: Kind, *, action: bool = False
    ) -> Awaitable[httpx.Response]: ...


class _Record(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def version(self) -> str | None: ...


A = TypeVar("A", bound=Mapping[str, Any])  # an item's answer, as validated
R = TypeVar("R", bound=_Record)  # the record it maps to

APPLICATION_SETS = {
    Action.APPROVE: "approvedApplications",
    Action.REJECT: "rejectedApplications",
    Action.CANCEL: "canceledApplications",
    Action.EXPIRE: "expiredApplications",
    Action.START: "runningApplications",
}
ENROLLMENT_SETS = {
    Action.APPROVE: "approvedEnrollments",
    Action.REJECT: "rejectedEnrollments",
}


class _LRU(Generic[T]):
    """An id -> (etag, item) cache for conditional GETs (``caching.Cache``,
    ``ETAG_ENTRY_BYTES`` per record)."""

    def __init__(self, max_bytes: int) -> None:
        self._items: Cache[str, tuple[str, T]] = Cache(
            max_bytes, per_entry(bounds.ETAG_ENTRY_BYTES), name="apiture_etag"
        )

    def get(self, key: str) -> tuple[str, T] | None:
        return self._items.get(key)

    def put(self, key: str, etag: str | None, item: T) -> None:
        if etag:
            self._items.put(key, (etag, item))

    def drop(self, key: str) -> None:
        self._items.pop(key)


@dataclass(frozen=True)
class Resource(Generic[A, R]):
    """What tells applications and enrollments apart at Apiture."""

    kind: Kind
    collection: Literal["applications", "enrollments"]
    sets: Mapping[Action, str]  # the action's collection: POST ?{kind}={id}
    answer: TypeAdapter[A]
    read: Callable[[A, str | None], R]
    delete_if_match: bool  # a DELETE sends If-Match (read first when not given)
    refused_action: str  # the ValidationFailed of an action it does not know


APPLICATIONS = Resource(
    "application",
    "applications",
    APPLICATION_SETS,
    answers.APPLICATION,
    mapping.application,
    delete_if_match=True,
    refused_action="applications know approve, reject, cancel, expire and start",
)
ENROLLMENTS = Resource(
    "enrollment",
    "enrollments",
    ENROLLMENT_SETS,
    answers.ENROLLMENT,
    mapping.enrollment,
    delete_if_match=False,
    refused_action="enrollments know approve and reject only",
)


class Items(Generic[A, R]):
    """One resource's items (an application or an enrollment): read with a
    conditional GET, created, changed, deleted and acted on, each change sent with
    ``If-Match`` (the current ETag read first when the caller gave none, except
    where Apiture takes no precondition) and its answer validated and cached."""

    def __init__(
        self, resource: Resource[A, R], build: Build, send: Send, cache_bytes: int
    ) -> None:
        self._resource = resource
        self._build = build
        self._send = send
        self._cache: _LRU[R] = _LRU(cache_bytes)

    def _at(self, id_: str) -> str:
        """The item's path: the id checked, then one encoded segment
        (adapters.transport.paths)."""
        key = _key(self._resource.kind, id_)
        return route(f"/{self._resource.collection}/{{id}}", id=key)

    async def get(self, id_: str) -> R:
        cached = self._cache.get(id_)
        headers = {"If-None-Match": cached[0]} if cached else None
        request = self._build("GET", self._at(id_), headers=headers)
        response = await self._send(request, self._resource.kind)
        if response.status_code == 304 and cached is not None:
            return cached[1]
        found = self._answer(response)
        self._cache.put(id_, found.version, found)
        return found

    async def if_changed(self, id_: str, etag: str | None) -> R | None:
        """The item, or None when its ETag is still ``etag`` (a 304, no body): a
        poller's conditional read, independent of what the cache holds."""
        headers = {"If-None-Match": etag} if etag else None
        request = self._build("GET", self._at(id_), headers=headers)
        response = await self._send(request, self._resource.kind)
        if response.status_code == 304 and etag:
            return None
        found = self._answer(response)
        self._cache.put(id_, found.version, found)
        return found

    async def create(self, body: JSON) -> R:
        return await self._call("POST", self._resource.collection, body=body)

    async def update(self, id_: str, body: JSON, if_match: str | None) -> R:
        if if_match is None:
            if_match = (await self._current(id_))[1]
        return await self._call("PATCH", self._at(id_), body=body, if_match=if_match)

    async def replace(
        self, id_: str, body: Callable[[JSON], JSON], if_match: str | None
    ) -> R:
        current, etag = await self._current(id_)
        return await self._call(
            "PUT", self._at(id_), body=body(current), if_match=if_match or etag
        )

    async def delete(self, id_: str, if_match: str | None) -> None:
        headers = None
        if self._resource.delete_if_match:
            if if_match is None:
                if_match = (await self._current(id_))[1]
            headers = _if_match(if_match)
        request = self._build("DELETE", self._at(id_), headers=headers)
        await self._send(request, self._resource.kind)
        self._cache.drop(id_)

    async def act(self, id_: str, action: Action, if_match: str | None) -> R:
        resource = self._resource
        set_name = resource.sets.get(action)
        if set_name is None:
            raise ValidationFailed(
                f"An {resource.kind} cannot be asked to {action.value}",
                [Violation(("action",), resource.refused_action)],
                provider=APITURE,
            )
        if if_match is None:
            if_match = (await self._current(id_))[1]
        return await self._call(
            "POST",
            set_name,
            params={resource.kind: _key(resource.kind, id_)},
            if_match=if_match,
            action=True,
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: JSON | None = None,
        params: dict[str, str] | None = None,
        if_match: str | None = None,
        action: bool = False,
    ) -> R:
        request = self._build(
            method, path, params=params, body=body, headers=_if_match(if_match)
        )
        response = await self._send(request, self._resource.kind, action=action)
        found = self._answer(response)
        self._cache.put(found.key, found.version, found)
        return found

    async def _current(self, id_: str) -> tuple[JSON, str | None]:
        """The current representation and its ETag (no cache: we need a body)."""
        request = self._build("GET", self._at(id_))
        response = await self._send(request, self._resource.kind)
        body: A = validated(self._resource.answer, response, APITURE)
        return dict(body), _etag(response)

    def _answer(self, response: httpx.Response) -> R:
        resource = self._resource
        body = validated(resource.answer, response, APITURE)
        return resource.read(body, _etag(response))


# helpers ----------------------------------------------------------------------------


def _etag(response: httpx.Response) -> str | None:
    value: str | None = response.headers.get("etag")
    return value


def _key(kind: Kind, id_: str) -> str:
    """``id_`` when it fits Apiture's id grammar (:mod:`adapters.transport.keys`);
    otherwise NotFound, before any call."""
    if not apiture_id(id_):
        raise NotFound(f"Apiture has no such {kind}", provider=APITURE)
    return id_


# A version as an If-Match value: visible ASCII (RFC 9110 field value), not empty.
_VERSION = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")


def _if_match(value: str | None) -> dict[str, str] | None:
    """The If-Match header; a caller's version that cannot be one (empty, control
    characters) is ValidationFailed, never a request without the required header."""
    if value is None:
        return None
    if not _VERSION.fullmatch(value):
        raise ValidationFailed(
            "Not a version Apiture gave",
            [Violation(("ifMatch",), "not a version read from Apiture")],
            provider=APITURE,
        )
    return {"If-Match": value}
