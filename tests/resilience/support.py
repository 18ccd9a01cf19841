"""What the failure tests share: settings with distinctive secrets, the records each
provider serves, faults by name, and the check that nothing upstream leaks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from adapters.model import Provider
from adapters.sandbox_kit import Fault
from gateway.settings import Settings
from schema import ids
from tests.conftest import Gateway

SECRETS = {
    "apiture_api_key": "SECRET-apiture-key-XYZ",
    "apiture_access_token": "SECRET-apiture-token-XYZ",
    "connectfi_login": "SECRET-connectfi-login-XYZ",
    "connectfi_password": "SECRET-connectfi-password-XYZ",
    "auco_private_key": "prk_SECRET-auco-private-XYZ",
    "auco_public_key": "puk_SECRET-auco-public-XYZ",
    "mambu_username": "SECRET-mambu-user-XYZ",
    "mambu_password": "SECRET-mambu-password-XYZ",
}
# Hosts, base paths and the injected fault's body: none may reach the client.
UPSTREAM_TRACES = (
    "sandbox",
    "http://",
    "/accountApplications",
    "/applications/",
    "/akepa",
    "/auth/",
    "/api/",
    "/v1.5",
    "/document",
    "injected",
    "retry-after",
)


def failure_settings(**overrides: Any) -> Settings:
    """Fast retries, short timeouts, distinctive fake credentials. The URLs stay
    unset, so the sandboxes serve every provider."""
    values: dict[str, Any] = {
        **SECRETS,
        "attempt_timeout": 0.2,
        "request_deadline": 5.0,
        "retry_attempts": 3,
        "retry_backoff": 0.001,
        "retry_backoff_max": 0.005,
        "retry_budget_min": 100,
        "breaker_threshold": 100,
        "breaker_cooldown": 0.1,
    }
    values.update(overrides)
    return Settings(**values)


def assert_nothing_leaks(body: dict[str, Any]) -> None:
    text = json.dumps(body).lower()
    for needle in (*SECRETS.values(), *UPSTREAM_TRACES):
        assert needle.lower() not in text, f"{needle!r} leaked into {text}"


# Faults by the name the matrix shows.
FAULTS: dict[str, Fault] = {
    "500": Fault(status=500),
    "503 + Retry-After": Fault(status=503, retry_after="0"),
    "timeout (hang)": Fault(hang=True),
    "malformed body": Fault(malformed=True),
    "connection reset": Fault(drop=True),
    "429 + Retry-After": Fault(status=429, retry_after="0"),
}


@dataclass(frozen=True)
class Target:
    """One provider's record read by one root field, and the route that serves it."""

    provider: Provider
    field: str  # the root field, e.g. application(id:)
    route: str  # the sandbox path the fault is injected on (regex)
    method: str


TARGETS = {
    Provider.APITURE: Target(
        Provider.APITURE, "application", r"/applications/[^/]+$", "GET"
    ),
    Provider.CONNECTFI: Target(
        Provider.CONNECTFI, "application", r"^/akepa/status$", "POST"
    ),
    Provider.MAMBU: Target(Provider.MAMBU, "document", r"/documents$", "GET"),
    Provider.AUCO: Target(Provider.AUCO, "document", r"/document$", "GET"),
}

AUCO_DOCUMENT = ids.encode("Document", Provider.AUCO, "DEMOWAIT01")
CONNECTFI_CUSTOMER = "cstap_5mBHiIx3QbkvEpjGfKsI9k"


async def record_ids(
    gateway: Gateway, headers: dict[str, str] | None = None
) -> dict[Provider, str]:
    """A global id of one demo record per provider (found before any fault)."""
    data = await gateway.data(
        """
        query Ids($customer: String!) {
          apiture: applications(filter: {providers: [APITURE]}, first: 1) {
            edges { node { id } }
          }
          connectfi: applications(
            filter: {providers: [CONNECTFI], customerId: $customer}, first: 1
          ) { edges { node { id } } }
          mambu: documents(owner: {kind: MAMBU_CLIENT, id: "1"}, first: 1) {
            edges { node { id } }
          }
        }
        """,
        {"customer": CONNECTFI_CUSTOMER},
        headers,
    )
    found = {
        p: data[p.value]["edges"][0]["node"]["id"] for p in TARGETS if p.value in data
    }
    found[Provider.AUCO] = AUCO_DOCUMENT
    gateway.forget_requests()
    return found


# The matrix rows the tests recorded: (provider, fault, code, null, kept, calls).
MATRIX: list[tuple[str, str, str, str, str, int]] = []
