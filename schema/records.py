"""Finding records by global id through the request's loaders.

The one place that knows which loader serves which (type, provider) pair.
"""

from __future__ import annotations

from adapters import model
from schema import ids
from schema.context import Context


async def application(ctx: Context, gid: ids.GlobalId) -> model.Application | None:
    if gid.typename != "Application":
        return None
    if gid.provider is model.Provider.APITURE:
        return await ctx.loaders.apiture_application.load(gid.key)
    if gid.provider is model.Provider.CONNECTFI:
        return await ctx.loaders.connectfi_application.load(gid.key)
    return None


async def enrollment(ctx: Context, gid: ids.GlobalId) -> model.Enrollment | None:
    if gid.typename != "Enrollment" or gid.provider is not model.Provider.APITURE:
        return None
    return await ctx.loaders.apiture_enrollment.load(gid.key)


async def document(ctx: Context, gid: ids.GlobalId) -> model.Document | None:
    if gid.typename != "Document":
        return None
    if gid.provider is model.Provider.MAMBU:
        return await ctx.loaders.mambu_document.load(gid.key)
    if gid.provider is model.Provider.AUCO:
        return await ctx.loaders.auco_document.load(gid.key)
    return None


async def detailed_application(
    ctx: Context, app: model.Application
) -> model.Application:
    """The full representation of ``app`` (itself when it already is one)."""
    if app.provider is not model.Provider.APITURE or "documents" in app.fields:
        return app
    full = await ctx.loaders.apiture_application.load(app.key)
    return full or app


async def detailed_enrollment(ctx: Context, e: model.Enrollment) -> model.Enrollment:
    if "documents" in e.fields:
        return e
    full = await ctx.loaders.apiture_enrollment.load(e.key)
    return full or e
