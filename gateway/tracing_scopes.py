"""Spans current while a block runs (the operation's, each dataloader batch's)
recorded without a live span object (the lean tracer's ``lean_scope``,
:func:`adapters.transport.tracing.scope`).

Such a span is written only by the code that opened it, and its children need
nothing of it but its context. So instead of a span object made (its lock, its
attribute map and theirs), written and copied into the ``ReadableSpan`` the
processors get, the block's :class:`_Scope` is the current span while it runs
(a ``NonRecordingSpan`` of the new context, for its children and for
``trace_id``), keeps the name, ids, start time and attributes, and its end
makes the ``ReadableSpan`` at once, as a lean span's end would (the layout's
maker, ``gateway.tracing_layout``).

What a scope does not keep itself (an event, a link, a status, attributes that
would need cleaning) is kept as the call to make, and a block with any of them,
or one that raised an ``Exception``, ends as the SDK's span does: one is made
from the layout with the same ids and start time, the calls made on it in their
order, then what ``current`` does on an exception, then its end. Tests hold the
two roads to the same spans (``tests/tracing/test_scopes.py``).

Taken only where the attempt recorder's are (``gateway.tracing_attempts``): the
SDK's layout and id generator, one span processor whose ``on_start`` and
``_on_ending`` do nothing, a sampled parent (or none), plain attributes within
the limit, and the API's ContextVar runtime context.
"""

from __future__ import annotations

from time import time_ns
from types import TracebackType
from typing import Any

from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
)
from opentelemetry.util.types import Attributes

from adapters.transport.trace_context import CURRENT_CONTEXT, make_current, restore
from gateway.tracing_layout import _Layout
from gateway.tracing_spans import SPAN_TYPES, OneProcessor, _plain


class LeanScopes(OneProcessor):
    """``lean_scope`` of one lean tracer."""

    def __call__(
        self,
        name: str,
        attributes: Attributes,
        kind: SpanKind,
        record_exception: bool,
    ) -> _Scope | None:
        if CURRENT_CONTEXT is None or self.layout.readable is None:
            return None
        tracer = self.tracer
        if attributes and not _plain(attributes, tracer.lean_max_attributes):
            return None
        made_ids = self.child_ids()
        if made_ids is None:
            return None
        parent, context = made_ids
        return _Scope(
            self,
            name,
            kind,
            context,
            parent,
            dict(attributes) if attributes else {},
            record_exception,
        )


class _Scope(NonRecordingSpan):
    """One block's span: current while it runs, recorded when it ends."""

    def __init__(
        self,
        scopes: LeanScopes,
        name: str,
        kind: SpanKind,
        context: SpanContext,
        parent: SpanContext | None,
        attributes: dict[str, Any],
        record_exception: bool,
    ) -> None:
        self._context = context  # NonRecordingSpan's: what children read
        self.scopes = scopes
        self.name = name
        self.kind = kind
        self.parent = parent
        self.attributes = attributes
        self.record_exception_on_error = record_exception
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.start = 0
        self.ended = False
        self.token: Any = None

    def __enter__(self) -> _Scope:
        self.token = make_current(self)
        self.start = time_ns()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        end = time_ns()
        restore(self.token)
        self.ended = True
        scopes = self.scopes
        layout = scopes.layout
        if self.calls or isinstance(exc, Exception):
            self._as_the_sdks(layout, exc, end)
            return
        make: Any = layout.readable
        scopes.receiver(
            make(
                self.name,
                self._context,
                self.parent,
                self.kind,
                self.start,
                end,
                self.attributes,
                (),
                (),
                layout.shared["_status"],  # unset
            )
        )

    def _as_the_sdks(
        self, layout: _Layout, exc: BaseException | None, end: int
    ) -> None:
        """The span the SDK's road makes of this block: the calls made on it,
        then what ``current`` does on an ``Exception``."""
        span: Any = layout.span(
            self.name,
            self._context,
            self.parent,
            self.kind,
            self.attributes,
            self.scopes.processor(),
            True,
            True,
            self.start,
        )
        for method, args, kwargs in self.calls:
            getattr(span, method)(*args, **kwargs)
        if isinstance(exc, Exception):
            if self.record_exception_on_error:
                span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.end(end)

    # What the block's code writes on its span, while it runs.
    def is_recording(self) -> bool:
        return not self.ended

    def set_attributes(self, attributes: Any) -> None:
        if self.ended:
            return
        mine = self.attributes
        room = self.scopes.tracer.lean_max_attributes - len(mine)
        plain = None if self.calls else _plain(attributes, room)
        if plain is None:
            self.calls.append(("set_attributes", (dict(attributes),), {}))
            return
        for key, value in plain.items():
            mine.pop(key, None)  # a key set again moves last, as the SDK's
            mine[key] = value

    def set_attribute(self, key: str, value: Any) -> None:
        self.set_attributes({key: value})

    def update_name(self, name: str) -> None:
        if self.ended:
            return
        if self.calls:
            self.calls.append(("update_name", (name,), {}))
        else:
            self.name = name

    def _later(self, method: str, *args: Any, **kwargs: Any) -> None:
        if not self.ended:
            self.calls.append((method, args, kwargs))

    def set_status(self, status: Any, description: str | None = None) -> None:
        self._later("set_status", status, description)

    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: int | None = None
    ) -> None:
        self._later(
            "add_event", name, attributes, time_ns() if timestamp is None else timestamp
        )

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        self._later("add_link", context, attributes)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self._later(
            "record_exception",
            exception,
            attributes,
            time_ns() if timestamp is None else timestamp,
            escaped,
        )

    def end(self, end_time: int | None = None) -> None:
        """Ended by its block, not before (``current`` ends its span so too)."""


SPAN_TYPES.add(_Scope)  # read by current_context as the span types it knows
