"""The execution engine: how the gateway plans and runs GraphQL selections.

- ``engine.context``: the execution context, which plans each selection set and
  builds plain objects in one loop instead of graphql-core's per-field path.
- ``engine.plans``: the plan types and running them.
- ``engine.compiled``: a plan kept across requests, written out as one
  generated function from the same steps.
- ``engine.fields``: what a field's declaration tells the engine (read directly,
  answered at hand).
- ``engine.presented``: schema objects shared between requests, per record.
- ``engine.documents``: parsed and validated documents by query text.
- ``engine.selection``: what a query selects below a field.

The engine knows nothing of the schema's types, the gateway or any provider: it
imports only graphql-core, Strawberry and the neutral ``caching`` package (the
one cache type, below both ``engine`` and ``adapters``).
``schema`` builds on it; nothing here imports ``schema``, ``gateway`` or
``adapters``.
"""
