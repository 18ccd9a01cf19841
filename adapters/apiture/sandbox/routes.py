"""The 21 operations of Account Applications v0.18.3 as Starlette endpoints.

Seed choices made here (digest sections in brackets):
- ``If-Match`` is required on PUT/PATCH (applications and enrollments), on
  DELETE of an application and on the seven state actions (the parameter tables
  say required; the actions' prose says "if passed", L2148: the table wins, see
  ``contracts/apiture.yaml``): missing is 400 ``ifMatchRequired`` (the guard's),
  stale is 412 (no 428 is documented, §4.3).
- An unknown ``application=``/``enrollment=`` on an action is 400 (L2248); an
  unknown id in a path is 404 (L1131), on DELETE application too (REC, §9.10).
- Deleting an application: the caller is treated as the financial institution
  *and* the applicant, so ``expired`` (FI, L1990) and ``pending`` (user) may be
  deleted, anything else is 409 (§4.4). Deleting an enrollment is always 204, an
  unknown one included (only 204 is documented, L12202-12215).
- ``state`` cannot be changed by PUT or PATCH: a different value is 409 (§12 REC).
- One running (or blocked) application per primary applicant ``username``, one
  non-terminal enrollment per applicant ``username``: 409 (L789, L4125, §9.14).
- Create requires ``_links.apiture:product.href`` (L13; the guard's 400) and answers
  201 with ``Location`` and ``ETag``; ``productName`` comes from ``products[0]``,
  ``applicantName`` from the first applicant's contact (§5.3 REC).
- A new enrollment's applicant is ``verified`` when the contact's
  ``identityVerification.state`` is ``verified`` (as in the seed's create example,
  L4214-4219 → L5289); tests flip it with ``store.set_enrollment_verified``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from adapters.apiture.sandbox import checks, hal, query
from adapters.apiture.sandbox.demo import APPLICATION_PROFILE
from adapters.apiture.sandbox.store import (
    ACTIVE,
    APPLICATION_ACTIONS,
    ENROLLMENT_ACTIONS,
    JSON,
    TERMINAL,
    ApiError,
    Record,
    Store,
    application_outcome,
    enrollment_outcome,
    enrollment_verified,
    workflow_state,
)

HAL = "application/hal+json"
SET_TO_ACTION = {s: a for a, (_, s) in APPLICATION_ACTIONS.items()}
ENROLLMENT_SET_TO_ACTION = {s: a for a, (_, s) in ENROLLMENT_ACTIONS.items()}


class Endpoints:
    def __init__(self, store: Store) -> None:
        self.store = store

    def error(self, exc: ApiError) -> Response:
        body = hal.error_body(exc, self.store.new_id(), self.store.now())
        return checks.hal_response(body, exc.status)

    # collections -----------------------------------------------------------

    async def applications(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.create_application(request)
        contact = request.query_params.get("applicant")
        keep: Callable[[JSON], bool] | None = None  # every application
        if contact:
            keep = lambda data: checks.has_contact(data, contact)  # noqa: E731
        return self._application_page(request, keep, "account applications")

    async def running_applications(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.act_on_application(request)
        params = request.query_params
        states = query.one_of("state", params.get("state"), "state", enum=True)
        names = query.one_of("name", params.get("name"), "accountName")

        def keep(data: JSON) -> bool:
            return data["state"] == "running" and states(data) and names(data)

        return self._application_page(request, keep, "account applications")

    async def blocked_applications(self, request: Request) -> Response:
        return self._application_page(
            request, lambda d: d["state"] == "blocked", "account applications"
        )

    def _application_page(
        self, request: Request, keep: Callable[[JSON], bool] | None, name: str
    ) -> Response:
        """A page of the applications ``keep`` keeps (None: all of them).

        Unfiltered (no ``keep``, ``filter`` or ``q``), the page is cut from the
        store's ordered view and only its items are summarized: constant work per
        call however many applications there are. A filtered page scans them."""
        params = request.query_params
        start, limit = query.paging(params)
        fields = query.APPLICATION_FIELDS
        sort_by = params.get("sortBy")
        raw_filter, q = params.get("filter"), params.get("q")
        matches = query.parse_filter(raw_filter, fields)
        found = query.search(q, ("accountName", "applicantName", "productName"))
        if keep is None and not raw_filter and not q:
            ordered = self.store.ordered_applications(
                sort_by, lambda data, by: query.sort_items(data, by, fields)
            )
            window = ordered[start : start + limit]
            total = len(ordered)
        else:
            wanted = keep or (lambda _: True)
            records = [
                r
                for r in self.store.iter_applications()
                if wanted(r.data) and matches(r.data) and found(r.data)
            ]
            data = [r.data for r in records]
            query.sort_items(data, sort_by, fields)
            by_id = {r.id: r for r in records}
            window = [by_id[d["_id"]] for d in data[start : start + limit]]
            total = len(records)
        body = query.page(
            [hal.application_summary(r) for r in window],
            path=request.url.path,
            params=params,
            start=start,
            limit=limit,
            profile=hal.APPLICATIONS_PROFILE,
            name=name,
            count=total,
        )
        return checks.hal_response(body)

    async def enrollments(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.create_enrollment(request)
        params = request.query_params
        start, limit = query.paging(params)
        fields = query.ENROLLMENT_FIELDS
        matches = query.parse_filter(params.get("filter"), fields)
        found = query.search(params.get("q"), ("applicantName",))
        records = [
            r
            for r in self.store.iter_enrollments()
            if matches(r.data) and found(r.data)
        ]
        data = [r.data for r in records]
        query.sort_items(data, params.get("sortBy"), fields)
        by_id = {r.id: r for r in records}
        items = [hal.enrollment_summary(by_id[d["_id"]]) for d in data]
        body = query.page(
            items,
            path=request.url.path,
            params=params,
            start=start,
            limit=limit,
            profile=hal.ENROLLMENTS_PROFILE,
            name=None,  # the enrollments example has no name (L3233-3279)
        )
        return checks.hal_response(body)

    # applications ----------------------------------------------------------

    async def create_application(self, request: Request) -> Response:
        body = await checks.json_object(request)
        # The contract requires _links.apiture:product.href (L13), so it is here.
        product = body["_links"]["apiture:product"]
        username = checks.primary_username(body)
        if username and any(
            r.data["state"] in ACTIVE and checks.primary_username(r.data) == username
            for r in self.store.iter_applications()
        ):
            raise ApiError(
                409,
                "onlyOneRunningApplication",
                "Users can have only one running application at a time.",
                attributes={"username": username},
            )
        id_ = self.store.new_id()
        data: JSON = {
            "_id": id_,
            "_profile": APPLICATION_PROFILE,
            "state": "running",
            "workflowState": workflow_state("running"),
            "createdAt": self.store.now(),
        }
        for key in checks.APPLICATION_WRITABLE:
            if key in body:
                data[key] = body[key]
        checks.derive_application_names(data)
        data.setdefault("applicants", [])
        data.setdefault("products", [])
        data.setdefault("documents", [])
        data.setdefault("consents", [])
        data.setdefault("organization", {})
        data["_links"] = {
            "apiture:product": {"href": product["href"]},
            "apiture:workflow": {"href": f"/workflow/workflows/{self.store.new_id()}"},
        }
        record = self.store.add_application(data)
        return checks.hal_response(
            hal.full_application(record),
            201,
            {"Location": hal.application_href(id_), "ETag": record.etag},
        )

    async def application(self, request: Request) -> Response:
        record = self._application_or_404(request.path_params["applicationId"])
        if request.method == "GET":
            return checks.conditional_get(request, record, hal.full_application)
        if request.method == "DELETE":
            checks.require_if_match(request, record)
            if record.data["state"] not in ("expired", "pending"):
                raise ApiError(
                    409,
                    "applicationNotDeletable",
                    "An application may be deleted only when it is pending "
                    "(by the applicant) or expired (by the financial institution).",
                    attributes={"state": record.data["state"]},
                )
            del self.store.applications[record.id]
            return Response(status_code=204)
        checks.require_if_match(request, record)
        body = await checks.json_object(request)
        checks.refuse_state_change(body, record)
        checks.apply_fields(
            record, body, checks.APPLICATION_WRITABLE, replace=request.method == "PUT"
        )
        if request.method == "PUT":
            product = (body.get("_links") or {}).get("apiture:product")
            if isinstance(product, dict) and product.get("href"):
                record.data["_links"]["apiture:product"] = {"href": product["href"]}
        checks.derive_application_names(record.data)
        record.touch()
        return checks.item(record, hal.full_application)

    async def act_on_application(self, request: Request) -> Response:
        action = SET_TO_ACTION[request.url.path.rsplit("/", 1)[-1]]
        record = self._action_target(request, "application", self.store.applications)
        checks.require_if_match(request, record)
        outcome = application_outcome(record.data["state"], action)
        if outcome == "conflict":
            raise ApiError(
                409,
                "invalidApplicationState",
                "The request to change the state of the application is not allowed.",
                attributes={"state": record.data["state"], "action": action},
            )
        if outcome == "change":
            self.store.change_state(record, APPLICATION_ACTIONS[action][0])
            approval = record.data.get("accountApproval")
            if isinstance(approval, dict) and record.data["state"] in TERMINAL:
                approval.update(state="closed", done=True)
        return checks.item(record, hal.full_application)

    def _application_or_404(self, id_: str) -> Record:
        record = self.store.applications.get(id_)
        if record is None:
            raise ApiError(
                404,
                "notFound",
                "There is no such application resource at the specified applicationId.",
                attributes={"applicationId": id_},
            )
        return record

    # enrollments -----------------------------------------------------------

    async def create_enrollment(self, request: Request) -> Response:
        body = await checks.json_object(request)
        applicant = body["applicant"]  # required by the contract
        applicants = body.get("applicants")
        username = applicant.get("username")
        if username and any(
            r.data["state"] not in TERMINAL
            and (r.data.get("applicant") or {}).get("username") == username
            for r in self.store.iter_enrollments()
        ):
            raise ApiError(
                409,
                "onlyOneActiveEnrollment",
                "A user may have only one active enrollment at a time.",
                attributes={"username": username},
            )
        applicant = dict(applicant)
        contact = applicant.get("contact") or {}
        verification = contact.get("identityVerification") or {}
        applicant["verified"] = verification.get("state") == "verified"
        applicant.setdefault("verificationToken", self.store.new_id())
        data: JSON = {
            "_id": self.store.new_id(),
            "_profile": "http://example.com",
            "applicant": applicant,
            "applicants": [applicant]
            + [a for a in (applicants or [])[1:] if isinstance(a, dict)],
            "requiredDocuments": body.get("requiredDocuments") or [],
            "documents": body.get("documents") or [],
            "approvals": [],
            "workflowState": workflow_state("running"),
            "state": "running",
            "flaggedForReview": False,
            "createdAt": self.store.now(),
        }
        checks.set_applicant_name(data)
        record = self.store.add_enrollment(data)
        return checks.hal_response(
            hal.full_enrollment(record),
            201,
            {"Location": hal.enrollment_href(record.id), "ETag": record.etag},
        )

    async def enrollment(self, request: Request) -> Response:
        id_ = request.path_params["enrollmentId"]
        if request.method == "DELETE":
            self.store.enrollments.pop(id_, None)
            return Response(status_code=204)
        record = self.store.enrollments.get(id_)
        if record is None:
            raise ApiError(
                404,
                "notFound",
                "There is no such enrollment resource at the specified enrollmentId.",
                attributes={"enrollmentId": id_},
            )
        if request.method == "GET":
            return checks.conditional_get(request, record, hal.full_enrollment)
        checks.require_if_match(request, record)
        body = await checks.json_object(request)
        checks.refuse_state_change(body, record)
        verified = enrollment_verified(record.data)
        checks.apply_fields(
            record, body, checks.ENROLLMENT_WRITABLE, replace=request.method == "PUT"
        )
        data = record.data
        if "applicant" not in data and data.get("applicants"):
            data["applicant"] = data["applicants"][0]
        # verified is the server's (response-only, §6.2): an update keeps it.
        for applicant in [data.get("applicant"), *(data.get("applicants") or [])]:
            if isinstance(applicant, dict):
                applicant["verified"] = verified
        checks.set_applicant_name(data)
        record.touch()
        return checks.item(record, hal.full_enrollment)

    async def act_on_enrollment(self, request: Request) -> Response:
        action = ENROLLMENT_SET_TO_ACTION[request.url.path.rsplit("/", 1)[-1]]
        record = self._action_target(request, "enrollment", self.store.enrollments)
        checks.require_if_match(request, record)
        verified = enrollment_verified(record.data)
        outcome = enrollment_outcome(record.data["state"], action, verified)
        if outcome == "conflict":
            unverified = action == "approve" and record.data["state"] in ACTIVE
            raise ApiError(
                409,
                "enrollmentRequirementsIncomplete"
                if unverified
                else "invalidEnrollmentState",
                f"The request to {action} the enrollment is not allowed.",
                attributes={"state": record.data["state"], "action": action},
                remediation="The applicant must pass identity verification first."
                if unverified
                else None,
            )
        if outcome == "change":
            self.store.change_state(record, ENROLLMENT_ACTIONS[action][0])
        return checks.item(record, hal.full_enrollment)

    # shared ----------------------------------------------------------------

    def _action_target(
        self, request: Request, param: str, records: dict[str, Record]
    ) -> Record:
        raw = request.query_params[param]  # required by the contract
        # An id or the resource's URI: its last path segment is the id (§12 REC).
        id_ = raw.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        record = records.get(id_)
        if record is None:
            raise ApiError(
                400,
                f"invalid{param.capitalize()}",
                f"The {param} parameter does not refer to an existing or accessible "
                f"{param}.",
                attributes={"parameter": param, "value": raw},
            )
        return record
