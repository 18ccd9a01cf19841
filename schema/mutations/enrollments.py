"""Enrollment mutations (Apiture): create, update (PATCH), replace (PUT), delete,
approve and reject."""

from __future__ import annotations

import strawberry

from adapters import model
from schema.context import Info
from schema.errors import Deleted
from schema.mutations.common import DeleteResult, EnrollmentResult, IfMatch, apiture_key
from schema.types.enrollment import Enrollment
from schema.types.inputs import EnrollmentInput


async def _act(
    info: Info, id: str, action: model.Action, if_match: str | None
) -> EnrollmentResult:
    key = apiture_key(id, "Enrollment")
    found = await info.context.upstreams.apiture.act_on_enrollment(
        key, action, if_match
    )
    return Enrollment.from_domain(found)


@strawberry.type
class EnrollmentMutations:
    @strawberry.mutation(description="Enroll in digital banking (starts running).")
    async def create_enrollment(
        self, info: Info, input: EnrollmentInput
    ) -> EnrollmentResult:
        found = await info.context.upstreams.apiture.create_enrollment(
            input.to_domain()
        )
        return Enrollment.from_domain(found)

    @strawberry.mutation(description="Change some fields; omitted ones stay.")
    async def update_enrollment(
        self,
        info: Info,
        id: strawberry.ID,
        input: EnrollmentInput,
        if_match: IfMatch = None,
    ) -> EnrollmentResult:
        key = apiture_key(id, "Enrollment")
        found = await info.context.upstreams.apiture.update_enrollment(
            key, input.to_domain(), if_match
        )
        return Enrollment.from_domain(found)

    @strawberry.mutation(description="Replace the whole enrollment.")
    async def replace_enrollment(
        self,
        info: Info,
        id: strawberry.ID,
        input: EnrollmentInput,
        if_match: IfMatch = None,
    ) -> EnrollmentResult:
        key = apiture_key(id, "Enrollment")
        found = await info.context.upstreams.apiture.replace_enrollment(
            key, input.to_domain(), if_match
        )
        return Enrollment.from_domain(found)

    @strawberry.mutation(
        description="Delete an enrollment and what it owns (no ifMatch: Apiture "
        "takes none here)."
    )
    async def delete_enrollment(self, info: Info, id: strawberry.ID) -> DeleteResult:
        key = apiture_key(id, "Enrollment")
        await info.context.upstreams.apiture.delete_enrollment(key)
        return Deleted(id=strawberry.ID(id))

    @strawberry.mutation(
        description="Approve an enrollment whose requirements are complete."
    )
    async def approve_enrollment(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: IfMatch = None,
    ) -> EnrollmentResult:
        return await _act(info, id, model.Action.APPROVE, if_match)

    @strawberry.mutation(description="Reject a running or blocked enrollment.")
    async def reject_enrollment(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: IfMatch = None,
    ) -> EnrollmentResult:
        return await _act(info, id, model.Action.REJECT, if_match)
