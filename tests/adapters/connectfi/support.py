"""Helpers shared by the connectFi tests: a fake clock, logging in by hand."""

from __future__ import annotations

import httpx

from adapters.sandbox_kit import Controlled

BASE_URL = "http://connectfi.test"
START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class FakeClock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def login(raw: httpx.AsyncClient) -> dict[str, str]:
    """Headers carrying a fresh token for the sandbox's demo credentials."""
    response = await raw.post(
        "/auth/get-token", json={"user": {"login": "sandbox", "password": "sandbox"}}
    )
    assert response.status_code == 200
    return {"x-connectfi-token": response.json()["data"]["token"]}


def logins(app: Controlled) -> int:
    return app.control.calls("POST", "/auth/get-token")


def paths(app: Controlled) -> list[str]:
    return [r.path for r in app.control.requests]
