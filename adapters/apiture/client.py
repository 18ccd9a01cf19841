"""The Apiture Account Applications v0.18.3 adapter: REST calls, ETags, errors.

Seed: ``shared/seeds/001_1434ba7a5e588ce0.txt`` (digest ``shared/reference/apiture.md``,
"§" below). The http client's ``base_url`` ends with ``/accountApplications``
(L50-51); every request carries ``Accept: application/hal+json``, ``API-Key`` and
``Authorization: Bearer`` when configured (§11), and ``Content-Type:
application/hal+json`` on bodies. Every call goes through
:func:`adapters.transport.http.send`.

Endpoints used (all 21):
    GET    applications | runningApplications | blockedApplications    list
    POST   applications                                                 create
    GET    applications/{id}      (If-None-Match; per-client ETag cache)
    PUT    applications/{id}      (If-Match)     PATCH applications/{id} (If-Match)
    DELETE applications/{id}      (If-Match)
    POST   {approved|rejected|canceled|expired|running}Applications?application={id}
    GET    enrollments            POST enrollments     GET enrollments/{id}
    PUT | PATCH enrollments/{id} (If-Match)            DELETE enrollments/{id}
    POST   {approved|rejected}Enrollments?enrollment={id}

Choices where the seed is silent or contradicts itself (query parameters are in
:mod:`adapters.apiture.queries`, error mapping in :mod:`adapters.apiture.errors`,
field mapping in :mod:`adapters.apiture.mapping`, each with its own choices):
- Paging: ``count`` is the total, a ``next`` link means more (§8). ``next`` hrefs
  are followed whether absolute or relative to the host (the seed shows both).
- If-Match: sent whenever the caller gives one, as given. PUT, PATCH and DELETE
  of an application or enrollment and the seven state actions need one (§4.3;
  on the actions the parameter tables say required while the prose says "if
  passed", §9.7: the table wins, ``contracts/apiture.yaml``), so without it the
  client GETs the current ETag first (a lost-update check is then the caller's
  choice): an action without ``ifMatch`` is one GET and the POST. Enrollment
  DELETE has no If-Match in the seed (L12202-12215) and sends none.
- Replace (PUT) is "complete replacement" (L1319): the client GETs the current
  representation and replaces every field the domain can express, keeping what it
  cannot (documents, consents, funding account…), so a replace through the
  gateway never erases data the gateway cannot show. Replace costs two calls.
- Item GETs go through a bounded per-client LRU of (ETag, item) and send
  ``If-None-Match``; a 304 answers from the cache. Mutations refresh it.
- Collection pages are read every time (the seed defines no validator on
  collections) and kept, as mapped, by the exact bytes of the answer: the same
  bytes again reuse the same immutable records (``adapters.transport.memo``).
- ``get_*`` run concurrently under a semaphore (``max_concurrency``, shared by
  every call of this client); each id maps to its item or its AdapterError.
- Enrollment actions are APPROVE and REJECT only (§2); others fail as
  ValidationFailed before any call. ``create_application`` without a product
  (L13: the only required input) and ``create_enrollment`` without an applicant
  fail the same way.
- Ids: one outside Apiture's id grammar (:mod:`adapters.transport.keys`) is NotFound
  with no call. An id is one encoded path segment (:mod:`adapters.transport.paths`) or
  one query value (``params=``), so an item's GET and its action name the same record.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

import httpx
from pydantic import TypeAdapter

from adapters.apiture import answers, mapping, queries
from adapters.apiture.errors import Kind, domain_error
from adapters.errors import (
    AdapterError,
    NotFound,
    ValidationFailed,
    Violation,
)
from adapters.model import (
    Action,
    Application,
    ApplicationInput,
    ApplicationQuery,
    Enrollment,
    EnrollmentInput,
    Page,
    Provider,
)
from adapters.transport.http import RequestBuilder, send, validated
from adapters.transport.keys import apiture_id
from adapters.transport.memo import MappedAnswers
from adapters.transport.paths import path as url_path

HAL = "application/hal+json"
APITURE = Provider.APITURE
JSON = dict[str, Any]
T = TypeVar("T")


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
    """A small id -> (etag, item) cache for conditional GETs."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[str, T]] = OrderedDict()

    def get(self, key: str) -> tuple[str, T] | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: str, etag: str | None, item: T) -> None:
        if not etag or self.size <= 0:
            return
        self._items[key] = (etag, item)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, key: str) -> None:
        self._items.pop(key, None)


@dataclass(frozen=True)
class _Resource(Generic[A, R]):
    """What tells applications and enrollments apart at Apiture."""

    kind: Kind
    collection: Literal["applications", "enrollments"]
    sets: Mapping[Action, str]  # the action's collection: POST ?{kind}={id}
    answer: TypeAdapter[A]
    read: Callable[[A, str | None], R]
    delete_if_match: bool  # a DELETE sends If-Match (read first when not given)
    refused_action: str  # the ValidationFailed of an action it does not know


