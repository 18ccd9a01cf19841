"""HAL representations: full and summary items, collections and ``errorResponse``.

Summary items carry the seed's fields (``_profile``, ``_links.self``, ``_id``,
``name``, ``state``; L250-270, L3255-3275) plus the scalar sort/filter fields
``accountName``, ``applicantName``, ``productName``, ``createdAt``, ``completedAt``
(digest §5.2 REC), so that a client can sort, filter and show a list without a
detail call. Enrollment summaries carry ``applicantName``, ``createdAt`` and
``completedAt`` the same way; their ``name`` is the applicant's name (the seed's
``My Personal Checking`` is copied from the application example, §9.19).

Action links (``apiture:approve|reject|cancel|expire|start``) appear exactly when the
action would change the state (seed L2147 etc.: "if and only if the application is
eligible"); their hrefs follow the resource-set pattern
``/accountApplications/{set}?application={id}`` (digest §5.1 REC).
"""

from __future__ import annotations

from typing import Any

from adapters.apiture.sandbox.store import (
    APPLICATION_ACTIONS,
    ENROLLMENT_ACTIONS,
    JSON,
    ApiError,
    Record,
    application_outcome,
    enrollment_outcome,
    enrollment_verified,
)

BASE_PATH = "/accountApplications"
SUMMARY_PROFILE = (
    "https://api.apiture.com/schemas/accountApplication/v1.0.0/profile.json"
)
APPLICATIONS_PROFILE = (
    "https://api.apiture.com/schemas/accountApplications/applications/v2.0.0/"
    "profile.json"
)
ENROLLMENTS_PROFILE = (
    "https://api.apiture.com/schemas/accountApplications/enrollments/v2.0.0/"
    "profile.json"
)
ERROR_PROFILE = (
    "https://api.apiture.com/schemas/common/errorResponse/v2.0.0/profile.json"
)
SUMMARY_SCALARS = ("accountName", "applicantName", "productName", "createdAt")


def application_href(id_: str) -> str:
    return f"{BASE_PATH}/applications/{id_}"


def enrollment_href(id_: str) -> str:
    return f"{BASE_PATH}/enrollments/{id_}"


def full_application(record: Record) -> JSON:
    # A shallow copy: only the top level is replaced here (``_links``), and the
    # body is serialized at once, never changed (a deep copy was most of a
    # detail read's cost).
    body = dict(record.data)
    links: JSON = {"self": {"href": application_href(record.id)}}
    links.update((k, v) for k, v in body.get("_links", {}).items() if not _is_action(k))
    state = body["state"]
    for action, (_, set_name) in APPLICATION_ACTIONS.items():
        if application_outcome(state, action) == "change":
            links[f"apiture:{action}"] = {
                "href": f"{BASE_PATH}/{set_name}?application={record.id}"
            }
    body["_links"] = links
    return body


def application_summary(record: Record) -> JSON:
    """The record's list item, made once per revision (a page of the benchmark's
    population then costs the same whatever its records): never changed once
    made, only serialized."""
    kept = record.summary
    if kept is not None and kept[0] == record.revision:
        return kept[1]
    data = record.data
    item: JSON = {
        "_profile": SUMMARY_PROFILE,
        "_links": {"self": {"href": application_href(record.id)}},
        "_id": record.id,
        "name": data.get("accountName"),
        "state": data["state"],
    }
    for key in (*SUMMARY_SCALARS, "completedAt"):
        if data.get(key) is not None:
            item[key] = data[key]
    if item["name"] is None:
        del item["name"]
    record.summary = (record.revision, item)
    return item


def full_enrollment(record: Record) -> JSON:
    body = dict(record.data)  # shallow, as full_application's
    links: JSON = {"self": {"href": enrollment_href(record.id)}}
    links.update((k, v) for k, v in body.get("_links", {}).items() if not _is_action(k))
    contact = (body.get("applicant") or {}).get("contact") or {}
    if contact.get("_id"):
        # The seed shows only placeholder rels here (property1/2 titled
        # "Applicant", L5777-5786); name the rel for what it points at.
        links["apiture:applicant"] = {
            "href": f"/contacts/contacts/{contact['_id']}",
            "title": "Applicant",
        }
    state, verified = body["state"], enrollment_verified(record.data)
    for action, (_, set_name) in ENROLLMENT_ACTIONS.items():
        if enrollment_outcome(state, action, verified) == "change":
            links[f"apiture:{action}"] = {
                "href": f"{BASE_PATH}/{set_name}?enrollment={record.id}"
            }
    body["_links"] = links
    body.setdefault("_embedded", {})
    return body


def enrollment_summary(record: Record) -> JSON:
    data = record.data
    item: JSON = {
        # The seed reuses the application summary profile here (L3256).
        "_profile": SUMMARY_PROFILE,
        "_links": {"self": {"href": enrollment_href(record.id)}},
        "_id": record.id,
        "state": data["state"],
    }
    if data.get("applicantName"):
        item["name"] = data["applicantName"]
    for key in ("applicantName", "createdAt", "completedAt"):
        if data.get(key) is not None:
            item[key] = data[key]
    return item


def error_body(error: ApiError, error_id: str, occurred_at: str) -> JSON:
    inner: JSON = {
        "_id": error_id,
        "message": error.message,
        "statusCode": error.status,
        "type": error.type,
    }
    if error.attributes is not None:
        inner["attributes"] = error.attributes
    if error.remediation is not None:
        inner["remediation"] = error.remediation
    inner["occurredAt"] = occurred_at
    inner["_links"] = {
        "describedby": {"href": f"https://api.apiture.com/errors/{error.type}"}
    }
    return {"_profile": ERROR_PROFILE, "_error": inner}


def _is_action(rel: str) -> bool:
    return rel.startswith("apiture:") and rel[8:] in APPLICATION_ACTIONS


def links_without_actions(links: Any) -> JSON:
    if not isinstance(links, dict):
        return {}
    return {k: v for k, v in links.items() if not _is_action(k)}
