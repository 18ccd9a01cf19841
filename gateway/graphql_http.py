"""``/graphql`` as the GraphQL-over-HTTP spec reads, on Strawberry's ASGI view.

The view is a plain ASGI application that the app hands ``/graphql`` to before
FastAPI's routing (:class:`GraphQLDispatch`): FastAPI's router, its dependency
injection and its inner middleware cost a tenth of a one-record query and do
nothing for this one endpoint. What Strawberry's view leaves to us:

- Content negotiation: a client that accepts ``application/graphql-response+json``
  gets it, with the spec's status codes: a request error (unparsable, invalid,
  variables that do not coerce: no ``data`` at all) is a 400 and carries no
  ``data`` entry. ``application/json`` (the default, and for ``*/*``) keeps 200
  for every well-formed request, as the spec asks for legacy clients.
- Request errors Strawberry raises as plain text (bad JSON, missing query, wrong
  parameter types) are answered as GraphQL errors in the negotiated type.
- ``operationName`` must be a string or null.
- Persisted queries (``gateway.persisted``) turn a hash into the text to run.
- GraphiQL is our own page with same-origin assets (``gateway.graphiql``).
- JSON in and out through orjson (several times faster than ``json`` on a page
  of results); whatever orjson refuses takes the standard library's path, so
  answers and refusals are the same as ``json``'s.
- JSON from the client (the body, GET ``variables``/``extensions``, multipart
  ``operations`` and ``map``: all go through ``decode_json``) nested deeper than
  ``MAX_JSON_DEPTH`` is a 400 with a GraphQL error, never a ``RecursionError``.
- Multipart: every file part and every path of ``map`` counts toward
  ``max_upload_files``; a map that points a path at a file twice, at a part that
  is not there, or anywhere but a ``null`` of the operations is a 400.
- Subscriptions (``schema.live``): ``graphql-transport-ws`` on the WebSocket
  (the only WebSocket protocol), authenticated by ``connect`` from the
  ``connection_init`` payload (refused: closed with 4403), a page on another
  origin allowed by ``websocket_origin`` (the CORS policy); and Server-Sent
  Events (graphql-sse's distinct connections mode: ``Accept:
  text/event-stream``), a POST like any other behind the HTTP guard. A streamed
  operation resolves persisted queries like any other.
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
from cross_web import (
    AsyncHTTPRequestAdapter,
    FormData,
    HTTPException,
    StarletteRequestAdapter,
)
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from opentelemetry import context as trace_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.datastructures import FormData as StarletteFormData
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.streaming import HTTPStreamTransport
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.caller_limits import CallerLimits
from gateway.graphiql import CONTENT_SECURITY_POLICY
from gateway.metrics import Metrics
from gateway.observability import current, trace_id
from gateway.persisted import PersistedQueries, PersistedQueryError
from schema.errors import RATE_LIMITED, request_error_code

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# Containers inside containers in any JSON the client sends. The deepest real
# request (an input object in a variable, in ``variables``, in the request) is
# under ten; orjson stops at 1024, the standard library at the recursion limit.
MAX_JSON_DEPTH = 64
MULTIPART_FIELDS = frozenset({"operations", "map"})


def negotiate(accept: str | None) -> str:
    """The response media type for an ``Accept`` header.

    ``application/graphql-response+json`` when the client lists it at least as
    high as ``application/json``; ``application/json`` otherwise (also when the
    header is missing or names neither, rather than a 406 nobody handles).
    """
    if not accept:
        return JSON
    weights: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media.lower()] = max(weight, weights.get(media.lower(), 0.0))
    preferred = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if preferred > 0 and preferred >= weights.get(JSON, 0.0):
        return GRAPHQL_RESPONSE_JSON
    return JSON


def is_request_error(result: ExecutionResult) -> bool:
    """No execution happened: parse, validation, coercion or refusal errors.

    Field errors always carry a ``path``; errors raised before execution never do.
    """
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


ContextGetter = Callable[[Request | WebSocket], Awaitable[Any]]
# Authenticates a WebSocket's context from its connection_init payload; raises
# ConnectionRejectionError to refuse it.
Connect = Callable[[Any], Awaitable[None]]
SSE = "graphql-sse"
_W3C = TraceContextTextMapPropagator()


SUBSCRIPTION_NEEDS_A_STREAM = (
    "A subscription is served over a WebSocket (graphql-transport-ws) or as "
    "Server-Sent Events (a POST with Accept: text/event-stream), not as a plain "
    "request."
)
# A subscription is found by parsing the query again: only a query that says
# "subscription", and at most this many tokens (a longer one goes on, to be
# refused by the usual limits).
_SUBSCRIPTION_PARSE_TOKENS = 10_000


def _is_subscription(query: str | None, operation_name: str | None) -> bool:
    if not query or "subscription" not in query:
        return False
    try:
        document = parse(query, no_location=True, max_tokens=_SUBSCRIPTION_PARSE_TOKENS)
    except GraphQLError:
        return False  # the schema's own parse reports it
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws messages as text frames, as the protocol has them:
    ``encode_json`` gives bytes (orjson), which Strawberry would send as binary
    frames, and a browser's graphql-ws client refuses those ("Message not
    parsable": GraphiQL's subscriptions never started)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        if isinstance(encoded, bytes):
            encoded = encoded.decode("utf-8")
        try:
            await self.ws.send_text(encoded)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


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

        class BoundedForm(_BoundedForm):
            max_files = files

        self.request_adapter_class = BoundedForm

    def _get_stream_transport_from_headers(
        self, headers: Mapping[str, str]
    ) -> HTTPStreamTransport | None:
        """A stream (Server-Sent Events) only for a client that prefers one: its
        ``Accept`` names ``text/event-stream`` before any JSON type. urql and other
        clients list ``text/event-stream`` after the JSON types on every query, and
        expect a plain JSON answer to them."""
        accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
        kinds = [part.split(";", 1)[0].strip().lower() for part in accept.split(",")]
        if "text/event-stream" not in kinds:
            return None
        stream = kinds.index("text/event-stream")
        if any(_is_json(kind) for kind in kinds[:stream]):
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
            return _error_response(exc.reason, exc.status_code, media_type)
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
        try:
            form_data = await request.get_form_data()
        except (ValueError, MultiPartException, StarletteHTTPException) as exc:
            detail = str(getattr(exc, "detail", None) or getattr(exc, "message", ""))
            if detail.startswith("Too many"):  # Starlette stopped past our limit
                raise _too_many_files(self.max_upload_files) from None
            raise HTTPException(400, "Unable to parse the multipart body") from exc
        form = cast(StarletteFormData, form_data.form)
        parts = [(k, v) for k, v in form.multi_items() if k not in MULTIPART_FIELDS]
        if len(parts) > self.max_upload_files:
            raise _too_many_files(self.max_upload_files, len(parts))
        files = {k: v for k, v in parts if isinstance(v, UploadFile)}
        fields = [form.get(name) or "{}" for name in ("operations", "map")]
        if not all(isinstance(f, str) for f in fields):
            raise HTTPException(400, "`operations` and `map` must be form fields")
        operations, files_map = (self.parse_json(cast(str, f)) for f in fields)
        return place_files(operations, files_map, files, self.max_upload_files)

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
        if _is_subscription(query, request_data.operation_name):
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


def _error_response(message: str, status: int, media_type: str) -> Response:
    code = "UPLOAD_TOO_LARGE" if status == 413 else "BAD_USER_INPUT"
    extensions: dict[str, object] = {"code": code}
    info = current()
    if info is not None:
        extensions["requestId"] = info.request_id
        info.outcome = code
        if status == 413:
            info.limit = "upload_files"
        elif isinstance(message, str) and "nested deeper" in message:
            info.limit = "json_depth"
    error = {"message": message, "extensions": extensions}
    body = json.dumps({"errors": [error]})
    return Response(body, status_code=status, media_type=media_type)


class TooDeep(json.JSONDecodeError):
    """JSON nested deeper than ``MAX_JSON_DEPTH``: a decoding error like any
    other to whoever catches those (a WebSocket message is refused as not
    JSON), a 400 saying so over HTTP (``parse_json``)."""

    def __init__(self) -> None:
        message = f"the request's JSON is nested deeper than {MAX_JSON_DEPTH} levels"
        super().__init__(message, "", 0)  # no copy of the body kept


def json_depth(value: object) -> int:
    """How deep containers nest in ``value``, without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def place_files(
    operations: object, files_map: object, files: Mapping[str, Any], limit: int
) -> object:
    """The multipart spec's ``map`` applied to ``operations``, checked first.

    Every file part and every path counts toward ``limit`` (413 beyond it). A
    map that is not an object of lists of paths, that names a part that is not
    a file, or a path twice, or a path that does not lead to a ``null`` of the
    operations is a 400: nothing is placed where the client did not leave room.
    """
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(p, str) for p in paths)
        for paths in files_map.values()
    ):
        raise HTTPException(400, "the multipart `map` must map names to lists of paths")
    paths = sum(len(p) for p in files_map.values())
    if paths > limit:
        raise _too_many_files(limit, paths)
    seen: set[str] = set()
    for name, targets in files_map.items():
        if name not in files:
            raise HTTPException(400, f"the multipart `map` names no file part {name!r}")
        for path in targets:
            if path in seen:
                raise HTTPException(400, f"the multipart `map` fills {path!r} twice")
            seen.add(path)
            *steps, last = path.split(".")
            target: Any = operations
            try:
                for step in steps:
                    target = target[_key(target, step)]
                key = _key(target, last)
                if target[key] is not None:
                    raise KeyError(last)
            except (KeyError, IndexError, ValueError, TypeError):
                raise HTTPException(
                    400, f"the multipart `map` path {path!r} is not a null variable"
                ) from None
            target[key] = files[name]
    return operations


def _key(target: object, step: str) -> int | str:
    """``step`` as an index of ``target``; KeyError when it names nothing there."""
    if isinstance(target, list):
        if not step.isdigit() or int(step) >= len(target):
            raise KeyError(step)
        return int(step)
    if isinstance(target, dict) and step in target:
        return step
    raise KeyError(step)


def _too_many_files(limit: int, sent: int | None = None) -> HTTPException:
    counted = f" ({sent} sent)" if sent is not None else ""
    return HTTPException(
        413, f"at most {limit} files may be uploaded in one request{counted}"
    )


class _BoundedForm(StarletteRequestAdapter):
    """Starlette's multipart parser stopped just past the gateway's file limit.

    Its defaults (1,000 files, 1,000 fields) would spool every part first."""

    max_files = 5

    async def get_form_data(self) -> FormData:
        form = await self._request.form(
            max_files=self.max_files + 1,
            max_fields=len(MULTIPART_FIELDS) + self.max_files + 1,
        )
        return FormData(files=form, form=form)


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


def _is_json(media_type: str) -> bool:
    return media_type in ("application/json", "*/*") or media_type.endswith("+json")
