"""Which documents belong to an application or an enrollment, across providers.

Apiture lists document references on the application and the enrollment themselves.
A connectFi customer's documents are the Mambu attachments of the Mambu client whose
id is that customer id (the link a bank keeps between its KYC provider and its core
banking; the sandboxes' demo data share these ids).
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters import model
from schema import records
from schema.context import Context

APITURE = model.Provider.APITURE


def documents_at_hand(
    record: model.Application | model.Enrollment,
) -> Sequence[model.Document] | None:
    """The record's documents when it holds them already (an Apiture detail, or a
    record that has none to read), or None: they must be read.

    The ``documents`` fields answer these without awaiting anything: a page of
    twenty detailed applications then completes in one pass, with no coroutine
    and no task per application.
    """
    if isinstance(record, model.Enrollment) or record.provider is APITURE:
        return record.documents if "documents" in record.fields else None
    if record.provider is model.Provider.CONNECTFI and record.customer_id:
        return None  # the customer's, on the matching Mambu client
    return ()


async def documents_of_application(
    ctx: Context, app: model.Application
) -> Sequence[model.Document]:
    found = documents_at_hand(app)
    if found is not None:
        return found
    if app.provider is APITURE:
        return (await records.detailed_application(ctx, app)).documents
    assert app.customer_id  # a connectFi customer's: documents_at_hand says
    return await documents_of_owner(ctx, customer_owner(app.customer_id))


def customer_owner(customer_id: str) -> model.Owner:
    """The Mambu client that holds a connectFi customer's documents."""
    return model.Owner(model.OwnerKind.MAMBU_CLIENT, customer_id)


async def documents_of_enrollment(
    ctx: Context, enrollment: model.Enrollment
) -> Sequence[model.Document]:
    return (await records.detailed_enrollment(ctx, enrollment)).documents


async def documents_of_owner(
    ctx: Context, owner: model.Owner
) -> Sequence[model.Document]:
    found = await ctx.loaders.documents_by_owner.load(owner)
    return found or ()
