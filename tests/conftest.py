"""A gateway over fresh in-process sandboxes, driven through its HTTP interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The whole GraphQL response (data and errors)."""
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The data of a response that must have no errors."""
        body = await self.execute(query, variables, headers)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
def settings() -> Settings:
    return Settings()


@asynccontextmanager
async def serve(
    settings: Settings | None = None, **sandboxes: Controlled
) -> AsyncIterator[Gateway]:
    """The gateway over fresh sandboxes, ``connectfi=…``, ``auco=…`` replacing
    the default ones."""
    settings = settings or Settings()
    chosen = create_sandboxes(settings)
    chosen.update({Provider[name.upper()]: app for name, app in sandboxes.items()})
    app = create_app(settings, sandboxes=chosen)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test"
        ) as client:
            yield Gateway(client, chosen)


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with serve(settings) as running:
        yield running


# Every sandbox call in the suite is checked against contracts/<provider>.yaml.
pytest_plugins = ["tests.contracts.plugin"]
