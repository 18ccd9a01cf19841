"""Apiture Account Applications v0.18.3: the request bodies the gateway sends.

The writing half of the mapping (:mod:`adapters.apiture.mapping` reads answers):
domain inputs of :mod:`adapters.model` become the seed's JSON bodies for create,
PATCH (merge, L1695-1697) and PUT (replace, keeping what the domain cannot
express), and domain sort names become Apiture's ``sortBy`` (L558-564).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.model import ApplicantInput, ApplicationInput, EnrollmentInput, Money

JSON = dict[str, Any]
APPLICATION_PROFILE = (
    "https://api.apiture.com/schemas/accountApplications/application/v1.0.0/"
    "profile.json"
)
# Domain sort names (snake or camel case) -> Apiture ``sortBy`` fields (L558-564).
SORT_FIELDS = {
    "name": "accountName",
    "account_name": "accountName",
    "accountName": "accountName",
    "applicant_name": "applicantName",
    "applicantName": "applicantName",
    "product_name": "productName",
    "productName": "productName",
    "organization_name": "organizationName",
    "organizationName": "organizationName",
    "state": "state",
    "created_at": "createdAt",
    "createdAt": "createdAt",
    "completed_at": "completedAt",
    "completedAt": "completedAt",
}


# bodies -----------------------------------------------------------------------------


def create_body(data: ApplicationInput) -> JSON:
    """A createApplication body in the seed's shape (L791-832)."""
    body: JSON = {"_profile": APPLICATION_PROFILE}
    if data.account_name is not None:
        body["accountName"] = data.account_name
    body["_links"] = {"apiture:product": {"href": data.product_uri}}
    if data.applicants is not None:
        body["applicants"] = [applicant_body(a) for a in data.applicants]
    if data.product_name is not None:
        body["products"] = [{"name": data.product_name}]
    if data.organization_name is not None:
        body["organizationName"] = data.organization_name
    if data.funding_amount is not None:
        body["fundingAmount"] = _money_body(data.funding_amount)
    return body


def patch_body(changes: ApplicationInput) -> JSON:
    """A PATCH body: only the fields that are set (merge semantics, L1695-1697).
    The product link is not sent: Apiture ignores ``_links`` on PATCH."""
    body: JSON = {}
    for key, value in _application_fields(changes).items():
        if value is not None:
            body[key] = value
    return body


def replacement_body(current: JSON, data: ApplicationInput) -> JSON:
    """A PUT body: the current representation with every field the domain can
    express replaced (unset ones removed), the rest (funding account, documents,
    consents…) kept, so that a domain-level replace does not erase what the
    domain cannot describe. Read-only parts (``_links`` other than the product,
    ``_embedded``) are dropped."""
    body = {k: v for k, v in current.items() if k not in ("_links", "_embedded")}
    for key, value in _application_fields(data).items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    links = current.get("_links")
    product = data.product_uri or (
        (links.get("apiture:product") or {}).get("href")
        if isinstance(links, dict)
        else None
    )
    if product:
        body["_links"] = {"apiture:product": {"href": product}}
    return body


def _application_fields(data: ApplicationInput) -> dict[str, Any]:
    return {
        "accountName": data.account_name,
        "productName": data.product_name,
        "products": None
        if data.product_name is None
        else [{"name": data.product_name}],
        "organizationName": data.organization_name,
        "fundingAmount": None
        if data.funding_amount is None
        else _money_body(data.funding_amount),
        "applicants": None
        if data.applicants is None
        else [applicant_body(a) for a in data.applicants],
    }


def _money_body(money: Money) -> JSON:
    return {"value": money.value, "currency": money.currency}


def applicant_body(data: ApplicantInput) -> JSON:
    contact: JSON = {}
    if data.first_name is not None:
        contact["firstName"] = data.first_name
    if data.last_name is not None:
        contact["lastName"] = data.last_name
    if data.email is not None:
        contact["emailAddresses"] = [
            {"_id": "ea1", "value": data.email, "type": "personal"}
        ]
        contact["preferredEmailAddressId"] = "ea1"
    if data.phone is not None:
        contact["phones"] = [{"_id": "pa1", "type": "mobile", "number": data.phone}]
        contact["preferredPhoneId"] = "pa1"
    if data.birthdate is not None:
        contact["birthdate"] = data.birthdate
    if data.tax_id is not None:
        contact["identification"] = [{"type": "taxId", "value": data.tax_id}]
    body: JSON = {}
    if data.username is not None:
        body["username"] = data.username
    body["contact"] = contact
    if data.role is not None:
        body["role"] = {"name": data.role}
    return body


def enrollment_body(data: EnrollmentInput, current: JSON | None = None) -> JSON:
    """createEnrollment / PATCH body (L4127-4856), or with ``current`` a PUT body
    (the current representation with the domain's fields replaced). The applicant
    goes in both ``applicant`` and ``applicants``, as in the seed's example."""
    body: JSON = {}
    if current is not None:
        keep = ("_links", "_embedded", "applicant", "applicants", "requiredDocuments")
        body = {k: v for k, v in current.items() if k not in keep}
    if data.applicant is not None:
        one = applicant_body(data.applicant)
        body["applicant"] = one
        body["applicants"] = [one]
    if data.required_documents is not None:
        body["requiredDocuments"] = [
            _drop_none(
                {
                    "label": r.label,
                    "type": r.type,
                    "productTarget": r.product_target,
                    "documentUri": r.document_uri,
                    "category": r.category,
                    "requireIfVerified": r.require_if_verified,
                }
            )
            for r in data.required_documents
        ]
    return body


def sort_param(sort: Sequence[str]) -> str | None:
    """``("-created_at", "name")`` -> ``"-createdAt,accountName"``; KeyError names
    the first field Apiture cannot sort by."""
    if not sort:
        return None
    parts = []
    for key in sort:
        descending = key.startswith("-")
        parts.append(("-" if descending else "") + SORT_FIELDS[key.lstrip("+-")])
    return ",".join(parts)


def _drop_none(value: Mapping[str, Any]) -> JSON:
    return {k: v for k, v in value.items() if v is not None}
