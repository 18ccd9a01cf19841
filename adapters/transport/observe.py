"""What the transport tells an observer about each upstream call (metrics, logs).

``adapters`` cannot import ``gateway``: the gateway hands
:class:`~adapters.transport.resilience.ResilientTransport` an object that fits
:class:`CallObserver` (its Prometheus one, ``gateway.metrics``); without one,
:data:`NOBODY` watches and costs a method call.

The one call site is ``ResilientTransport._attempt``: every attempt (first or retry)
runs inside ``observer.observe_call(provider, method, route, attempt)``, and the
record it returns is told how the attempt ended (``answered(status)`` or
``failed(kind)``). Everything it is given has a bounded set of values: the provider,
the method, the route *template* (:func:`route_template`: never the path itself, which
holds ids), the attempt number, a status code, an error kind such as ``timeout``.

Route templates come from each provider's contract (``contracts/*.yaml``; a test
checks that every contract path is here). A path that fits none is ``other``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import TracebackType
from typing import Protocol

import httpx

from adapters.transport.paths import ROUTE

OTHER = "other"

# Every path of each provider's contract, relative to its base URL (which may
# carry a prefix, e.g. Apiture's /accountApplications, Auco's /v1.5/ext).
ROUTES: dict[str, tuple[str, ...]] = {
    "apiture": (
        "/applications",
        "/applications/{applicationId}",
        "/runningApplications",
        "/blockedApplications",
        "/expiredApplications",
        "/rejectedApplications",
        "/approvedApplications",
        "/canceledApplications",
        "/enrollments",
        "/enrollments/{enrollmentId}",
        "/rejectedEnrollments",
        "/approvedEnrollments",
    ),
    "connectfi": (
        "/auth/get-token",
        "/akepa/list",
        "/akepa/status",
        "/akepa/identification",
        "/akepa/document/generate",
        "/akepa/document/upload/{documentId}",
    ),
    "auco": ("/document/upload", "/package/upload", "/document", "/document/cancel"),
    "mambu": (
        "/api/{collection}/{holder}/documents",
        "/api/{collection}/{holder}/documents/",
        "/api/documents",
        "/api/documents/",
        "/api/documents/{document}",
    ),
}


class RouteTemplates:
    """Maps a request path to the contract template it fits (matched at the end
    of the path, so the base URL's prefix does not matter), or ``other``."""

    def __init__(self, templates: Iterable[str]) -> None:
        ordered = sorted(set(templates), key=lambda t: (-t.count("/"), t))
        self._patterns = [(_pattern(t), t) for t in ordered]
        self._seen: dict[str, str] = {}

    def of(self, request: httpx.Request) -> str:
        """``request``'s template, matched from the template its path was built
        with (a bounded set, so remembering each pays whatever the ids), or
        from its path where the path came whole from a provider's link."""
        built = request.extensions.get(ROUTE)
        if isinstance(built, str) and built.startswith("/"):
            return self.template(built)
        return self.template(request.url.path)

    def template(self, path: str) -> str:
        found = self._seen.get(path)
        if found is not None:
            return found
        route = next((t for p, t in self._patterns if p.search(path)), OTHER)
        if len(self._seen) < 4096:  # paths carry ids: remember only so many
            self._seen[path] = route
        return route


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^/}]+\})", template)
    body = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(body + r"\Z")


def routes_for(provider: str) -> RouteTemplates:
    return RouteTemplates(ROUTES.get(provider, ()))


def status_class(status: int) -> str:
    """``2xx``, ``4xx``…: what the metrics label an HTTP answer with."""
    return _CLASSES.get(status, OTHER)


_CLASSES = {status: f"{status // 100}xx" for status in range(100, 600)}


class CallRecord(Protocol):
    """One attempt, as the observer follows it."""

    def __enter__(self) -> CallRecord: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def answered(self, status: int) -> None:
        """The provider answered with this HTTP status."""

    def failed(self, kind: str) -> None:
        """No answer: ``timeout``, ``connect_error``, ``deadline``…"""


class CallObserver(Protocol):
    def observe_call(
        self, provider: str, method: str, route: str, attempt: int
    ) -> CallRecord:
        """A record around attempt number ``attempt`` (1: the first)."""

    def retried(self, provider: str) -> None:
        """A retry is about to be sent (after its backoff)."""

    def retry_refused(self, provider: str) -> None:
        """A retry was due but the provider's retry budget refused it."""


class _Nothing:
    __slots__ = ()

    def __enter__(self) -> _Nothing:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def answered(self, status: int) -> None:
        return None

    def failed(self, kind: str) -> None:
        return None


_NOTHING = _Nothing()


class NullObserver:
    """Watches nothing (the default)."""

    def observe_call(
        self, provider: str, method: str, route: str, attempt: int
    ) -> CallRecord:
        return _NOTHING

    def retried(self, provider: str) -> None:
        return None

    def retry_refused(self, provider: str) -> None:
        return None


NOBODY = NullObserver()
