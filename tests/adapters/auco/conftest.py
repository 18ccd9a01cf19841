"""Shared fixtures: a sandbox on controllable clocks and an httpx client over it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from adapters.auco.sandbox import BASE_PATH, create_app
from adapters.sandbox_kit import Controlled

BASE_URL = f"http://auco.test{BASE_PATH}"
PRIVATE = "prk_sandbox"
PUBLIC = "puk_sandbox"
NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PDF_B64 = base64.b64encode(PDF).decode()


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> Controlled:
    return create_app(clock=clock, now=lambda: NOW)


@pytest.fixture
async def http(app: Controlled) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client
