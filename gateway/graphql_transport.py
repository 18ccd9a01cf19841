"""How ``/graphql`` answers: media types, error bodies, subscriptions' transports.

- Content negotiation (``negotiate``): a client that accepts
  ``application/graphql-response+json`` gets it, with the spec's status codes; a
  request error (``is_request_error``: unparsable, invalid, variables that do not
  coerce: no ``data`` at all) is a 400 and carries no ``data`` entry.
  ``application/json`` (the default, and for ``*/*``) keeps 200 for every
  well-formed request, as the spec asks for legacy clients.
- Request errors Strawberry raises as plain text are answered as GraphQL errors
  in the negotiated type (``error_response``).
- Subscriptions: ``graphql-transport-ws`` on the WebSocket as text frames
  (``TextWebSocketAdapter``) and Server-Sent Events (``SSE``, graphql-sse's
  distinct connections mode); a subscription sent as a plain request is found
  (``is_subscription``) and refused with ``SUBSCRIPTION_NEEDS_A_STREAM``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.responses import Response
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types import ExecutionResult

from gateway.observability import current

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
SSE = "graphql-sse"


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


def is_json(media_type: str) -> bool:
    return media_type in ("application/json", "*/*") or media_type.endswith("+json")


def error_response(message: str, status: int, media_type: str) -> Response:
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


SUBSCRIPTION_NEEDS_A_STREAM = (
    "A subscription is served over a WebSocket (graphql-transport-ws) or as "
    "Server-Sent Events (a POST with Accept: text/event-stream), not as a plain "
    "request."
)
# A subscription is found by parsing the query again: only a query that says
# "subscription", and at most this many tokens (a longer one goes on, to be
# refused by the usual limits).
_SUBSCRIPTION_PARSE_TOKENS = 10_000


def is_subscription(query: str | None, operation_name: str | None) -> bool:
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
