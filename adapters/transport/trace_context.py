"""The API's current ``Context`` read and set on its ContextVar directly (where
the runtime context is the API's default one): ``attach``, ``detach`` and
``get_current`` reach it through two calls each, for every span made current
(the operation's, each batch's) and every span started. Anything else: the
API's own functions. Imports only OpenTelemetry's API.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from opentelemetry.context import _RUNTIME_CONTEXT, Context, attach, detach, get_value
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import Span, set_span_in_context
from opentelemetry.trace.propagation import _SPAN_KEY


def _context_variable() -> ContextVar[Context] | None:
    """The ContextVar holding the API's current ``Context``, where the runtime
    context is the API's default one (``contextvars``), else None."""
    runtime = _RUNTIME_CONTEXT
    if type(runtime) is not ContextVarsRuntimeContext:
        return None
    found = vars(runtime).get("_current_context")
    return found if isinstance(found, ContextVar) else None


# ``attach``, ``detach`` and ``get_current`` each reach it through two calls.
CURRENT_CONTEXT = _context_variable()


def current_span_value() -> object:
    """``get_value(_SPAN_KEY)``: the current span, as ``get_current_span``
    reads it before checking it."""
    if CURRENT_CONTEXT is None:
        return get_value(_SPAN_KEY)
    return CURRENT_CONTEXT.get().get(_SPAN_KEY)


def make_current(span: Span) -> object:
    """``attach(set_span_in_context(span))``, on the API's ContextVar directly
    where it has one (:data:`CURRENT_CONTEXT`); the token for :func:`restore`
    (a ContextVar token; typed ``object``, as older APIs type attach's)."""
    variable = CURRENT_CONTEXT
    if variable is None:
        return attach(set_span_in_context(span))
    values = variable.get().copy()
    values[_SPAN_KEY] = span
    return variable.set(Context(values))


def restore(token: Any) -> None:
    """``detach(token)``: the context before :func:`make_current` back."""
    if CURRENT_CONTEXT is None:
        detach(token)
        return
    try:
        CURRENT_CONTEXT.reset(token)
    except Exception:  # another context's token: the API's log
        detach(token)
