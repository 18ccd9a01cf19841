"""Apiture ``errorResponse`` (seed L2005-2026, digest §10) -> the domain errors.

404 NotFound; 409 InvalidStateTransition; 412 VersionConflict; 400/422
ValidationFailed with a violation path read from ``_error.attributes.field`` or
``.parameter`` (``("input",)`` otherwise); 401/403 ProviderAuthFailed; any other
4xx ProviderRejected. ``_error._id`` becomes the request id and ``_error.type`` the
provider code. Messages are our own: never the upstream message, body or URL.

A 400 on a state action is ValidationFailed too, never NotFound: the seed's 400
there is "The application parameter was malformed or does not refer to an existing
or accessible application" (L2248, L13295), and it is also Apiture's answer to a
missing or malformed ``If-Match`` (required on actions, ``contracts/apiture.yaml``).
The violation is at ``ifMatch`` when the error names that header, else at ``id``
(the only other input of an action). A record that does not exist is found out
by the ETag GET before the action when the caller omits ``ifMatch``: that GET's
404 is the NotFound.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx

from adapters.errors import (
    AdapterError,
    InvalidStateTransition,
    NotFound,
    ProviderAuthFailed,
    ProviderRejected,
    ValidationFailed,
    VersionConflict,
    Violation,
)
from adapters.model import Provider

Kind = Literal["application", "enrollment"]
JSON = dict[str, Any]
APITURE = Provider.APITURE

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


def domain_error(response: httpx.Response, kind: Kind, *, action: bool) -> AdapterError:
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
    if status == 404:
        return NotFound(f"Apiture has no such {kind}", **meta)
    if status == 400 and action:
        return ValidationFailed(
            f"Apiture refused this {kind} action's input",
            [_action_violation(detail, kind)],
            **meta,
        )
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


def _action_violation(detail: JSON, kind: Kind) -> Violation:
    attributes = detail.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    found = detail.get("type")
    code = found if isinstance(found, str) else "invalid"
    named = {str(attributes.get(k)).lower() for k in ("header", "parameter", "field")}
    if "if-match" in named or code.lower().startswith("ifmatch"):
        return Violation(("ifMatch",), f"refused by Apiture ({code})")
    return Violation(
        ("id",), f"not an existing or accessible {kind} at Apiture ({code})"
    )
