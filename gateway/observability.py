"""Each request's id, its one log line, and what the metrics learn about it.

``RequestTelemetry`` is the app's outermost middleware (pure ASGI, so the request's
context variables reach every task it starts). For each HTTP request it:

- takes the client's ``X-Request-Id`` when it is sane (1 to 64 letters, digits,
  ``.``, ``_``, ``:``, ``-``), else makes one, and returns it in the
  ``X-Request-Id`` response header; ``current()`` gives the request's
  :class:`RequestInfo` to whoever needs its id (every GraphQL error's
  ``extensions.requestId``: ``gateway.graphql_http``, ``gateway.limits``);
- lets the layers below fill in that ``RequestInfo``: the operation's name, type
  and outcome (``gateway.graphql_http``), the limit that refused it, an
  authentication failure (``gateway.security``), the upstream calls it made
  (``gateway.metrics``, from the transport's observer);
- at the end, hands it to the metrics and logs one line, ``gateway.requests`` at
  INFO: request id, trace id (the current OpenTelemetry span's, when there is a
  valid one), method, route (a template: never a path with ids or tokens), status,
  operation, type, outcome, duration, upstream call count. Nothing from the body,
  the headers or the variables.

Log format: ``GATEWAY_LOG_FORMAT`` (``json``: one JSON object a line, the default in
production; ``text`` otherwise). ``gateway serve`` installs it in every worker
(``logging_config``); every record then carries the request id it was logged under.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("gateway.requests")

HEADER = b"x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Generated ids: a random prefix per process, then a counter (unique, and cheaper
# than a random number per request).
_PREFIX = secrets.token_hex(4)
_COUNTER = itertools.count(1)


@dataclass(slots=True)
class RequestInfo:
    """What one request was, filled in as it runs (no value from its content)."""

    request_id: str
    method: str = ""
    route: str = "other"
    operation: str | None = None  # a known operation's name, or "other"
    kind: str | None = None  # query, mutation, subscription
    outcome: str | None = None  # ok, partial or an error code
    status: int = 0
    upstream_calls: int = 0
    limit: str | None = None  # the limit that refused it, if one did
    auth_failed: bool = False
    upload_bytes: int = 0
    trace_id: str | None = None  # seen while the request ran (else at its end)


_current: ContextVar[RequestInfo | None] = ContextVar("gateway_request", default=None)


def current() -> RequestInfo | None:
    """The request being served, if any."""
    return _current.get()


def current_request_id() -> str | None:
    info = _current.get()
    return info.request_id if info is not None else None


def request_id_from(value: bytes | None) -> str:
    """The client's request id when it is sane, else a new one."""
    if value is not None:
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if _SANE_ID.fullmatch(text):
            return text
    return f"{_PREFIX}{next(_COUNTER):08x}"


def trace_id() -> str | None:
    """The current span's trace id (32 hex digits), or None."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def route_of(path: str) -> str:
    """The path as a bounded template: no id, no webhook token."""
    if path in ("/graphql", "/graphql/"):
        return "/graphql"
    if path.startswith("/webhooks/connectfi/"):
        return "/webhooks/connectfi/{token}"
    if path in ("/webhooks/auco", "/healthz", "/metrics", "/readyz", "/livez"):
        return path
    if path.startswith("/_graphiql/"):
        return "/_graphiql/{asset}"
    if path.startswith("/_sandbox/"):
        return "/_sandbox/{path}"
    return "other"


Finished = Callable[[RequestInfo, float], None]


class RequestTelemetry:
    """The outermost middleware (module docstring)."""

    def __init__(self, app: ASGIApp, *, finished: Finished | None = None) -> None:
        self.app = app
        self.finished = finished

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for key, value in scope["headers"]:
            if key.lower() == HEADER:
                given = value
                break
        info = RequestInfo(
            request_id=request_id_from(given),
            method=scope["method"],
            route=route_of(scope["path"]),
        )
        token = _current.set(info)
        header = (HEADER, info.request_id.encode())
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                info.status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        if info.route == "/graphql" and _is_multipart(scope):

            async def counting_receive() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    info.upload_bytes += len(message.get("body", b""))
                return message

            receive_: Receive = counting_receive
        else:
            receive_ = receive
        try:
            await self.app(scope, receive_, send_with_id)
        except BaseException:
            if not info.status:
                info.status = 500
            raise
        finally:
            duration = time.perf_counter() - started
            try:
                if self.finished is not None:
                    self.finished(info, duration)
                _log_request(info, duration)
            finally:
                _current.reset(token)


def _is_multipart(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key.lower() == b"content-type":
            return bytes(value).lower().startswith(b"multipart/")
    return False


def _log_request(info: RequestInfo, duration: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    log.info(
        "request",
        extra={
            "request_id": info.request_id,
            "trace_id": info.trace_id or trace_id(),
            "request": {
                "method": info.method,
                "route": info.route,
                "status": info.status,
                "operation": info.operation,
                "operation_type": info.kind,
                "outcome": info.outcome,
                "duration_ms": round(duration * 1000, 3),
                "upstream_calls": info.upstream_calls,
            },
        },
    )


# Log format ------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request id and
    trace id it was logged under, and the request line's fields."""

    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        stamped = record.__dict__
        if "request_id" in stamped:  # the request's own line
            line["request_id"] = stamped["request_id"]
            line["trace_id"] = stamped.get("trace_id")
        else:  # a line logged while a request is served
            line["request_id"] = current_request_id()
            line["trace_id"] = trace_id()
        fields = getattr(record, "request", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            # The type only: an exception's message may quote what it was given.
            line["error"] = type(record.exc_info[1]).__name__
        return orjson.dumps(line, default=str).decode()

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # strftime once a second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._stamp}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """``LEVEL logger [request id] message``; the request line's fields after."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or current_request_id()
        where = f" [{request_id}]" if request_id else ""
        text = f"{record.levelname} {record.name}{where} {record.getMessage()}"
        fields = getattr(record, "request", None)
        if isinstance(fields, dict):
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def lean_records() -> logging.Filter:
    """What a ``LogRecord`` gathers and neither formatter shows, not gathered (the
    caller's frame, thread and process names: the logging manual's
    "Optimization"). ``gateway serve`` installs it with the formatters; a filter
    that lets everything through."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    return logging.Filter()


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for ``gateway serve`` (uvicorn applies it in
    every worker): the root logger and uvicorn's through one formatter."""
    formatter = "gateway.observability.JsonFormatter"
    if log_format != "json":
        formatter = "gateway.observability.TextFormatter"
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "gateway",
        "filters": ["lean"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"gateway": {"()": formatter}},
        "filters": {"lean": {"()": "gateway.observability.lean_records"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True},
            "httpx": {"level": "WARNING"},
        },
    }
