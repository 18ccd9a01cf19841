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

Every input that names a record is checked, not only root ids (the table is
``refusal``): ``id`` of the application and enrollment mutations (the record
read for the check must be the record the id names), ``uploadDocument``'s
``documentId`` and ``owner``, and the ``documentUri`` of an enrollment's required
documents (an applicant may name only a document already on their own
enrollment: a vault file the gateway cannot check is not theirs to point at).
A connectFi document carries no owner at connectFi, so the gateway remembers who
generated it (:class:`DocumentOwners`): an applicant's generated document belongs
to their connectFi customer, and an applicant may upload only into one of their
own customer's; a document staff generated, or one the store does not know (a
restart; another replica unless the store is shared: ``gateway.state.owners``),
reads as not found to an applicant. An applicant without a connectFi customer
may not generate one.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension

from adapters import model
from adapters.connectfi import mapping as connectfi_mapping
from schema import ids, records
from schema.context import Caller, Context, Info
from schema.errors import Forbidden, NotFound
from schema.stores import DocumentOwnerStore as DocumentOwnerStore
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
        customer = connectfi_mapping.customer_of(owner.id)
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


class DocumentOwners:
    """Who each generated connectFi document belongs to, in this process.

    Bounded: the oldest bindings go first beyond ``max_entries`` (a document is
    generated to be uploaded into soon after). An unknown document has no owner.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._owners: OrderedDict[str, model.Owner] = OrderedDict()

    async def bind(self, key: str, owner: model.Owner) -> None:
        self._owners[key] = owner
        self._owners.move_to_end(key)
        while len(self._owners) > self.max_entries:
            self._owners.popitem(last=False)

    async def owner_of(self, key: str) -> model.Owner | None:
        return self._owners.get(key)


async def generated(ctx: Context, document: model.Document) -> model.Document:
    """A document the caller just generated, bound to the caller's customer."""
    customer = ctx.caller.connectfi_customer_id
    if is_staff(ctx.caller) or not customer:
        return document
    owner = model.Owner(model.OwnerKind.CONNECTFI_CUSTOMER, customer)
    await ctx.upstreams.document_owners.bind(document.key, owner)
    return dataclasses.replace(document, owner=owner)


async def _connectfi_document_owner(ctx: Context, raw: object) -> model.Owner | None:
    gid = ids.decode(str(raw))
    if gid is None or gid.typename != "Document":
        return None
    if gid.provider is not model.Provider.CONNECTFI:
        return None
    return await ctx.upstreams.document_owners.owner_of(gid.key)


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
        # The record read must be the one the id names: the action that follows
        # addresses gid.key, never what the provider made of it.
        if gid is None or app is None or app.key != gid.key:
            return _not_found(kwargs.get("id"))
        if not owns_application(caller, app):
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
        if gid is None or found is None or found.key != gid.key:
            return _not_found(kwargs.get("id"))
        if not owns_enrollment(caller, found):
            return _not_found(kwargs.get("id"))
        return _foreign_document_uri(kwargs.get("input"), _document_uris(found))
    if field_name == "uploadDocument":
        target = kwargs.get("input")
        document_id = getattr(target, "document_id", None)
        if document_id is not None:
            document_owner = await _connectfi_document_owner(ctx, document_id)
            if document_owner is None or not owns_owner(caller, document_owner):
                return _not_found(document_id)
        owner = getattr(target, "owner", None)
        if owner is not None and not owns_owner(caller, owner.to_domain()):
            return _not_found(owner.id)
        return None
    if field_name == "generateDocument" and not caller.connectfi_customer_id:
        return Forbidden(
            code="FORBIDDEN",
            message="an applicant generates documents only for their own "
            "connectFi customer",
        )
    if field_name == "createEnrollment":
        return _foreign_document_uri(kwargs.get("input"), frozenset())
    if field_name == "startIdentification":
        # Only for the applicant's own connectFi customer; another reads as missing.
        customer = getattr(kwargs.get("input"), "customer_id", None)
        if not caller.connectfi_customer_id or customer != caller.connectfi_customer_id:
            return _not_found(customer)
        return None
    if field_name in ANYONE:
        return None
    return _forbidden(field_name)  # a mutation the policy does not know


def _document_uris(enrollment: model.Enrollment) -> frozenset[str]:
    """The documents an enrollment already names (its own)."""
    required = {r.document_uri for r in enrollment.required_documents}
    named = {d.key for d in enrollment.documents}
    return frozenset(named | {uri for uri in required if uri is not None})


def _foreign_document_uri(target: object, own: frozenset[str]) -> NotFound | None:
    for required in getattr(target, "required_documents", None) or ():
        uri = getattr(required, "document_uri", None)
        if uri is not None and uri not in own:
            return _not_found(uri)
    return None


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
