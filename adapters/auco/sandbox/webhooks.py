"""The Auco sandbox's company webhook (reference §3.8) and its sandbox-only routes.

Auco posts every document event to the company's ``default`` webhook (configured
with ``PUT /company``: a URL and one static header ``key: value``, its only
authentication). Only a 2xx counts as delivered; anything else is retried 3 times,
after 2, then 4, then 6 minutes, with the same body, then dropped. Here
:meth:`AucoWebhooks.configure` plays ``PUT /company`` (the sandbox has no
``/company`` route: the gateway never calls it) and ``time_factor`` compresses the
schedule (``0.001``: 120, 240 and 360 ms).

The sandbox-only routes that play the participants are :mod:`.participants`'s.
This module does not know the store (the store names it, for ``store.webhooks``):
``create_app`` hands :meth:`AucoWebhooks.emit` to the store as its ``on_event``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from adapters.sandbox_webhooks import WebhookSender

# Auco's retries: after 2, 4 and 6 minutes (reference §3.8).
RETRY_SCHEDULE = (120.0, 240.0, 360.0)


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    header_key: str
    header_value: str


class AucoWebhooks:
    """Delivers the store's events (:meth:`emit`) to the configured webhook, if any."""

    def __init__(self) -> None:
        self.config: WebhookConfig | None = None
        self.sender = WebhookSender(schedule=RETRY_SCHEDULE)

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
