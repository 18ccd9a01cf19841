"""``/graphql`` as the GraphQL-over-HTTP spec reads, on Strawberry's ASGI view.

The view is a plain ASGI application that the app hands ``/graphql`` to before
FastAPI's routing (``gateway.graphql_dispatch``). What Strawberry's view leaves
to us, here and in the modules beside this one:

- Content negotiation, request errors as GraphQL errors in the negotiated type,
  and the subscriptions' transports: ``gateway.graphql_transport``.
- JSON nested too deep and multipart uploads: ``gateway.graphql_input``.
- ``operationName`` must be a string or null.
- Persisted queries (``gateway.persisted``) turn a hash into the text to run,
  for a streamed operation as for any other.
- Each caller's rate limits (``gateway.caller_limits``): a 429 with
  ``RATE_LIMITED`` and ``Retry-After``.
- GraphiQL is our own page with same-origin assets (``gateway.graphiql``).
- JSON in and out through orjson (several times faster than ``json`` on a page
  of results); whatever orjson refuses takes the standard library's path, so
  answers and refusals are the same as ``json``'s.
- Subscriptions (``schema.live``): ``graphql-transport-ws`` on the WebSocket
  (the only WebSocket protocol), authenticated by ``connect`` from the
  ``connection_init`` payload (refused: closed with 4403), a page on another
  origin allowed by ``websocket_origin`` (the CORS policy); and Server-Sent
  Events (graphql-sse's distinct connections mode: ``Accept:
  text/event-stream``), a POST like any other behind the HTTP guard.
- Tracing (``trace_context``, on when the app traces: ``gateway.tracing``): the
  W3C ``traceparent``/``tracestate`` of an HTTP request is the parent of its
  operation's span; one that does not parse is ignored (a new trace). Here,
  since ``/graphql`` never reaches FastAPI's routing or its middleware.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from opentelemetry import context as trace_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.streaming import HTTPStreamTransport
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.caller_limits import CallerLimits
from gateway.graphiql import CONTENT_SECURITY_POLICY
from gateway.graphql_input import (
    MAX_JSON_DEPTH,
    BoundedForm,
    TooDeep,
    json_depth,
    read_multipart,
)
from gateway.graphql_transport import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    SSE,
    SUBSCRIPTION_NEEDS_A_STREAM,
    TextWebSocketAdapter,
    error_response,
    is_json,
    is_request_error,
    is_subscription,
    negotiate,
)
from gateway.metrics import Metrics
from gateway.observability import current, trace_id
from gateway.persisted import PersistedQueries, PersistedQueryError
from schema.errors import RATE_LIMITED, request_error_code

ContextGetter = Callable[[Request | WebSocket], Awaitable[Any]]
# Authenticates a WebSocket's context from its connection_init payload; raises
# ConnectionRejectionError to refuse it.
Connect = Callable[[Any], Awaitable[None]]
_W3C = TraceContextTextMapPropagator()


class GraphQLHTTP(GraphQL[Any, None]):
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(
        self,
        schema: BaseSchema,
        *,
        context: ContextGetter,
        persisted: PersistedQueries,
        graphiql_html: str | None = None,
        max_upload_files: int = 5,
        connect: Connect | None = None,
        websocket_origin: Callable[[str], bool] | None = None,
        max_subscriptions_per_connection: int = 20,
        subscription_protocols: Sequence[str] = (GRAPHQL_TRANSPORT_WS_PROTOCOL, SSE),
        caller_limits: CallerLimits | None = None,
        trace_context: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql_html else None,
            multipart_uploads_enabled=True,
            subscription_protocols=subscription_protocols,
            max_subscriptions_per_connection=max_subscriptions_per_connection,
        )
        self.context = context
        self.connect = connect
        self.websocket_origin = websocket_origin
        self.persisted = persisted
        self.graphiql_html = graphiql_html
        self.max_upload_files = max_upload_files
        # Each caller's rate limits (gateway.caller_limits), None when off.
        self.caller_limits = caller_limits
        self.trace_context = trace_context
        # Names each operation for the metrics and the request's log line.
        self.metrics = metrics or Metrics()
        files = max_upload_files

        class Bounded(BoundedForm):
            max_files = files

        self.request_adapter_class = Bounded

    def _get_stream_transport_from_headers(
        self, headers: Mapping[str, str]
    ) -> HTTPStreamTransport | None:
        """A stream (Server-Sent Events) only for a client that prefers one: its
        ``Accept`` names ``text/event-stream`` before any JSON type. urql and other
        clients list ``text/event-stream`` after the JSON types on every query, and
        expect a plain JSON answer to them."""
        if isinstance(headers, Headers):  # Starlette's: the name looked up as given
            accept = headers.get("accept", "")
        else:
            accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
        kinds = [part.split(";", 1)[0].strip().lower() for part in accept.split(",")]
        if "text/event-stream" not in kinds:
            return None
        stream = kinds.index("text/event-stream")
        if any(is_json(kind) for kind in kinds[:stream]):
            return None
        return super()._get_stream_transport_from_headers(headers)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Any:
        return await self.context(request)

    async def on_ws_connect(self, context: Any) -> UnsetType:
        if self.connect is None:
            raise ConnectionRejectionError()
        await self.connect(context)
        # No payload: ``{"type": "connection_ack"}``. None would send
        # ``"payload": null``, which graphql-ws (GraphiQL's client) refuses.
        return cast(UnsetType, UNSET)

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        return self.websocket_origin is not None and self.websocket_origin(origin)

    def encode_json(self, data: object) -> str | bytes:
        try:
            return orjson.dumps(data)
        except TypeError:  # a value orjson does not know (or an int past 64 bits)
            return super().encode_json(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:  # NaN and the like: json's own answer
            try:
                value = super().decode_json(data)
            except RecursionError:
                raise TooDeep from None
        # Each level opens with a bracket: few brackets, no need to walk.
        if isinstance(data, bytes):
            brackets = data.count(b"[") + data.count(b"{")
        else:
            brackets = data.count("[") + data.count("{")
        if brackets > MAX_JSON_DEPTH and json_depth(value) > MAX_JSON_DEPTH:
            raise TooDeep
        return value

    def parse_json(self, data: str | bytes) -> Any:
        """Strawberry's, saying why JSON nested too deep is refused."""
        try:
            return self.decode_json(data)
        except TooDeep as exc:
            raise HTTPException(400, exc.msg) from exc
        except json.JSONDecodeError as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(
            self.graphiql_html or "",
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
        )

    async def run(  # type: ignore[override]
        self,
        request: Request | WebSocket,
        context: Any = UNSET,
        root_value: Any = UNSET,
    ) -> Response | WebSocket:
        if isinstance(request, WebSocket):
            try:
                return await super().run(
                    request, context=context, root_value=root_value
                )
            finally:  # the token's expiry timer (gateway.app), if any
                expiry = getattr(request.state, "expiry", None)
                if expiry is not None:
                    expiry.cancel()
        media_type = negotiate(request.headers.get("accept"))
        request.state.graphql_media_type = media_type
        token = None
        if self.trace_context and "traceparent" in request.headers:
            # the caller's trace, continued (one that does not parse: a new one)
            token = trace_context.attach(_W3C.extract(request.headers))
        try:
            response = await super().run(
                request, context=context, root_value=root_value
            )
        except HTTPException as exc:
            return error_response(exc.reason, exc.status_code, media_type)
        finally:
            if token is not None:
                trace_context.detach(token)
        if response.headers.get("content-type", "").startswith(JSON):
            request_error = getattr(request.state, "graphql_request_error", False)
            if media_type == GRAPHQL_RESPONSE_JSON:
                response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
                if request_error and response.status_code == 200:
                    response.status_code = 400
        return response

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> Any:
        """Strawberry's, counting parts and checking the map before placing files."""
        return await read_multipart(request, self.max_upload_files, self.parse_json)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, str | None):
                raise HTTPException(
                    400,
                    "The GraphQL operation's `operationName` must be a string "
                    "or null, if provided.",
                )
        return data

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Any,
        root_value: Any,
        sub_response: Response,
    ) -> Any:
        streamed = isinstance(request_data, GraphQLRequestData) and (
            self._get_stream_transport(request_data.protocol) is not None
        )
        if streamed:  # not through execute_single: resolve the hash here
            assert isinstance(request_data, GraphQLRequestData)
            try:
                query = await self.persisted.resolve_shared(
                    request_data.query, request_data.extensions
                )
            except PersistedQueryError as exc:
                raise HTTPException(400, exc.message) from None
            request_data = dataclasses.replace(request_data, query=query)
            info = current()
            if info is not None:
                info.operation, info.kind = self.metrics.operation(
                    request_data.operation_name, query
                )
                info.outcome = "ok"  # a stream: errors go out as events
        return await super().execute_operation(
            request=request,
            request_adapter=request_adapter,
            request_data=request_data,
            context=context,
            root_value=root_value,
            sub_response=sub_response,
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            query = await self.persisted.resolve_shared(
                request_data.query, request_data.extensions
            )
        except PersistedQueryError as exc:
            info = current()
            if info is not None:
                info.operation, info.kind = self.metrics.operation(
                    request_data.operation_name, None
                )
            if exc.status != 200:
                sub_response.status_code = exc.status
            error = GraphQLError(exc.message, extensions={"code": exc.code})
            return ExecutionResult(data=None, errors=[error])
        info = current()
        if info is not None:
            info.operation, info.kind = self.metrics.operation(
                request_data.operation_name, query
            )
        if self.caller_limits is not None:
            variables = request_data.variables
            refusal = await self.caller_limits.check(
                request,
                query,
                request_data.operation_name,
                variables if isinstance(variables, dict) else None,
            )
            if refusal is not None:
                sub_response.status_code = 429
                seconds = refusal.decision.retry_after_header
                sub_response.headers["Retry-After"] = seconds
                error = GraphQLError(
                    refusal.message,
                    extensions={
                        "code": RATE_LIMITED,
                        "limit": refusal.kind,
                        "retryAfter": int(seconds),
                    },
                )
                return ExecutionResult(data=None, errors=[error])
        if is_subscription(query, request_data.operation_name):
            # Executed as a query it would fail inside (a stream is no value).
            error = GraphQLError(
                SUBSCRIPTION_NEEDS_A_STREAM, extensions={"code": "BAD_USER_INPUT"}
            )
            return ExecutionResult(data=None, errors=[error])
        return await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=dataclasses.replace(request_data, query=query),
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        # Syntax errors bypass the schema's extensions: code them here.
        errors = cast(list[dict[str, Any]], response.get("errors") or [])
        info = current()
        if info is not None:
            info.trace_id = trace_id()  # while any span of the request is current
        for error in errors:
            extensions = error.setdefault("extensions", {})
            extensions.setdefault("code", request_error_code(str(error["message"])))
            if info is not None:
                extensions["requestId"] = info.request_id
        if info is not None:
            code = self.metrics.errors_returned(errors)
            if code is None:
                info.outcome = "ok"
            elif result.data is not None:
                info.outcome = "partial"
            else:
                info.outcome = code
        if is_request_error(result):
            request.state.graphql_request_error = True
            # The spec: no `data` entry when execution never started. Kept for
            # application/json, whose legacy clients may read `data: null`.
            if request.state.graphql_media_type == GRAPHQL_RESPONSE_JSON:
                response.pop("data", None)
        return response
