"""``create_app(settings)``: the FastAPI application.

One upstream client per provider is created in the lifespan and shared by every
request; each request gets fresh dataloaders and the caller's identity in its
GraphQL context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from gateway import graphiql
from gateway.graphql_http import GraphQLHTTPRouter
from gateway.limits import UploadLimit
from gateway.operations import load_operations
from gateway.persisted import DEFAULT_MANIFEST, Manifest, Mode, PersistedQueries
from gateway.settings import Settings
from gateway.upstreams import Upstreams, create_upstreams
from schema.api import schema
from schema.context import Context
from schema.loaders import create_loaders


def create_app(
    settings: Settings | None = None,
    *,
    sandboxes: dict[Provider, Controlled] | None = None,
) -> FastAPI:
    """The gateway. ``sandboxes`` lets tests hand in sandboxes they control."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upstreams = create_upstreams(settings, sandboxes)
        app.state.upstreams = upstreams
        try:
            yield
        finally:
            await upstreams.aclose()

    async def context(request: Request) -> Context:
        upstreams: Upstreams = request.app.state.upstreams
        return Context(upstreams=upstreams, loaders=create_loaders(upstreams))

    graphql = GraphQLHTTPRouter(
        schema,
        context_getter=context,
        multipart_uploads_enabled=True,
        persisted=persisted_queries(settings),
        graphiql_html=graphiql_page(settings),
    )
    app = FastAPI(title="Onboarding gateway", lifespan=lifespan, docs_url=None)
    app.state.settings = settings
    # Room for the multipart envelope (operations, map) around the file itself.
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_bytes + 64 * 1024)
    app.include_router(graphql, prefix="/graphql")
    if settings.graphiql:
        app.include_router(graphiql.asset_router())

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {
            "status": "ok",
            "sandboxes": sorted(p.name for p in settings.sandboxed()),
        }

    return app


def persisted_queries(settings: Settings) -> PersistedQueries:
    path = settings.persisted_manifest
    if path is None and DEFAULT_MANIFEST.is_file():
        path = DEFAULT_MANIFEST
    manifest = Manifest.load(path) if path is not None else None
    return PersistedQueries(
        Mode(settings.persisted_queries), manifest, settings.persisted_cache_size
    )


def graphiql_page(settings: Settings) -> str | None:
    if not settings.graphiql:
        return None
    operations = load_operations(settings.operations_dir)
    return graphiql.page(operations, settings.graphiql_headers)
