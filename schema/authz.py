"""Who may see and do what: the whole policy, in one place.

Roles come from the caller's token: ``staff`` sees and does everything; an
``applicant`` sees only their own records, bound by the token's claims (connectFi
customer id, Apiture contact, Mambu client key, email for Auco signers). A record
that is not the caller's reads exactly like one that does not exist (null,
``NotFound``), so ids cannot be probed.

Mutations: only staff approve, reject, expire, start or delete, and request or
cancel signatures; an applicant may create and edit their own applications and
enrollments, cancel their own *running* application, and upload their own
documents. ``Authorized`` applies these rules to every mutation before its
resolver runs, so resolvers hold no checks of their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension

from adapters import model
from schema import ids, records
from schema.context import Caller, Context, Info
from schema.errors import Forbidden, NotFound
from schema.types.common import Provider
from schema.types.inputs import ApplicationFilter

STAFF = "staff"
APPLICANT = "applicant"


def is_staff(caller: Caller) -> bool:
    return STAFF in caller.roles


def _contact_id(uri: str | None) -> str | None:
    return uri.rstrip("/").rsplit("/", 1)[-1] if uri else None


def owns_application(caller: Caller, app: model.Application) -> bool:
    if is_staff(caller):
        return True
    if app.provider is model.Provider.CONNECTFI:
        return bool(caller.connectfi_customer_id) and (
            app.customer_id == caller.connectfi_customer_id
        )
    contact = _contact_id(caller.apiture_contact)
    return contact is not None and any(a.contact_id == contact for a in app.applicants)


def owns_enrollment(caller: Caller, enrollment: model.Enrollment) -> bool:
    if is_staff(caller):
        return True
    contact = _contact_id(caller.apiture_contact)
    people = [*enrollment.applicants]
    if enrollment.applicant is not None:
        people.append(enrollment.applicant)
    return contact is not None and any(a.contact_id == contact for a in people)


def owns_owner(caller: Caller, owner: model.Owner | None) -> bool:
    """Whether the record a document hangs on is the caller's (sync part)."""
    if is_staff(caller):
        return True
    if owner is None:
        return False
    if owner.kind is model.OwnerKind.MAMBU_CLIENT:
        return owner.id in {caller.mambu_client_key, caller.connectfi_customer_id}
    if owner.kind in (
        model.OwnerKind.CONNECTFI_CUSTOMER,
        model.OwnerKind.CONNECTFI_APPLICATION,
    ):
        customer = owner.id.split(":", 1)[0]
        return bool(caller.connectfi_customer_id) and (
            customer == caller.connectfi_customer_id
        )
    if owner.kind is model.OwnerKind.AUCO_SIGNER:
        return bool(caller.email) and owner.id.lower() == (caller.email or "").lower()
    return False


async def owns_document_owner(ctx: Context, owner: model.Owner | None) -> bool:
    """Like ``owns_owner``, loading the Apiture record a document is listed on."""
    if is_staff(ctx.caller) or owns_owner(ctx.caller, owner):
        return True
    if owner is None:
        return False
    if owner.kind is model.OwnerKind.APITURE_APPLICATION:
        app = await ctx.loaders.apiture_application.load(owner.id)
        return app is not None and owns_application(ctx.caller, app)
    if owner.kind is model.OwnerKind.APITURE_ENROLLMENT:
        found = await ctx.loaders.apiture_enrollment.load(owner.id)
        return found is not None and owns_enrollment(ctx.caller, found)
    return False


# Mutations and who may run them. "own" = an applicant, on their own record.
STAFF_ONLY = frozenset(
    {
        "approveApplication",
        "rejectApplication",
        "expireApplication",
        "startApplication",
        "deleteApplication",
        "approveEnrollment",
        "rejectEnrollment",
        "deleteEnrollment",
        "requestSignature",
        "cancelSignature",
        "deleteDocument",
    }
)
OWN_APPLICATION = frozenset(
    {"updateApplication", "replaceApplication", "cancelApplication"}
)
OWN_ENROLLMENT = frozenset({"updateEnrollment", "replaceEnrollment"})
ANYONE = frozenset(
    {"createApplication", "createEnrollment", "generateDocument", "uploadDocument"}
)