APPLICATIONS = _Resource(
    "application",
    "applications",
    APPLICATION_SETS,
    answers.APPLICATION,
    mapping.application,
    delete_if_match=True,
    refused_action="applications know approve, reject, cancel, expire and start",
)
ENROLLMENTS = _Resource(
    "enrollment",
    "enrollments",
    ENROLLMENT_SETS,
    answers.ENROLLMENT,
    mapping.enrollment,
    delete_if_match=False,
    refused_action="enrollments know approve and reject only",
)


class ApitureClient:
    """Account applications and enrollments at Apiture (see the module docstring)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        max_concurrency: int = 16,
        etag_cache_size: int = 1024,
    ) -> None:
        self._http = http
        self._build = RequestBuilder(http)
        self._headers = {"Accept": HAL}
        if api_key:
            self._headers["API-Key"] = api_key
        if access_token:
            self._headers["Authorization"] = f"Bearer {access_token}"
        self._limit = asyncio.Semaphore(max_concurrency)
        self._applications = _Items(self, APPLICATIONS, etag_cache_size)
        self._enrollments = _Items(self, ENROLLMENTS, etag_cache_size)
        self._pages = MappedAnswers()

    # applications: collections ------------------------------------------------------

    async def list_applications(
        self,
        query: ApplicationQuery,
        offset: int,
        limit: int,
        *,
        view: Literal["all", "running", "blocked"] = "all",
        applicant: str | None = None,
    ) -> Page[Application]:
        path, params = queries.application_params(query, view, applicant)
        params.update(start=str(offset), limit=str(limit))
        return await self._collection(path, params, offset, mapping.application_summary)

    async def iterate_applications(
        self,
        query: ApplicationQuery,
        *,
        page_size: int = 100,
        view: Literal["all", "running", "blocked"] = "all",
        applicant: str | None = None,
    ) -> AsyncIterator[Application]:
        """Every matching application, following the server's ``next`` links."""
        path, params = queries.application_params(query, view, applicant)
        params.update(start="0", limit=str(page_size))
        request: httpx.Request | None = self._request("GET", path, params=params)
        while request is not None:
            response = await self._send(request, "application")
            body = validated(answers.COLLECTION, response, APITURE)
            for item in mapping.collection_items(body):
                yield mapping.application_summary(item)
            request = self._next(body)

    # applications: items ------------------------------------------------------------

    async def get_applications(
        self, ids: Sequence[str]
    ) -> Mapping[str, Application | AdapterError]:
        return await self._gather(ids, self._applications.get)

    async def create_application(self, data: ApplicationInput) -> Application:
        if not data.product_uri:
            raise ValidationFailed(
                "An Apiture application needs a product",
                [Violation(("input", "productUri"), "required")],
                provider=APITURE,
            )
        return await self._applications.create(mapping.create_body(data))

    async def update_application(
        self, id: str, changes: ApplicationInput, if_match: str | None
    ) -> Application:
        return await self._applications.update(
            id, mapping.patch_body(changes), if_match
        )

    async def replace_application(
        self, id: str, data: ApplicationInput, if_match: str | None
    ) -> Application:
        return await self._applications.replace(
            id, lambda current: mapping.replacement_body(current, data), if_match
        )

    async def delete_application(self, id: str, if_match: str | None) -> None:
        await self._applications.delete(id, if_match)

    async def act_on_application(
        self, id: str, action: Action, if_match: str | None
    ) -> Application:
        return await self._applications.act(id, action, if_match)

    # enrollments --------------------------------------------------------------------

    async def list_enrollments(
        self, query: ApplicationQuery, offset: int, limit: int
    ) -> Page[Enrollment]:
        params = queries.enrollment_params(query, offset, limit)
        return await self._collection(
            "enrollments", params, offset, mapping.enrollment_summary
        )

    async def get_enrollments(
        self, ids: Sequence[str]
    ) -> Mapping[str, Enrollment | AdapterError]:
        return await self._gather(ids, self._enrollments.get)

    async def create_enrollment(self, data: EnrollmentInput) -> Enrollment:
        if data.applicant is None:
            raise ValidationFailed(
                "An Apiture enrollment needs an applicant",
                [Violation(("input", "applicant"), "required")],
                provider=APITURE,
            )
        return await self._enrollments.create(mapping.enrollment_body(data))

    async def update_enrollment(
        self, id: str, changes: EnrollmentInput, if_match: str | None
    ) -> Enrollment:
        return await self._enrollments.update(
            id, mapping.enrollment_body(changes), if_match
        )

    async def replace_enrollment(
        self, id: str, data: EnrollmentInput, if_match: str | None
    ) -> Enrollment:
        return await self._enrollments.replace(
            id, lambda current: mapping.enrollment_body(data, current), if_match
        )

    async def delete_enrollment(self, id: str) -> None:
        await self._enrollments.delete(id, None)

    async def act_on_enrollment(
        self, id: str, action: Action, if_match: str | None
    ) -> Enrollment:
        return await self._enrollments.act(id, action, if_match)

    # plumbing -----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: JSON | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        all_headers = dict(self._headers)
        content = None
        if body is not None:
            all_headers["Content-Type"] = HAL
            content = json.dumps(body).encode()
        all_headers.update(headers or {})
        return self._build(
            method, path, params=params, content=content, headers=all_headers
        )

    def _next(self, body: answers.Collection) -> httpx.Request | None:
        href = mapping.next_href(body)
        if href is None:
            return None
        url = httpx.URL(href)
        if url.is_absolute_url:
            return self._http.build_request("GET", url, headers=self._headers)
        # relative to the host: strip the API root the base URL already holds
        root = self._http.base_url.raw_path.decode().split("?")[0]
        path = url.path
        if path.startswith(root):
            path = path[len(root) :]
        return self._request("GET", path.lstrip("/"), params=dict(url.params))

    async def _send(
        self, request: httpx.Request, kind: Kind, *, action: bool = False
    ) -> httpx.Response:
        async with self._limit:
            response = await send(self._http, APITURE, request)
        if response.status_code >= 400:
            raise domain_error(response, kind, action=action)
        return response

    async def _collection(
        self,
        path: str,
        params: dict[str, str],
        offset: int,
        read: Callable[[answers.ApplicationSummary], T],
    ) -> Page[T]:
        kind: Kind = "enrollment" if path == "enrollments" else "application"
        response = await self._send(self._request("GET", path, params=params), kind)
        found: Page[T] | None = self._pages.get((read, offset), response.content)
        if found is None:
            body = validated(answers.COLLECTION, response, APITURE)
            found = self._page(body, offset, read)
            self._pages.put((read, offset), response.content, found)
        return found

    def _page(
        self,
        body: answers.Collection,
        offset: int,
        read: Callable[[answers.ApplicationSummary], T],
    ) -> Page[T]:
        items = tuple(read(item) for item in mapping.collection_items(body))
        total, start, has_next = mapping.page_numbers(body)
        start = offset if start is None else start
        if has_next is not None and (has_next or total is None):
            has_more = has_next
        else:
            has_more = total is not None and start + len(items) < total
        return Page(items=items, offset=start, total=total, has_more=has_more)

    async def _gather(
        self, ids: Sequence[str], fetch: Callable[[str], Awaitable[T]]
    ) -> dict[str, T | AdapterError]:
        unique = list(dict.fromkeys(ids))

        async def one(id_: str) -> T | AdapterError:
            try:
                return await fetch(id_)
            except AdapterError as exc:
                return exc

        # One started per loop iteration: each request is on its way while the
        # next is built, rather than all built before the first leaves (the
        # provider answers them one after another: the first sent sets when
        # the last answer comes).
        started: list[asyncio.Future[T | AdapterError]] = []
        try:
            for i in unique:
                started.append(asyncio.ensure_future(one(i)))
                if len(unique) > 1:
                    await asyncio.sleep(0)
        except BaseException:  # cancelled while starting: the rest go too
            for task in started:
                task.cancel()
            raise
        results = await asyncio.gather(*started)
        return dict(zip(unique, results, strict=True))


