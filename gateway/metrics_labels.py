"""The metrics' label values, each from a bounded set: an error code as sent
(else ``other``), an outcome from a status, the kind and name of an operation
read from its text, the kind of a refused limit from its message."""

from __future__ import annotations

import re

from graphql import GraphQLError, OperationDefinitionNode, parse

OTHER = "other"
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,47}")


_LIMIT_MESSAGES = (
    ("introspection", "introspection"),
    ("root fields", "root_fields"),
    ("aliases", "aliases"),
    ("levels deep", "depth"),
    ("estimated cost", "cost"),
    ("first may be at most", "page_size"),
    ("tokens", "tokens"),
)


def limit_kind(message: str) -> str:
    return next((kind for text, kind in _LIMIT_MESSAGES if text in message), OTHER)


def _label_code(code: object) -> str:
    if isinstance(code, str) and _CODE.fullmatch(code):
        return code
    return "INTERNAL"


def _outcome_of_status(status: int) -> str:
    return {
        400: "BAD_USER_INPUT",
        401: "UNAUTHENTICATED",
        403: "FORBIDDEN",
        408: "REQUEST_TIMEOUT",
        413: "REQUEST_TOO_LARGE",
    }.get(status, "INTERNAL" if status >= 500 else "BAD_REQUEST")


def _webhook_outcome(status: int) -> str:
    return {
        200: "accepted",
        400: "bad_body",
        401: "unauthorized",
        404: "off",
        413: "too_large",
    }.get(status, "error")


def _only_operation_name(query: str) -> str | None:
    """The name of a document's one operation (None: several, none, unparsable).
    Called once per distinct text (``Metrics.operation`` remembers)."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return None
    found = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(found) == 1 and found[0].name is not None:
        return found[0].name.value
    return None


_KIND = re.compile(r"\b(query|mutation|subscription)\s+(\w+)")
_FIRST = re.compile(r"\s*(?:#[^\n]*\n\s*)*(query|mutation|subscription|\{)")


def _kind_of(query: str | None, name: str | None) -> str:
    """The operation's type from its text: the named one's, else the first's."""
    if not query:
        return "query"
    if name:
        for match in _KIND.finditer(query):
            if match.group(2) == name:
                return match.group(1)
    first = _FIRST.match(query)
    if first is None or first.group(1) == "{":
        return "query"
    return first.group(1)
