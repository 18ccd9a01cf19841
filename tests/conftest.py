"""A gateway over fresh in-process sandboxes, driven through its HTTP interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from gateway.app import create_app
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes


@dataclass
class Gateway:
    client: httpx.AsyncClient
    sandboxes: dict[Provider, Controlled]

    @property
    def apiture(self) -> Controlled:
        return self.sandboxes[Provider.APITURE]

    @property
    def connectfi(self) -> Controlled:
        return self.sandboxes[Provider.CONNECTFI]

    @property
    def auco(self) -> Controlled:
        return self.sandboxes[Provider.AUCO]

    @property
    def mambu(self) -> Controlled:
        return self.sandboxes[Provider.MAMBU]

    def forget_requests(self) -> None:
        for sandbox in self.sandboxes.values():
            sandbox.control.requests.clear()

    def upstream_calls(self) -> int:
        return sum(len(s.control.requests) for s in self.sandboxes.values())

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The whole GraphQL response (data and errors)."""
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}
        )
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The data of a response that must have no errors."""
        body = await self.execute(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    sandboxes = create_sandboxes(settings)
    app = create_app(settings, sandboxes=sandboxes)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test"
        ) as client:
            yield Gateway(client, sandboxes)
