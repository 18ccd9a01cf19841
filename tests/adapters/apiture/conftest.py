"""Fixtures: a fresh sandbox per test, a raw HTTP client on it, seed examples."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY, create_app
from adapters.sandbox_kit import Controlled

# What the sandbox accepts (both, as every seed sample sends them, L119-120).
CREDENTIALS = {"API-Key": DEMO_API_KEY, "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}"}
HAL = "application/hal+json"
# Every seed sample sends these (L652-653); httpx's json= would say application/json.
MEDIA = {"Accept": HAL, "Content-Type": HAL}
SEED = Path(__file__).resolve().parents[4] / "shared/seeds/001_1434ba7a5e588ce0.txt"

# The createApplication body parameter, verbatim from the seed (L791-832).
CREATE_APPLICATION_EXAMPLE: dict[str, Any] = {
    "_profile": "https://api.apiture.com/schemas/accountApplications/application/"
    "v1.0.0/profile.json",
    "accountName": "My checking account",
    "_links": {
        "apiture:product": {
            "href": "https://www.example.com/products/products/"
            "51df9a81-2cb8-4515-aad1-9543b3c4fc18"
        }
    },
    "applicants": [
        {
            "username": "Snowqueen123",
            "contact": {
                "firstName": "Elsa",
                "lastName": "Snowqueen",
                "_links": {
                    "self": {
                        "href": "https://www.example.com/users/user/"
                        "3017d005-9910-4a8b-874b-397749353e7a"
                    }
                },
            },
            "role": {
                "name": "primaryUser",
                "label": "Primary User",
                "_links": {
                    "self": {
                        "href": "https://www.example.com/associations/roles/"
                        "3ad50a2a-3129-491f-9bd9-d4cccf54b228"
                    }
                },
            },
        }
    ],
    "products": [
        {
            "name": "Personal Savings",
            "_links": {
                "self": {
                    "href": "https://www.example.com/products/products/"
                    "40ed6e40-cffa-4944-8d54-f9b50ed2081f"
                }
            },
        }
    ],
}


def _seed_example(first: int, last: int) -> Any:
    """The JSON example on seed lines ``first``..``last`` (skip when no seed)."""
    if not SEED.exists():
        pytest.skip("the Apiture seed is not beside the repository")
    lines = SEED.read_text(encoding="utf-8").split("\n")
    return json.loads("\n".join(lines[first - 1 : last]))


@pytest.fixture
def app() -> Controlled:
    return create_app(seed=0)


@pytest.fixture
async def http(app: Controlled) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app),
        base_url="http://apiture.test",
        headers={**CREDENTIALS, **MEDIA},
    ) as client:
        yield client


@pytest.fixture
def create_example() -> dict[str, Any]:
    """A fresh copy of the seed's createApplication body (L791-832)."""
    return copy.deepcopy(CREATE_APPLICATION_EXAMPLE)


@pytest.fixture
def seed_example() -> Callable[[int, int], Any]:
    """Load the JSON example on the given seed lines (skips without the seed)."""
    return _seed_example
