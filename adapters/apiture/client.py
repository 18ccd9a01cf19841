"""The Apiture Account Applications v0.18.3 adapter: REST calls, ETags, errors.

Seed: ``shared/seeds/001_1434ba7a5e588ce0.txt`` (digest ``shared/reference/apiture.md``,
"§" below). The http client's ``base_url`` ends with ``/accountApplications``
(L50-51); every request carries ``Accept: application/hal+json``, ``API-Key`` and
``Authorization: Bearer`` when configured (§11), and ``Content-Type:
application/hal+json`` on bodies. Every call goes through :func:`adapters.http.send`.

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

Choices where the seed is silent or contradicts itself:
- State filters: exactly {RUNNING} or {BLOCKED} use the documented views
  (``runningApplications``/``blockedApplications``, §3.1-3.2); several states use
  ``state=a|b`` on the running view when that view was asked for (L220-221), and
  otherwise ``filter=in(state,a|b)``. The filter grammar is not in the seed (§8):
  we use Apiture's expression style, as the sandbox does; ``created_from``/``_to``
  go the same way (``ge``/``le`` on ``createdAt``). ``customer_id`` has no Apiture
  counterpart (only the ``applicant`` contact URI, L575): ValidationFailed.
- Sort names: domain (``created_at``) or Apiture (``createdAt``) names of the
  sortable fields of L558-564, ``-`` for descending; others are ValidationFailed.
- Paging: ``count`` is the total, a ``next`` link means more (§8). ``next`` hrefs
  are followed whether absolute or relative to the host (the seed shows both).
- If-Match: sent whenever the caller gives one. PUT, PATCH and DELETE of an
  application need one (§4.3), so without it the client GETs the current ETag
  first (a lost-update check is then the caller's choice, not ours). Actions send
  it only when given (the prose says "if passed", §9.7). Enrollment DELETE has no
  If-Match in the seed (L12202-12215) and sends none.
- Replace (PUT) is "complete replacement" (L1319): the client GETs the current
  representation and replaces every field the domain can express, keeping what it
  cannot (documents, consents, funding account…), so a replace through the
  gateway never erases data the gateway cannot show.
- Errors: 404 NotFound; 409 InvalidStateTransition; 412 VersionConflict; 400/422
  ValidationFailed (violation paths from ``_error.attributes.field``/``parameter``,
  ``("input",)`` otherwise); on an action a 400 means "does not refer to an
  existing application" (L2248), so NotFound; 401/403 ProviderAuthFailed; other
  4xx ProviderRejected. ``_error._id`` is the request id and ``_error.type`` the
  provider code. Messages are ours: never the upstream body or URL.
- Enrollment actions are APPROVE and REJECT only (§2); others fail as
  ValidationFailed before any call.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

import httpx

from adapters.apiture import mapping
from adapters.errors import (
    AdapterError,
    InvalidStateTransition,
    NotFound,
    ProviderAuthFailed,
    ProviderError,
    ProviderRejected,
    ValidationFailed,
    VersionConflict,
    Violation,
)
from adapters.http import json_body, send
from adapters.model import (
    Action,
    Application,
    ApplicationInput,
    ApplicationQuery,
    Enrollment,
    EnrollmentInput,
    Page,
    Provider,
    State,
)

HAL = "application/hal+json"
APITURE = Provider.APITURE
JSON = dict[str, Any]
T = TypeVar("T")
Kind = Literal["application", "enrollment"]

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
_VIEWS = {"all": "applications", "running": "runningApplications"}
_VIEWS["blocked"] = "blockedApplications"


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
        self._headers = {"Accept": HAL}
        if api_key:
            self._headers["API-Key"] = api_key
        if access_token:
            self._headers["Authorization"] = f"Bearer {access_token}"
        self._limit = asyncio.Semaphore(max_concurrency)
        self._applications: _LRU[Application] = _LRU(etag_cache_size)
        self._enrollments: _LRU[Enrollment] = _LRU(etag_cache_size)

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
        path, params = self._application_query(query, view, applicant)
        params.update(start=str(offset), limit=str(limit))
        body = await self._get_collection(path, params)
        return self._page(body, offset, mapping.application_summary)

    async def iterate_applications(
        self,
        query: ApplicationQuery,
        *,
        page_size: int = 100,
        view: Literal["all", "running", "blocked"] = "all",
        applicant: str | None = None,
    ) -> AsyncIterator[Application]:
        """Every matching application, following the server's ``next`` links."""
        path, params = self._application_query(query, view, applicant)
        params.update(start="0", limit=str(page_size))
        request: httpx.Request | None = self._request("GET", path, params=params)
        while request is not None:
            body = await self._json(request, "application")
            for item in mapping.collection_items(body):
                yield mapping.application_summary(item)
            request = self._next(body)

    def _application_query(
        self,
        query: ApplicationQuery,
        view: Literal["all", "running", "blocked"],
        applicant: str | None,
    ) -> tuple[str, dict[str, str]]:
        if query.customer_id is not None:
            raise ValidationFailed(
                "Apiture applications cannot be filtered by customer id",
                [Violation(("filter", "customerId"), "not supported by Apiture")],
                provider=APITURE,
            )
        params: dict[str, str] = {}
        states = set(query.states)
        if applicant is None and view == "all" and states in ({State.RUNNING},):
            view, states = "running", set()
        elif applicant is None and view == "all" and states == {State.BLOCKED}:
            view, states = "blocked", set()
        if applicant is not None:
            params["applicant"] = applicant
            if view != "all":  # the views have no applicant parameter (§3.3)
                states = states or {State(view)}
                view = "all"
        terms: list[str] = []
        if states and view == "running":
            params["state"] = "|".join(sorted(s.value for s in states))
        elif states:
            terms.append(f"in(state,{'|'.join(sorted(s.value for s in states))})")
        terms += _date_terms(query)
        self._common_params(params, query, terms)
        return _VIEWS[view], params

    # applications: items ------------------------------------------------------------

    async def get_applications(
        self, ids: Sequence[str]
    ) -> Mapping[str, Application | AdapterError]:
        return await self._gather(ids, self._get_application)

    async def _get_application(self, id_: str) -> Application:
        cached = self._applications.get(id_)
        headers = {"If-None-Match": cached[0]} if cached else None
        request = self._request("GET", f"applications/{id_}", headers=headers)
        response = await self._send(request, "application")
        if response.status_code == 304 and cached is not None:
            return cached[1]
        found = mapping.application(self._body(response), _etag(response))
        self._applications.put(id_, found.version, found)
        return found

    async def create_application(self, data: ApplicationInput) -> Application:
        if not data.product_uri:
            raise ValidationFailed(
                "An Apiture application needs a product",
                [Violation(("input", "productUri"), "required")],
                provider=APITURE,
            )
        body = mapping.create_body(data)
        return await self._application_call("POST", "applications", body=body)

    async def update_application(
        self, id: str, changes: ApplicationInput, if_match: str | None
    ) -> Application:
        if if_match is None:
            if_match = (await self._current(f"applications/{id}", "application"))[1]
        return await self._application_call(
            "PATCH",
            f"applications/{id}",
            body=mapping.patch_body(changes),
            if_match=if_match,
        )

    async def replace_application(
        self, id: str, data: ApplicationInput, if_match: str | None
    ) -> Application:
        current, etag = await self._current(f"applications/{id}", "application")
        return await self._application_call(
            "PUT",
            f"applications/{id}",
            body=mapping.replacement_body(current, data),
            if_match=if_match or etag,
        )

    async def delete_application(self, id: str, if_match: str | None) -> None:
        if if_match is None:
            if_match = (await self._current(f"applications/{id}", "application"))[1]
        request = self._request(
            "DELETE", f"applications/{id}", headers=_if_match(if_match)
        )
        await self._send(request, "application")
        self._applications.drop(id)

    async def act_on_application(
        self, id: str, action: Action, if_match: str | None
    ) -> Application:
        return await self._application_call(
            "POST",
            APPLICATION_SETS[action],
            params={"application": id},
            if_match=if_match,
            action=True,
        )

    async def _application_call(
        self,
        method: str,
        path: str,
        *,
        body: JSON | None = None,
        params: dict[str, str] | None = None,
        if_match: str | None = None,
        action: bool = False,
    ) -> Application:
        request = self._request(
            method, path, params=params, body=body, headers=_if_match(if_match)
        )
        response = await self._send(request, "application", action=action)
        found = mapping.application(self._body(response), _etag(response))
        self._applications.put(found.key, found.version, found)
        return found

    # enrollments --------------------------------------------------------------------

    async def list_enrollments(
        self, query: ApplicationQuery, offset: int, limit: int
    ) -> Page[Enrollment]:
        if query.customer_id is not None:
            raise ValidationFailed(
                "Apiture enrollments cannot be filtered by customer id",
                [Violation(("filter", "customerId"), "not supported by Apiture")],
                provider=APITURE,
            )
        params: dict[str, str] = {"start": str(offset), "limit": str(limit)}
        terms: list[str] = []
        if query.states:
            terms.append(f"in(state,{'|'.join(sorted(s.value for s in query.states))})")
        terms += _date_terms(query)
        self._common_params(params, query, terms)
        body = await self._get_collection("enrollments", params)
        return self._page(body, offset, mapping.enrollment_summary)

    async def get_enrollments(
        self, ids: Sequence[str]
    ) -> Mapping[str, Enrollment | AdapterError]:
        return await self._gather(ids, self._get_enrollment)

    async def _get_enrollment(self, id_: str) -> Enrollment:
        cached = self._enrollments.get(id_)
        headers = {"If-None-Match": cached[0]} if cached else None
        request = self._request("GET", f"enrollments/{id_}", headers=headers)
        response = await self._send(request, "enrollment")
        if response.status_code == 304 and cached is not None:
            return cached[1]
        found = mapping.enrollment(self._body(response), _etag(response))
        self._enrollments.put(id_, found.version, found)
        return found

    async def create_enrollment(self, data: EnrollmentInput) -> Enrollment:
        if data.applicant is None:
            raise ValidationFailed(
                "An Apiture enrollment needs an applicant",
                [Violation(("input", "applicant"), "required")],
                provider=APITURE,
            )
        body = mapping.enrollment_body(data)
        return await self._enrollment_call("POST", "enrollments", body=body)

    async def update_enrollment(
        self, id: str, changes: EnrollmentInput, if_match: str | None
    ) -> Enrollment:
        if if_match is None:
            if_match = (await self._current(f"enrollments/{id}", "enrollment"))[1]
        return await self._enrollment_call(
            "PATCH",
            f"enrollments/{id}",
            body=mapping.enrollment_body(changes),
            if_match=if_match,
        )

    async def replace_enrollment(
        self, id: str, data: EnrollmentInput, if_match: str | None
    ) -> Enrollment:
        current, etag = await self._current(f"enrollments/{id}", "enrollment")
        return await self._enrollment_call(
            "PUT",
            f"enrollments/{id}",
            body=mapping.enrollment_body(data, current),
            if_match=if_match or etag,
        )

    async def delete_enrollment(self, id: str) -> None:
        request = self._request("DELETE", f"enrollments/{id}")
        await self._send(request, "enrollment")
        self._enrollments.drop(id)

    async def act_on_enrollment(
        self, id: str, action: Action, if_match: str | None
    ) -> Enrollment:
        set_name = ENROLLMENT_SETS.get(action)
        if set_name is None:
            raise ValidationFailed(
                f"An enrollment cannot be asked to {action.value}",
                [Violation(("action",), "enrollments know approve and reject only")],
                provider=APITURE,
            )
        return await self._enrollment_call(
            "POST",
            set_name,
            params={"enrollment": id},
            if_match=if_match,
            action=True,
        )

    async def _enrollment_call(
        self,
        method: str,
        path: str,
        *,
        body: JSON | None = None,
        params: dict[str, str] | None = None,
        if_match: str | None = None,
        action: bool = False,
    ) -> Enrollment:
        request = self._request(
            method, path, params=params, body=body, headers=_if_match(if_match)
        )
        response = await self._send(request, "enrollment", action=action)
        found = mapping.enrollment(self._body(response), _etag(response))
        self._enrollments.put(found.key, found.version, found)
        return found

    # plumbing -----------------------------------------------------------------------

    def _common_params(
        self, params: dict[str, str], query: ApplicationQuery, terms: list[str]
    ) -> None:
        if query.search:
            params["q"] = query.search
        try:
            sort_by = mapping.sort_param(query.sort)
        except KeyError as exc:
            raise ValidationFailed(
                "Apiture cannot sort by this field",
                [Violation(("sort",), f"cannot sort by {exc.args[0]}")],
                provider=APITURE,
            ) from None
        if sort_by:
            params["sortBy"] = sort_by
        extra = dict(query.extra)
        if "filter" in extra:
            terms.append(extra.pop("filter"))
        if terms:
            params["filter"] = (
                terms[0] if len(terms) == 1 else f"and({','.join(terms)})"
            )
        for key, value in extra.items():
            params.setdefault(key, value)

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
        return self._http.build_request(
            method, path, params=params, content=content, headers=all_headers
        )

    def _next(self, body: JSON) -> httpx.Request | None:
        links = body.get("_links")
        href = None
        if isinstance(links, dict) and isinstance(links.get("next"), dict):
            href = links["next"].get("href")
        if not isinstance(href, str) or not href:
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
            raise _error(response, kind, action=action)
        return response

    def _body(self, response: httpx.Response) -> JSON:
        body = json_body(response, APITURE)
        if not isinstance(body, dict):
            raise ProviderError("Apiture sent a malformed answer", provider=APITURE)
        return body

    async def _json(self, request: httpx.Request, kind: Kind) -> JSON:
        return self._body(await self._send(request, kind))

    async def _get_collection(self, path: str, params: dict[str, str]) -> JSON:
        kind: Kind = "enrollment" if path == "enrollments" else "application"
        return await self._json(self._request("GET", path, params=params), kind)

    async def _current(self, path: str, kind: Kind) -> tuple[JSON, str | None]:
        """The current representation and its ETag (no cache: we need a body)."""
        response = await self._send(self._request("GET", path), kind)
        return self._body(response), _etag(response)

    def _page(self, body: JSON, offset: int, read: Callable[[JSON], T]) -> Page[T]:
        items = [read(item) for item in mapping.collection_items(body)]
        count = body.get("count")
        total = count if isinstance(count, int) else None
        start = body.get("start")
        start = start if isinstance(start, int) else offset
        links = body.get("_links")
        if isinstance(links, dict) and ("next" in links or total is None):
            has_more = "next" in links
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

        results = await asyncio.gather(*(one(i) for i in unique))
        return dict(zip(unique, results, strict=True))


