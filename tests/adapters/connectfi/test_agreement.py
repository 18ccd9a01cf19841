"""The client's pre-validation and the sandbox's AJV schema agree on the seeds' rules.

They are written apart on purpose (the sandbox plays connectFi, the client plays a
careful caller); these cases prove that what one refuses the other refuses, on the
same field, and what one accepts the other accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from adapters.connectfi import checks, mapping
from adapters.connectfi.sandbox.schema import DOCUMENT_TYPES

from .support import login

# These tests send requests outside the provider's contract on purpose, to see
# the sandbox refuse them (tests/contracts/plugin.py).
pytestmark = pytest.mark.sends_invalid_requests

SEED = {
    "workflow": "PERSONAL",
    "name": "license",
    "extension": "jpg",
    "type": "license",
}

GENERATE_CASES: list[dict[str, Any]] = [
    {},
    {"workflow": "BUSINESS"},
    {"workflow": "personal"},
    {"workflow": ""},
    {"name": "n" * 50},
    {"name": "n" * 51},
    {"name": ""},
    {"name": " a "},
    {"name": "   "},
    {"name": "\u00a0"},
    {"name": "Führerschein \u2013 Vorderseite"},
    {"name": "tab\there"},
    {"name": "<"},
    {"name": "a>b"},
    {"name": "two\nlines"},
    {"name": "carriage\rreturn"},
    {"name": "line\u2028separator"},
    {"name": "<" * 51},
    {"extension": "png"},
    {"extension": "gif"},
    {"extension": "jpeg"},
    {"extension": "JPG"},
    {"type": "Passport"},
    {"type": ""},
    *({"type": value} for value in DOCUMENT_TYPES),
    {"note": ""},
    {"note": "x" * 500},
    {"note": "x" * 501},
    {"note": "a < b"},
    {"note": "first\nsecond"},
    {"note_author_agent_email": "agent@bank.example"},
    {"note_author_agent_email": "a.b+c@sub.bank.io"},
    {"note_author_agent_email": "a@b"},
    {"note_author_agent_email": "a@@b.com"},
    {"note_author_agent_email": ""},
    {"note_author_agent_email": "agent @bank.example"},
    {"name": "", "extension": "gif", "type": "selfie", "workflow": "X"},
]

LIST_CASES: list[tuple[str, int, int]] = [
    ("cstap_5mBHiIx3QbkvEpjGfKsI9k", 0, 20),
    ("c" * 36, 0, 1),
    ("c" * 37, 0, 1),
    ("", 0, 1),
    ("cstap-dash", 0, 1),
    ("cstap_x", 0, 1000),
    ("cstap_x", 0, 1001),
    ("cstap_x", 0, 0),
    ("cstap_x", -1, 10),
]


def client_paths(violations: list[Any]) -> set[tuple[str, ...]]:
    return {v.path for v in violations}


def sandbox_paths(
    response: httpx.Response, paths: Mapping[str, tuple[str, ...]]
) -> set[tuple[str, ...]]:
    if response.status_code == 200:
        return set()
    body = response.json()
    assert response.status_code == 400
    if body["code"] == "greaterNumberOfRecords":
        return {paths["numberOfRecords"]}
    assert body["code"] == "requestValidateError"
    found = set()
    for error in body["context"]:
        name = error["instancePath"].lstrip("/") or error["params"]["missingProperty"]
        found.add(paths[name])
    return found


@pytest.mark.parametrize("change", GENERATE_CASES, ids=repr)
async def test_generate_rules_agree(
    raw: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    arguments = {**SEED, "note": None, "note_author_agent_email": None, **change}
    refused_by_client = client_paths(checks.generate_violations(**arguments))
    response = await raw.post(
        "/akepa/document/generate",
        json=mapping.generate_request(**arguments),
        headers=await login(raw),
    )
    assert refused_by_client == sandbox_paths(response, mapping.GENERATE_PATHS)


@pytest.mark.parametrize(("customer_id", "offset", "limit"), LIST_CASES)
async def test_list_rules_agree(
    raw: httpx.AsyncClient, customer_id: str, offset: int, limit: int
) -> None:
    refused_by_client = client_paths(
        checks.list_violations(customer_id, offset=offset, limit=limit)
    )
    body = mapping.list_request(
        customer_id, created_from=None, created_to=None, offset=offset, limit=limit
    )
    response = await raw.post("/akepa/list", json=body, headers=await login(raw))
    assert refused_by_client == sandbox_paths(response, mapping.LIST_PATHS)
