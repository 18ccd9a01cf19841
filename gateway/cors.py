"""CORS: which browser pages on other origins may call the gateway.

A front end on its own dev server (Vite's ``http://localhost:5173``, say) calls
``/graphql`` cross-origin: its browser first sends a preflight ``OPTIONS`` with
the headers it means to send. Starlette's ``CORSMiddleware`` answers it, and
adds the CORS headers to every answer, refusals included, so the page can read
the coded error.

``GATEWAY_CORS_ORIGINS`` lists the allowed origins. Unset, development allows
``localhost``, ``127.0.0.1`` and ``[::1]`` on any port and production allows
none. Credentials are allowed for listed origins; ``*`` allows any origin
without credentials (a browser never pairs a wildcard with credentials).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings import Settings

LOCALHOST = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?"
METHODS = ("GET", "POST")
# What the clients of docs/frontend.md send: GraphQL-over-HTTP, the CSRF
# preflight headers (gateway/security.py), Apollo's client awareness.
HEADERS = (
    "Accept",
    "Authorization",
    "Content-Type",
    "GraphQL-Preflight",
    "Apollo-Require-Preflight",
    "X-Apollo-Operation-Name",
    "Apollographql-Client-Name",
    "Apollographql-Client-Version",
)
MAX_AGE = 600


@dataclass(frozen=True)
class CORSPolicy:
    origins: tuple[str, ...] = ()
    origin_regex: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.origins) or self.origin_regex is not None

    @property
    def credentials(self) -> bool:
        return "*" not in self.origins


def cors_policy(settings: Settings) -> CORSPolicy:
    if settings.cors_origins is not None:
        return CORSPolicy(tuple(o.rstrip("/") for o in settings.cors_origins))
    if settings.environment == "development":
        return CORSPolicy(origin_regex=LOCALHOST)
    return CORSPolicy()