# helpers ----------------------------------------------------------------------------


def _etag(response: httpx.Response) -> str | None:
    value: str | None = response.headers.get("etag")
    return value


def _if_match(value: str | None) -> dict[str, str] | None:
    return {"If-Match": value} if value else None


def _apiture_time(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _date_terms(query: ApplicationQuery) -> list[str]:
    terms = []
    if query.created_from is not None:
        terms.append(f"ge(createdAt,{_apiture_time(query.created_from)})")
    if query.created_to is not None:
        terms.append(f"le(createdAt,{_apiture_time(query.created_to)})")
    return terms


_FIELD_PATHS = {
    "_links.apiture:product.href": ("input", "productUri"),
    "accountName": ("input", "accountName"),
    "productName": ("input", "productName"),
    "organizationName": ("input", "organizationName"),
    "fundingAmount": ("input", "fundingAmount"),
    "fundingAmount.value": ("input", "fundingAmount", "value"),
    "fundingAmount.currency": ("input", "fundingAmount", "currency"),
    "applicants": ("input", "applicants"),
    "applicant": ("input", "applicant"),
    "requiredDocuments": ("input", "requiredDocuments"),
}
_PARAMETER_PATHS = {
    "sortBy": ("sort",),
    "q": ("search",),
    "filter": ("filter",),
    "state": ("filter", "states"),
    "start": ("offset",),
    "limit": ("limit",),
}


def _error(response: httpx.Response, kind: Kind, *, action: bool) -> AdapterError:
    """The domain error for an Apiture 4xx (5xx and 429 are ``send``'s)."""
    status = response.status_code
    detail: JSON = {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("_error"), dict):
        detail = body["_error"]
    meta: dict[str, Any] = {
        "provider": APITURE,
        "request_id": detail.get("_id") if isinstance(detail.get("_id"), str) else None,
        "provider_code": detail.get("type")
        if isinstance(detail.get("type"), str)
        else None,
    }
    if status == 404 or (status == 400 and action):
        return NotFound(f"Apiture has no such {kind}", **meta)
    if status == 412:
        return VersionConflict(
            f"The {kind} changed since that version; fetch it again", **meta
        )
    if status == 409:
        return InvalidStateTransition(
            f"Apiture does not allow this on the {kind} in its current state", **meta
        )
    if status in (400, 422):
        return ValidationFailed(
            f"Apiture refused the {kind} request", [_violation(detail)], **meta
        )
    if status in (401, 403):
        return ProviderAuthFailed("Apiture refused the gateway's credentials", **meta)
    return ProviderRejected(f"Apiture refused the request (HTTP {status})", **meta)


def _violation(detail: JSON) -> Violation:
    attributes = detail.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    code = detail.get("type") if isinstance(detail.get("type"), str) else "invalid"
    field = attributes.get("field")
    parameter = attributes.get("parameter")
    if isinstance(field, str):
        path = _FIELD_PATHS.get(field, ("input", *field.split(".")))
    elif isinstance(parameter, str):
        path = _PARAMETER_PATHS.get(parameter, (parameter,))
    else:
        path = ("input",)
    return Violation(path, f"refused by Apiture ({code})")