def _forbidden(what: str) -> Forbidden:
    return Forbidden(code="FORBIDDEN", message=f"only staff may {what}")


def _not_found(raw: object) -> NotFound:
    return NotFound(code="NOT_FOUND", message=f"no record with id {raw}")


async def refusal(
    info: Info, field_name: str, kwargs: dict[str, Any]
) -> Forbidden | NotFound | None:
    """Why the caller may not run this mutation with these arguments, if not."""
    ctx = info.context
    caller = ctx.caller
    if is_staff(caller):
        return None
    if APPLICANT not in caller.roles or field_name in STAFF_ONLY:
        return _forbidden(field_name)
    if field_name in OWN_APPLICATION:
        gid = ids.decode(str(kwargs.get("id", "")))
        app = await records.application(ctx, gid) if gid else None
        if app is None or not owns_application(caller, app):
            return _not_found(kwargs.get("id"))
        if field_name == "cancelApplication" and app.state is not model.State.RUNNING:
            return Forbidden(
                code="FORBIDDEN",
                message="an applicant may cancel only a running application",
            )
        return None
    if field_name in OWN_ENROLLMENT:
        gid = ids.decode(str(kwargs.get("id", "")))
        found = await records.enrollment(ctx, gid) if gid else None
        if found is None or not owns_enrollment(caller, found):
            return _not_found(kwargs.get("id"))
        return None
    if field_name == "uploadDocument":
        target = kwargs.get("input")
        owner = getattr(target, "owner", None)
        if owner is not None and not owns_owner(caller, owner.to_domain()):
            return _not_found(owner.id)
        return None
    if field_name in ANYONE:
        return None
    return _forbidden(field_name)  # a mutation the policy does not know


class Authorized(FieldExtension):
    """Runs the policy before a mutation's resolver (and its idempotency)."""

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info,
        **kwargs: Any,
    ) -> Any:
        refused = await refusal(info, info.field_name, kwargs)
        if refused is not None:
            return refused
        return await next_(source, info, **kwargs)


def make_authorized(mutation_type: type) -> None:
    definition = mutation_type.__strawberry_definition__  # type: ignore[attr-defined]
    for mutation in definition.fields:
        # Strawberry makes the last extension the outermost: appended after the
        # others, the policy runs first, so a refused call reaches neither the
        # idempotency store nor a provider.
        mutation.extensions.append(Authorized())


def bind_filter(
    caller: Caller, f: ApplicationFilter | None
) -> ApplicationFilter | None:
    """The filter narrowed to the caller's own applications; None for nothing."""
    f = f or ApplicationFilter()
    if is_staff(caller):
        return f
    if f.customer_id and f.customer_id != caller.connectfi_customer_id:
        return None
    if f.applicant_contact and f.applicant_contact != caller.apiture_contact:
        return None
    if not caller.connectfi_customer_id and not caller.apiture_contact:
        return None
    providers: list[Provider] = [
        p
        for p in f.providers or list(Provider)
        if (p is Provider.CONNECTFI and caller.connectfi_customer_id)
        or (p is Provider.APITURE and caller.apiture_contact)
    ]
    if not providers:
        return None
    return dataclasses.replace(
        f,
        providers=providers,
        customer_id=caller.connectfi_customer_id,
        applicant_contact=caller.apiture_contact,
    )


# Reads by id: what is not the caller's reads as missing.


async def visible_application(
    ctx: Context, gid: ids.GlobalId
) -> model.Application | None:
    app = await records.application(ctx, gid)
    return app if app is not None and owns_application(ctx.caller, app) else None


async def visible_enrollment(
    ctx: Context, gid: ids.GlobalId
) -> model.Enrollment | None:
    found = await records.enrollment(ctx, gid)
    if found is not None and owns_enrollment(ctx.caller, found):
        return found
    return None


async def visible_document(ctx: Context, gid: ids.GlobalId) -> model.Document | None:
    found = await records.document(ctx, gid)
    if found is not None and await owns_document_owner(ctx, found.owner):
        return found
    return None
