"""The one way a value goes into the path of an upstream URL.

Every adapter builds its paths with :func:`path`: each part becomes exactly one
percent-encoded segment (``quote(part, safe="")``), so a key holding ``/``, ``?``,
``#``, ``%`` or anything else stays inside its segment and reaches the provider as
the same string. A part that would leave its segment however it is encoded (empty,
``.`` or ``..``, which URL normalization removes or climbs) is refused.

An adapter builds a path holding ids with :func:`route`, which also keeps the
path's template (``/applications/{id}``): the name traces and metrics give the call
(request extension ``ROUTE``, set by the request builder), never the URL itself.

Query values go only through the ``params=`` of
:class:`adapters.transport.building.RequestBuilder` (``urlencode``: every value quoted,
``&``, ``=`` and ``#`` included), never into a path or query by string formatting. Keys
are checked against their provider's grammar (:mod:`adapters.transport.keys`) before
either.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from adapters.errors import NotFound

_DOT_SEGMENTS = frozenset({"", ".", ".."})


class UnsafeSegment(NotFound):
    """A part that cannot be one path segment whatever its encoding: it names no
    record (the key grammars of :mod:`adapters.transport.keys` let none through)."""


# What ``quote(part, safe="")`` leaves as it is: a part of these only is its own
# encoding (every id of the key grammars, adapters/transport/keys.py).
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")


def segment(part: str) -> str:
    """``part`` percent-encoded as one path segment."""
    if part in _DOT_SEGMENTS:
        raise UnsafeSegment("no such record")
    if _UNRESERVED.fullmatch(part) is not None:
        return part
    return quote(part, safe="")


def path(*parts: str) -> str:
    """``/part/part…``: every part one encoded segment (a literal stays as it is).

    Which parts are ids it cannot tell: its route template is unknown (an
    adapter names its routes with :func:`route`)."""
    return Route("/" + "/".join(segment(p) for p in parts), UNKNOWN_ROUTE)


# Route templates ------------------------------------------------------------------

# The request extension holding the route template of an upstream call: its path
# relative to the provider's base URL with every id as ``{name}``. Spans and
# metrics name a call by it, never by its URL (which holds ids).
ROUTE = "gateway.route"
# A call whose path the gateway did not build (a provider's link, a signed URL).
UNKNOWN_ROUTE = "{link}"


class Route(str):
    """A path built by :func:`route`: the string sent, and its ``template``."""

    template: str

    def __new__(cls, value: str, template: str) -> Route:
        made = super().__new__(cls, value)
        made.template = template
        return made


def route(template: str, **values: str) -> Route:
    """``template`` (``/api/documents/{key}``) with each ``{name}`` part replaced
    by ``values[name]``; every part one encoded segment, as :func:`path` makes
    it. The result remembers its template."""
    parsed = _TEMPLATES.get(template)
    if parsed is None:
        parsed = _parsed(template)
        if len(_TEMPLATES) < 256:  # templates are the adapters' literals
            _TEMPLATES[template] = parsed
    parts, name = parsed
    return Route(
        "/" + "/".join([segment(values[p]) if v else p for p, v in parts]), name
    )


# A template's parts (an encoded literal, or the name of a value) and its name.
_Parsed = tuple[tuple[tuple[str, bool], ...], str]
_TEMPLATES: dict[str, _Parsed] = {}


def _parsed(template: str) -> _Parsed:
    parts = []
    for part in template.strip("/").split("/"):
        if part.startswith("{") and part.endswith("}"):
            parts.append((part[1:-1], True))
        else:
            parts.append((segment(part), False))
    return tuple(parts), "/" + template.strip("/")


def template_of(path: str) -> str:
    """The route template of a path an adapter passes: a :class:`Route`'s own;
    any other path is a literal (ids only ever go in through :func:`route`)."""
    if isinstance(path, Route):
        return path.template
    return "/" + path.lstrip("/")
