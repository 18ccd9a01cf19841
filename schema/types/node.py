"""The Relay ``Node`` interface."""

import strawberry


@strawberry.interface(
    description="Anything with a global id that `node(id:)` can fetch again."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="Global, opaque and stable id of this record."
    )
