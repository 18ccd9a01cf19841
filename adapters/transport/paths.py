"""The one way a value goes into the path of an upstream URL.

Every adapter builds its paths with :func:`path`: each part becomes exactly one
percent-encoded segment (``quote(part, safe="")``), so a key holding ``/``, ``?``,
``#``, ``%`` or anything else stays inside its segment and reaches the provider as
the same string. A part that would leave its segment however it is encoded (empty,
``.`` or ``..``, which URL normalization removes or climbs) is refused.

Query values go only through the ``params=`` of
:class:`adapters.transport.http.RequestBuilder` (``urlencode``: every value quoted,
``&``, ``=`` and ``#`` included), never into a path or query by string formatting. Keys
are checked against their provider's grammar (:mod:`adapters.transport.keys`) before
either.
"""

from __future__ import annotations

from urllib.parse import quote

from adapters.errors import NotFound

_DOT_SEGMENTS = frozenset({"", ".", ".."})


class UnsafeSegment(NotFound):
    """A part that cannot be one path segment whatever its encoding: it names no
    record (the key grammars of :mod:`adapters.transport.keys` let none through)."""


def segment(part: str) -> str:
    """``part`` percent-encoded as one path segment."""
    if part in _DOT_SEGMENTS:
        raise UnsafeSegment("no such record")
    return quote(part, safe="")


def path(*parts: str) -> str:
    """``/part/part…``: every part one encoded segment (a literal stays as it is)."""
    return "/" + "/".join(segment(p) for p in parts)
