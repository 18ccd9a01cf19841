"""Helpers shared by the Apiture GraphQL tests."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from schema import ids

ACTIONS = ("approve", "reject", "cancel", "expire", "start")


def app_id(key: str) -> str:
    return ids.encode("Application", Provider.APITURE, key)


def enrollment_id(key: str) -> str:
    return ids.encode("Enrollment", Provider.APITURE, key)


async def raw(sandbox: Controlled, path: str) -> dict[str, Any]:
    """A representation straight from the sandbox, bypassing the gateway."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url="http://apiture.raw"
    ) as client:
        response = await client.get(
            f"/accountApplications/{path}",
            headers={
                "Accept": "application/hal+json",
                "API-Key": DEMO_API_KEY,
                "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}",
            },
        )
        body: dict[str, Any] = response.json()
    sandbox.control.requests.pop()  # not the gateway's call
    return body


def action_links(representation: dict[str, Any]) -> set[str]:
    links = representation.get("_links", {})
    return {
        rel.split(":", 1)[1].upper()
        for rel in links
        if rel.split(":")[-1] in ACTIONS and rel.startswith("apiture:")
    }
