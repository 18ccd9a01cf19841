"""The Auco sandbox's company webhook (reference §3.8) and its sandbox-only routes.

Auco posts every document event to the company's ``default`` webhook (configured
with ``PUT /company``: a URL and one static header ``key: value``, its only
authentication). Only a 2xx counts as delivered; anything else is retried 3 times,
after 2, then 4, then 6 minutes, with the same body, then dropped. Here
:meth:`AucoWebhooks.configure` plays ``PUT /company`` (the sandbox has no
``/company`` route: the gateway never calls it) and ``time_factor`` compresses the
schedule (``0.001``: 120, 240 and 360 ms).

Sandbox-only routes, outside Auco's API (``/_sandbox/…``, not in the contract),
play the participants: ``POST /_sandbox/documents/{code}/{action}`` with
``{"email": <the signer's>}`` for ``sign``, ``reject`` and ``block``, and no body for
``expire``. They answer ``{"code", "status"}`` (the document's status after the
act), 404 for an unknown document or signer, 409 when the signer cannot act now
(not notified yet, already done, the document closed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.auco.sandbox.store import Store
from adapters.sandbox_webhooks import WebhookSender

# Auco's retries: after 2, 4 and 6 minutes (reference §3.8).
RETRY_SCHEDULE = (120.0, 240.0, 360.0)


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    header_key: str
    header_value: str


class AucoWebhooks:
    """Delivers the store's events to the configured webhook, if any."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.config: WebhookConfig | None = None
        self.sender = WebhookSender(schedule=RETRY_SCHEDULE)
        store.on_event = self.emit

    def configure(
        self,
        url: str,
        header_key: str,
        header_value: str,
        *,
        time_factor: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = WebhookConfig(url, header_key, header_value)
        self.sender.time_factor = time_factor
        self.sender.transport = transport

    def emit(self, body: dict[str, Any]) -> None:
        if self.config is not None:
            header = {self.config.header_key: self.config.header_value}
            self.sender.send(self.config.url, body, header)


_ACTIONS = ("sign", "reject", "block", "expire")


async def act(request: Request) -> Response:
    """``POST /_sandbox/documents/{code}/{action}``: a participant acts."""
    store: Store = request.app.state.store
    code, action = request.path_params["code"], request.path_params["action"]
    if action not in _ACTIONS:
        return JSONResponse({"message": "NOT_FOUND"}, 404)
    document = store.documents.get(code)
    if document is None:
        return JSONResponse({"message": "DOCUMENT_NOT_FOUND"}, 404)
    if action == "expire":
        store.expire(code)
        return JSONResponse({"code": code, "status": document.status})
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return JSONResponse({"message": "EMAIL_REQUIRED"}, 400)
    try:
        getattr(store, action)(code, email)
    except KeyError:
        return JSONResponse({"message": "SIGNER_NOT_FOUND"}, 404)
    except ValueError:
        return JSONResponse({"message": "SIGNER_CANNOT_ACT"}, 409)
    return JSONResponse({"code": code, "status": document.status})
