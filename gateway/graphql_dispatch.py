"""``/graphql`` before FastAPI's routing: FastAPI's router, its dependency
injection and its inner middleware cost a tenth of a one-record query and do
nothing for this one endpoint (``gateway.graphql_http`` is the view)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class GraphQLDispatch:
    """``/graphql`` straight to the GraphQL view; every other path to ``app``.

    Added as the app's innermost middleware: the guard, the upload limit and
    Starlette's server-error handling still wrap every GraphQL request.
    """

    PATHS = frozenset({"/graphql", "/graphql/"})

    def __init__(self, app: ASGIApp, graphql: ASGIApp) -> None:
        self.app = app
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] in self.PATHS:
            await self.graphql(scope, receive, send)
        else:
            await self.app(scope, receive, send)
