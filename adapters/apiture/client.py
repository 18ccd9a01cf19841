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
field mapping in :mod:`adapters.apiture.mapping` and request bodies in
:mod:`adapters.apiture.bodies`, each with its own choices):
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
- Collection pages are read and mapped every time (the seed defines no
  validator on collections; a memo of pages by their bytes paid only when the
  very same page came again, under 1 % of pages on varied traffic).
- ``get_*`` run concurrently under a semaphore (``max_concurrency``, shared by
  every call of this client); each id maps to its item or its AdapterError.
- Enrollment actions are APPROVE and REJECT only (§2); others fail as
  ValidationFailed before any call. ``create_application`` without a product
  (L13: the only required input) and ``create_enrollment`` without an applicant
  fail the same way.
- A funding amount outside the contract's ``money`` (a non-negative decimal
  string, an upper-case ISO 4217 code) is ValidationFailed before any call: the
  gateway never relies on Apiture to refuse what the contract already rules out.
- Ids: one outside Apiture's id grammar (:mod:`adapters.transport.keys`) is NotFound
  with no call. An id is one encoded path segment (:mod:`adapters.transport.paths`) or
  one query value (``params=``), so an item's GET and its action name the same record.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import httpx

from adapters import batches
from adapters.apiture import answers, bodies, mapping, queries
from adapters.apiture.errors import Kind, domain_error
from adapters.apiture.items import APPLICATIONS, ENROLLMENTS, Items
from adapters.errors import (
    AdapterError,
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
from adapters.transport.paths import ROUTE, Route
from caching import bounds

HAL = "application/hal+json"
APITURE = Provider.APITURE
JSON = dict[str, Any]
T = TypeVar("T")
# A page the provider's ``next`` link names: its path is the provider's own.
NEXT_ROUTE = "{next link}"


class ApitureClient:
    """Account applications and enrollments at Apiture (see the module docstring)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        max_concurrency: int = 16,
        etag_cache_bytes: int = bounds.ETAG_MAX_BYTES,
    ) -> None:
        self._http = http
        self._headers = {"Accept": HAL}
        if api_key:
            self._headers["API-Key"] = api_key
        if access_token:
            self._headers["Authorization"] = f"Bearer {access_token}"
        # Every call's headers, made into the builder's defaults once.
        self._build = RequestBuilder(http, headers=self._headers)
        self._limit = asyncio.Semaphore(max_concurrency)
        self._applications = Items(
            APPLICATIONS, self._request, self._send, etag_cache_bytes
        )
        self._enrollments = Items(
            ENROLLMENTS, self._request, self._send, etag_cache_bytes
        )

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
        return await batches.each(ids, self._applications.get)

    async def application_if_changed(
        self, id_: str, etag: str | None
    ) -> Application | None:
        """The application, or None when its ETag is still ``etag`` (a 304, no
        body): a poller's conditional read, independent of the item cache."""
        return await self._applications.if_changed(id_, etag)

    async def create_application(self, data: ApplicationInput) -> Application:
        _check_funding(data)
        if not data.product_uri:
            raise ValidationFailed(
                "An Apiture application needs a product",
                [Violation(("input", "productUri"), "required")],
                provider=APITURE,
            )
        return await self._applications.create(bodies.create_body(data))

    async def update_application(
        self, id: str, changes: ApplicationInput, if_match: str | None
    ) -> Application:
        _check_funding(changes)
        return await self._applications.update(id, bodies.patch_body(changes), if_match)

    async def replace_application(
        self, id: str, data: ApplicationInput, if_match: str | None
    ) -> Application:
        _check_funding(data)
        return await self._applications.replace(
            id, lambda current: bodies.replacement_body(current, data), if_match
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
        return await batches.each(ids, self._enrollments.get)

    async def create_enrollment(self, data: EnrollmentInput) -> Enrollment:
        if data.applicant is None:
            raise ValidationFailed(
                "An Apiture enrollment needs an applicant",
                [Violation(("input", "applicant"), "required")],
                provider=APITURE,
            )
        return await self._enrollments.create(bodies.enrollment_body(data))

    async def update_enrollment(
        self, id: str, changes: EnrollmentInput, if_match: str | None
    ) -> Enrollment:
        return await self._enrollments.update(
            id, bodies.enrollment_body(changes), if_match
        )

    async def replace_enrollment(
        self, id: str, data: EnrollmentInput, if_match: str | None
    ) -> Enrollment:
        return await self._enrollments.replace(
            id, lambda current: bodies.enrollment_body(data, current), if_match
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
        extra: dict[str, str] = {}  # over self._headers, the builder's own
        content = None
        if body is not None:
            extra["Content-Type"] = HAL
            content = json.dumps(body).encode()
        if headers:
            extra.update(headers)
        return self._build(
            method, path, params=params, content=content, headers=extra or None
        )

    def _next(self, body: answers.Collection) -> httpx.Request | None:
        href = mapping.next_href(body)
        if href is None:
            return None
        url = httpx.URL(href)
        if url.is_absolute_url:
            return self._http.build_request(
                "GET", url, headers=self._headers, extensions={ROUTE: NEXT_ROUTE}
            )
        # relative to the host: strip the API root the base URL already holds
        root = self._http.base_url.raw_path.decode().split("?")[0]
        path = url.path
        if path.startswith(root):
            path = path[len(root) :]
        # The link is the provider's: its path is not named after it.
        return self._request(
            "GET", Route(path.lstrip("/"), NEXT_ROUTE), params=dict(url.params)
        )

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
        # Mapped every time: pages at different positions never share bytes, and
        # under varied traffic a memo of pages by their bytes hit under 1 % of
        # them (benchmarks/served_cost.py) while every page paid to keep one.
        body = validated(answers.COLLECTION, response, APITURE)
        return self._page(body, offset, read)

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


# contracts/apiture.yaml, components.schemas.money
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")


def _check_funding(data: ApplicationInput) -> None:
    money = data.funding_amount
    if money is None:
        return
    found = []
    if not _AMOUNT.fullmatch(money.value):
        found.append(
            Violation(
                ("input", "fundingAmount", "value"),
                "a non-negative decimal, e.g. 1500.00",
            )
        )
    if not _CURRENCY.fullmatch(money.currency):
        found.append(
            Violation(
                ("input", "fundingAmount", "currency"),
                "an ISO 4217 code in capitals, e.g. USD",
            )
        )
    if found:
        raise ValidationFailed(
            "Apiture would refuse this funding amount", found, provider=APITURE
        )
