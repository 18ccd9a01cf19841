"""The private internals of Strawberry the engine and the schema use, each
behind one function here (``tests/test_private_internals.py`` fails loudly when
Strawberry changes one of them).

- ``graphql_schema``: ``Schema._schema``, the graphql-core schema Strawberry
  built. Strawberry has no public accessor for it; the parse/validate cache
  (``schema.pipeline``) validates against it, and ``engine.fields`` learns the
  code of Strawberry's bare resolver from a probe schema's field.
- ``raw_info``: ``Info._raw_info``, graphql-core's resolve info. Strawberry's
  public ``Info.selected_fields`` converts the whole selection into its own
  objects on every call; ``engine.selection`` reads the field nodes as they are
  (the detail-or-summary decision runs per list field).
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLResolveInfo, GraphQLSchema


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema behind a Strawberry schema."""
    found: GraphQLSchema = schema._schema
    return found


def raw_info(info: strawberry.Info[Any, Any]) -> GraphQLResolveInfo[Any]:
    """graphql-core's resolve info behind a Strawberry ``Info``."""
    return info._raw_info