class _Items(Generic[A, R]):
    """One resource's items (an application or an enrollment): read with a
    conditional GET, created, changed, deleted and acted on, each change sent with
    ``If-Match`` (the current ETag read first when the caller gave none, except
    where Apiture takes no precondition) and its answer validated and cached."""

    def __init__(
        self, client: ApitureClient, resource: _Resource[A, R], cache_size: int
    ) -> None:
        self._client = client
        self._resource = resource
        self._cache: _LRU[R] = _LRU(cache_size)

    def _at(self, id_: str) -> str:
        """The item's path: the id checked, then one encoded segment
        (adapters.transport.paths)."""
        return url_path(self._resource.collection, _key(self._resource.kind, id_))

    async def get(self, id_: str) -> R:
        cached = self._cache.get(id_)
        headers = {"If-None-Match": cached[0]} if cached else None
        client = self._client
        request = client._request("GET", self._at(id_), headers=headers)
        response = await client._send(request, self._resource.kind)
        if response.status_code == 304 and cached is not None:
            return cached[1]
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
        client = self._client
        request = client._request("DELETE", self._at(id_), headers=headers)
        await client._send(request, self._resource.kind)
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
        client = self._client
        request = client._request(
            method, path, params=params, body=body, headers=_if_match(if_match)
        )
        response = await client._send(request, self._resource.kind, action=action)
        found = self._answer(response)
        self._cache.put(found.key, found.version, found)
        return found

    async def _current(self, id_: str) -> tuple[JSON, str | None]:
        """The current representation and its ETag (no cache: we need a body)."""
        client = self._client
        request = client._request("GET", self._at(id_))
        response = await client._send(request, self._resource.kind)
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


def _if_match(value: str | None) -> dict[str, str] | None:
    return {"If-Match": value} if value else None
