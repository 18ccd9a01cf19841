"""Apiture Account Applications v0.18.3 JSON ⇄ the domain of :mod:`adapters.model`.

The only module that knows Apiture's field names (seed ``001_1434ba7a5e588ce0``,
digest ``shared/reference/apiture.md`` §5-§6).

- ``key`` and ``provider_id`` are the resource ``_id``.
- ``state`` values map 1:1 onto :class:`State` (DESIGN.md); an unknown value is
  logged and becomes RUNNING when it is not one of the terminal values, so a new
  provider state never crashes a query.
- ``available_actions`` comes from the ``apiture:approve|reject|cancel|expire|start``
  links (seed L2147 etc.: present iff the action is allowed).
- ``version`` is the ``ETag`` response header, never part of the body.
- ``documents[]`` ({uri, contentType, revisionId, revisedAt}, §6.6) become
  :class:`Document` with key = the uri, status UPLOADED, ``created_at`` = revisedAt.
- Answers arrive validated against :mod:`adapters.apiture.answers` (required
  ``_id`` and ``state``, types, 32-bit non-negative counts): what is read here is
  typed by those declarations, so the two cannot disagree on a name unnoticed.
- ``fields`` lists the domain fields a representation answered. A summary (§5.2)
  answers the ones whose Apiture keys it carried, and ``completed_at`` when it
  carries ``createdAt`` (an extended summary leaves ``completedAt`` out only when
  there is none). Apiture has no customer id, reference, outcome or entities, so
  every representation answers those (always empty).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import fields as dataclass_fields
from datetime import datetime

from adapters.apiture import answers
from adapters.model import (
    TERMINAL_STATES,
    Action,
    Applicant,
    Application,
    Document,
    DocumentStatus,
    Enrollment,
    FundingAccount,
    Money,
    Owner,
    OwnerKind,
    Provider,
    RequiredDocument,
    State,
)
from adapters.records import positional_maker

log = logging.getLogger("gateway.adapters.apiture")

_STATES = {s.value: s for s in State}
_ACTIONS = {f"apiture:{a.value}": a for a in Action}
_NEVER_AT_APITURE = frozenset({"customer_id", "reference", "outcome", "entities"})
APPLICATION_FIELDS = frozenset(
    f.name for f in dataclass_fields(Application) if f.name != "fields"
)
ENROLLMENT_FIELDS = frozenset(
    f.name for f in dataclass_fields(Enrollment) if f.name != "fields"
)
_IDENTITY = frozenset({"provider", "key", "provider_id", "state", "provider_state"})
# Apiture key of a summary -> the domain field it answers
_APPLICATION_SUMMARY_KEYS = {
    "name": "name",
    "accountName": "name",
    "applicantName": "applicant_name",
    "productName": "product_name",
    "createdAt": "created_at",
    "completedAt": "completed_at",
}
_ENROLLMENT_SUMMARY_KEYS = {
    "name": "name",
    "applicantName": "applicant_name",
    "createdAt": "created_at",
    "completedAt": "completed_at",
}


# reading ----------------------------------------------------------------------------


def state_of(raw: object, *, kind: str, id_: str) -> tuple[State, str]:
    value = raw if isinstance(raw, str) else ""
    state = _STATES.get(value)
    if state is None:
        log.warning("apiture %s %s has an unknown state %r", kind, id_, raw)
        state = State.RUNNING
    return state, value


def application_summary(item: answers.ApplicationSummary) -> Application:
    # Validated: every value is a string or None, so ``or None`` is ``_str``
    # (an empty string is None), without a call per field on every item.
    # A known state is looked up here, without a call; ``state_of`` reports
    # any other. A timestamp is read only when there is one.
    id_, raw = item["_id"], item["state"]
    state = _STATES.get(raw)
    if state is None:
        state, raw = state_of(raw, kind="application", id_=id_)
    created, completed = item.get("createdAt"), item.get("completedAt")
    try:  # _time of each, without its call: one it cannot read goes to _time
        created_at = _from_iso(created) if created else None
        completed_at = _from_iso(completed) if completed else None
    except ValueError:
        created_at, completed_at = _time(created), _time(completed)
    return _make_summary(  # the fields of _SUMMARY, in order
        Provider.APITURE,
        id_,
        id_,
        state,
        raw,
        item.get("name") or item.get("accountName") or None,
        item.get("productName") or None,
        item.get("applicantName") or None,
        created_at,
        completed_at,
        _summary_fields(
            tuple(item), "createdAt" in item or state not in TERMINAL_STATES
        ),
    )


# Application(**dict(zip(_SUMMARY, values))), without a keyword per field
# (adapters.records.positional_maker); every other field its default.
_SUMMARY = (
    "provider",
    "key",
    "provider_id",
    "state",
    "provider_state",
    "name",
    "product_name",
    "applicant_name",
    "created_at",
    "completed_at",
    "fields",
)
_make_summary = positional_maker(Application, *_SUMMARY)
_from_iso = datetime.fromisoformat


@functools.lru_cache(maxsize=256)
def _summary_fields(keys: tuple[str, ...], completion_known: bool) -> frozenset[str]:
    """The domain fields a summary with these keys carries (items of a page
    share their keys: computed once for them all)."""
    carried = {
        _APPLICATION_SUMMARY_KEYS[k] for k in keys if k in _APPLICATION_SUMMARY_KEYS
    }
    if completion_known:
        carried.add("completed_at")
    return frozenset(_IDENTITY | _NEVER_AT_APITURE | carried)


def application(body: answers.Application, etag: str | None) -> Application:
    id_ = body["_id"]
    state, raw = state_of(body["state"], kind="application", id_=id_)
    owner = Owner(OwnerKind.APITURE_APPLICATION, id_)
    return Application(
        provider=Provider.APITURE,
        key=id_,
        provider_id=id_,
        state=state,
        provider_state=raw,
        name=_str(body.get("accountName")) or _str(body.get("name")),
        product_name=_str(body.get("productName")),
        applicant_name=_str(body.get("applicantName")),
        created_at=_time(body.get("createdAt")),
        completed_at=_time(body.get("completedAt")),
        funding_amount=_money(body.get("fundingAmount")),
        funding_account=_funding_account(body.get("fundingAccount")),
        applicants=tuple(applicant(a) for a in body.get("applicants") or ()),
        documents=tuple(documents(body.get("documents"), owner)),
        available_actions=actions(body.get("_links")),
        version=etag,
        fields=APPLICATION_FIELDS,
    )


def enrollment_summary(item: answers.ApplicationSummary) -> Enrollment:
    id_ = item["_id"]
    state, raw = state_of(item["state"], kind="enrollment", id_=id_)
    carried = {
        _ENROLLMENT_SUMMARY_KEYS[k] for k in item if k in _ENROLLMENT_SUMMARY_KEYS
    }
    if "createdAt" in item or state not in TERMINAL_STATES:
        carried.add("completed_at")
    return Enrollment(
        provider=Provider.APITURE,
        key=id_,
        provider_id=id_,
        state=state,
        provider_state=raw,
        name=_str(item.get("name")),
        applicant_name=_str(item.get("applicantName")),
        created_at=_time(item.get("createdAt")),
        completed_at=_time(item.get("completedAt")),
        fields=frozenset(_IDENTITY | carried),
    )


def enrollment(body: answers.Enrollment, etag: str | None) -> Enrollment:
    id_ = body["_id"]
    state, raw = state_of(body["state"], kind="enrollment", id_=id_)
    owner = Owner(OwnerKind.APITURE_ENROLLMENT, id_)
    primary = body.get("applicant")
    applicants = tuple(applicant(a) for a in body.get("applicants") or ())
    if primary is not None:
        main: Applicant | None = applicant(primary)
    else:
        main = applicants[0] if applicants else None
    applicant_name = _str(body.get("applicantName"))
    return Enrollment(
        provider=Provider.APITURE,
        key=id_,
        provider_id=id_,
        state=state,
        provider_state=raw,
        # A full enrollment has no ``name`` (§6.1); summaries name the applicant.
        name=_str(body.get("name")) or applicant_name,
        applicant_name=applicant_name,
        applicant=main,
        applicants=applicants,
        required_documents=tuple(
            required_document(r) for r in body.get("requiredDocuments") or ()
        ),
        documents=tuple(documents(body.get("documents"), owner)),
        flagged_for_review=_bool(body.get("flaggedForReview")),
        created_at=_time(body.get("createdAt")),
        completed_at=_time(body.get("completedAt")),
        available_actions=actions(body.get("_links")) & {Action.APPROVE, Action.REJECT},
        version=etag,
        fields=ENROLLMENT_FIELDS,
    )


def actions(links: answers.Links | None) -> frozenset[Action]:
    if not links:
        return frozenset()
    return frozenset(_ACTIONS[rel] for rel in links if rel in _ACTIONS)


def applicant(raw: answers.Applicant) -> Applicant:
    contact: answers.Contact = raw.get("contact") or {}
    first, last = _str(contact.get("firstName")), _str(contact.get("lastName"))
    name = " ".join(p for p in (first, last) if p) or None
    role = raw.get("role") or {}
    return Applicant(
        name=name,
        first_name=first,
        last_name=last,
        username=_str(raw.get("username")),
        role=_str(role.get("name")),
        email=_preferred(
            [
                (e.get("_id"), e.get("value"))
                for e in contact.get("emailAddresses") or ()
            ],
            contact.get("preferredEmailAddressId"),
        ),
        phone=_preferred(
            [(p.get("_id"), p.get("number")) for p in contact.get("phones") or ()],
            contact.get("preferredPhoneId"),
        ),
        birthdate=_str(contact.get("birthdate")),
        verified=_bool(raw.get("verified")),
        contact_id=_str(contact.get("_id")),
    )


def documents(raw: list[answers.DocumentRef] | None, owner: Owner) -> list[Document]:
    found = []
    for item in raw or ():
        uri = _str(item.get("uri"))
        if not uri:
            continue
        name = _document_name(uri)
        found.append(
            Document(
                provider=Provider.APITURE,
                key=uri,
                provider_id=uri,
                name=name,
                status=DocumentStatus.UPLOADED,
                file_extension=name.rsplit(".", 1)[-1] if "." in name else None,
                content_type=_str(item.get("contentType")),
                created_at=_time(item.get("revisedAt")),
                owner=owner,
            )
        )
    return found


def required_document(raw: answers.RequiredDocument) -> RequiredDocument:
    return RequiredDocument(
        label=_str(raw.get("label")),
        type=_str(raw.get("type")),
        category=_str(raw.get("category")),
        product_target=_str(raw.get("productTarget")),
        document_uri=_str(raw.get("documentUri")),
        require_if_verified=_bool(raw.get("requireIfVerified")),
    )


def collection_items(body: answers.Collection) -> list[answers.ApplicationSummary]:
    """``_embedded.items``, which the seed renders as ``{"anyOf": [...]}`` (§9.18)."""
    items = body["_embedded"]["items"]
    return items["anyOf"] if isinstance(items, dict) else items


def next_href(body: answers.Collection) -> str | None:
    """The ``next`` link of a collection: more pages follow (§8)."""
    links = body.get("_links") or {}
    found = links.get("next")
    href = found.get("href") if isinstance(found, dict) else None
    return href or None


def page_numbers(
    body: answers.Collection,
) -> tuple[int | None, int | None, bool | None]:
    """``(count, start, has a next link)``: ``count`` is the total (§8); the
    last is None when the page carries no links at all."""
    links = body.get("_links")
    return (
        body.get("count"),
        body.get("start"),
        None if links is None else "next" in links,
    )


# helpers ----------------------------------------------------------------------------


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)  # reads a "Z" as UTC since 3.11
    except ValueError:
        log.warning("apiture sent an unreadable timestamp %r", value)
        return None


def _money(value: answers.Money | None) -> Money | None:
    if not value:
        return None
    amount, currency = value.get("value"), value.get("currency")
    if amount is None or not isinstance(currency, str):
        return None
    return Money(value=str(amount), currency=currency)


def _funding_account(value: answers.FundingAccount | None) -> FundingAccount | None:
    if not value:
        return None
    masked = (value.get("accountNumbers") or {}).get("masked")
    return FundingAccount(
        title=_str(value.get("title")),
        institution_name=_str(value.get("institutionName")),
        routing_number=_str(value.get("routingNumber")),
        masked_account_number=_str(masked),
    )


def _preferred(
    items: list[tuple[str | None, str | None]], preferred: object
) -> str | None:
    """The value of the item whose id is ``preferred``, else the first's."""
    for id_, value in items:
        if preferred is not None and id_ == preferred:
            return _str(value)
    return _str(items[0][1]) if items else None


def _document_name(uri: str) -> str:
    """The last meaningful path segment: ``/vault/files/{id}/content`` -> ``{id}``."""
    segments = [s for s in uri.split("?", 1)[0].split("/") if s]
    if segments and segments[-1] == "content" and len(segments) > 1:
        return segments[-2]
    return segments[-1] if segments else uri
