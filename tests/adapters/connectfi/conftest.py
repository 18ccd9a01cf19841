"""Fixtures shared by the connectFi tests: a sandbox on a fake clock, raw access."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.connectfi.client import ConnectFiClient
from adapters.connectfi.sandbox import create_app
from adapters.sandbox_kit import Controlled

from .support import BASE_URL, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Controlled:
    return create_app(clock=clock)


@pytest.fixture
async def raw(app: Controlled) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def http(app: Controlled) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient, clock: FakeClock) -> ConnectFiClient:
    return ConnectFiClient(http, login="sandbox", password="sandbox", clock=clock)
