"""A gateway over fresh embedded sandboxes whose webhooks come back to it in process,
with the bus it publishes on, for the webhook tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from adapters.auco.sandbox.store import Store as AucoStore
from adapters.auco.sandbox.store import StoredDocument, StoredSigner
from adapters.auco.sandbox.webhooks import AucoWebhooks
from adapters.connectfi.sandbox.store import ConnectFiStore
from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from gateway.app import create_app
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes
from gateway.webhooks.receivers import Webhooks
from schema.live.events import Change

SECRET = "auco-webhook-secret-for-tests"
TOKEN = "connectfi-path-token-for-tests-0123456789"
HEADER = "X-Auco-Webhook-Secret"
PDF = b"%PDF-1.4 test\n%%EOF\n"


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "auco_webhook_secret": SECRET,
        "connectfi_webhook_token": TOKEN,
        "sandbox_webhook_time_factor": 0.0001,  # Auco's 2, 4, 6 minutes: 72 ms
    }
    return Settings(**(values | overrides))


class RecordingBus:
    """Keeps every published change; ``fail`` makes the next publishes raise."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.fail = 0

    async def publish(self, change: Change) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("bus down")
        self.changes.append(change)


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient  # to the gateway
    sandboxes: dict[Provider, Controlled]
    bus: RecordingBus

    @property
    def webhooks(self) -> Webhooks:
        hooks: Webhooks = self.app.state.webhooks
        return hooks

    @property
    def auco_store(self) -> AucoStore:
        store = self.sandboxes[Provider.AUCO].store
        assert isinstance(store, AucoStore)
        return store

    @property
    def auco_hooks(self) -> AucoWebhooks:
        assert self.auco_store.webhooks is not None
        return self.auco_store.webhooks

    @property
    def connectfi_store(self) -> ConnectFiStore:
        store = self.sandboxes[Provider.CONNECTFI].store
        assert isinstance(store, ConnectFiStore)
        return store

    def sandbox_client(self, provider: Provider) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.sandboxes[provider])
        return httpx.AsyncClient(transport=transport, base_url="http://sandbox.test")


@asynccontextmanager
async def running(config: Settings | None = None) -> AsyncIterator[Running]:
    config = config or settings()
    sandboxes = create_sandboxes(config)
    app = create_app(config, sandboxes=sandboxes)
    bus = RecordingBus()
    app.state.webhooks.bus = bus
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test"
        ) as client:
            yield Running(app, client, sandboxes, bus)


def three_signer_document(store: AucoStore, code: str = "THREESIGN1") -> None:
    """A document out for signature to three signers, in order."""
    now = store.utcnow()
    signers = [
        StoredSigner(
            id=f"P{n}",
            name=f"Signer {n}",
            email=f"signer{n}@example.com",
            phone=f"+5730000000{n}",
            order=n,
        )
        for n in (1, 2, 3)
    ]
    store.add(
        StoredDocument(
            code=code,
            package="a" * 24,
            name="Three signers",
            creator="sender@example.com",
            created_at=now,
            signers=signers,
            content=PDF,
        )
    )
