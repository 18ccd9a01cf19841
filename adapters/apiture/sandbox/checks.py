"""Checks and small rules the endpoints share: ETags, bodies, names.

Field types are not checked here: :mod:`adapters.apiture.sandbox.guard` refuses
every body that breaks the contract before an endpoint runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.apiture.sandbox.store import JSON, ApiError, Record

HAL = "application/hal+json"
# Fields a client may write; everything else is the server's (§6.2, §12).
APPLICATION_WRITABLE = (
    "accountName",
    "productName",
    "organizationName",
    "fundingAmount",
    "fundingAccount",
    "organization",
    "applicants",
    "products",
    "documents",
    "consents",
)
ENROLLMENT_WRITABLE = ("applicant", "applicants", "requiredDocuments", "documents")


class HalResponse(JSONResponse):
    media_type = HAL

    def render(self, content: Any) -> bytes:
        # orjson: the same compact JSON as Starlette's json.dumps (UTF-8, no
        # spaces) at a fraction of the CPU: a page of 50 summaries
        # took most of the sandbox's time per call (the benchmark's providers
        # must cost next to nothing).
        return orjson.dumps(content)


def hal_response(
    body: JSON, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return HalResponse(body, status_code=status, headers=headers)


def item(record: Record, render: Callable[[Record], JSON]) -> Response:
    return hal_response(render(record), headers={"ETag": record.etag})


def _etags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def conditional_get(
    request: Request, record: Record, render: Callable[[Record], JSON]
) -> Response:
    none_match = request.headers.get("if-none-match")
    if none_match and (record.etag in _etags(none_match) or none_match.strip() == "*"):
        return Response(status_code=304, headers={"ETag": record.etag})
    return item(record, render)


def check_if_match(request: Request, record: Record) -> None:
    """412 when an ``If-Match`` is present and stale."""
    header = request.headers.get("if-match")
    if header is None:
        return
    if header.strip() != "*" and record.etag not in _etags(header):
        raise ApiError(
            412,
            "preconditionFailed",
            "The supplied If-Match header value does not match the most recent "
            "ETag response header value. The resource has changed in the interim.",
            attributes={"ifMatch": header},
            remediation="Fetch the resource again and retry with its new ETag.",
        )


def require_if_match(request: Request, record: Record) -> None:
    if request.headers.get("if-match") is None:
        raise ApiError(
            400,
            "ifMatchRequired",
            "The If-Match request header is required.",
            remediation="Pass the ETag of the last representation in If-Match.",
        )
    check_if_match(request, record)


async def json_object(request: Request) -> JSON:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "malformedRequestBody",
            "The request body must be a JSON object.",
        )
    return body


def refuse_state_change(body: JSON, record: Record) -> None:
    if "state" in body and body["state"] != record.data["state"]:
        raise ApiError(
            409,
            "stateIsReadOnly",
            "The state cannot be changed by an update; use the state operations.",
            attributes={"state": record.data["state"], "requested": body["state"]},
        )


def apply_fields(
    record: Record, body: JSON, writable: tuple[str, ...], replace: bool
) -> None:
    """PATCH merges the given fields; PUT replaces every writable field. Nested
    ``_links``/``_embedded`` are ignored (L1695-1697)."""
    for key in writable:
        if key in body:
            record.data[key] = body[key]
        elif replace:
            record.data.pop(key, None)


def contact_name(applicant: Any) -> str | None:
    contact = applicant.get("contact") if isinstance(applicant, dict) else None
    if not isinstance(contact, dict):
        return None
    parts = [contact.get("firstName"), contact.get("lastName")]
    name = " ".join(p for p in parts if isinstance(p, str) and p)
    return name or None


def set_applicant_name(data: JSON) -> None:
    """``applicantName`` from the enrolling applicant's contact; absent, never
    null, when the contact has no name (the contract types it a string)."""
    name = contact_name(data.get("applicant") or {})
    if name is None:
        data.pop("applicantName", None)
    else:
        data["applicantName"] = name


def primary_username(data: JSON) -> str | None:
    applicants = [a for a in data.get("applicants") or [] if isinstance(a, dict)]
    for applicant in applicants:
        if (applicant.get("role") or {}).get("name") == "primaryUser":
            return applicant.get("username")
    return applicants[0].get("username") if applicants else None


def derive_application_names(data: JSON) -> None:
    products = data.get("products") or []
    first = products[0] if products and isinstance(products[0], dict) else {}
    if "productName" not in data and first.get("name"):
        data["productName"] = first["name"]
    applicants = data.get("applicants") or []
    if applicants:
        name = contact_name(applicants[0])
        if name:
            data["applicantName"] = name


def has_contact(data: JSON, uri: str) -> bool:
    wanted = uri.rstrip("/").rsplit("/", 1)[-1]
    for applicant in data.get("applicants") or []:
        contact = applicant.get("contact") if isinstance(applicant, dict) else None
        if isinstance(contact, dict) and contact.get("_id") == wanted:
            return True
    return False
