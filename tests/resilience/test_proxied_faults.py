"""Every root field x every fault, through a fault-injecting proxy in front of the
sandboxes running as their own processes: what a deployment sees of its providers.

One gateway for the module (in process, authentication on, every provider
configured: no embedded sandbox) reaches each provider through
``proxy.FaultProxy``. Each cell injects one fault on one provider and runs a query
that reads it and another provider beside it. Whatever the fault, the other
provider's data is there, the faulted part is null (or, in a connection, missing
and named in ``missingProviders``) with an error at its path carrying the provider
and the fault's code, and the response quotes no credential, upstream URL or
injected body.

Settings: ``support.failure_settings`` (3 attempts, 1-5 ms backoffs, 0.2 s an
attempt), so a hang or a slow drip costs three 0.2 s attempts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from adapters.apiture.sandbox import create_app as apiture_sandbox
from adapters.model import Provider
from gateway.settings import Settings
from tests.conftest import Gateway, serve
from tests.security.tokens import AUDIENCE, ISSUER, SECRET, staff

from .proxy import FAULTS, FaultProxy
from .support import (
    CONNECTFI_CUSTOMER,
    MATRIX,
    assert_nothing_leaks,
    failure_settings,
    record_ids,
)

APITURE, CONNECTFI, AUCO, MAMBU = (
    Provider.APITURE,
    Provider.CONNECTFI,
    Provider.AUCO,
    Provider.MAMBU,
)
CAP = 1024 * 1024  # max_upstream_bytes: the proxy's oversize body is 5 MiB

# The code each fault ends in.
CODES = {
    "500": "PROVIDER_UNAVAILABLE",
    "503 + Retry-After": "PROVIDER_UNAVAILABLE",
    "429 + Retry-After": "RATE_LIMITED",
    "malformed JSON": "PROVIDER_ERROR",
    "truncated body": "PROVIDER_UNAVAILABLE",
    "oversize body": "PROVIDER_ERROR",
    "slow drip": "PROVIDER_TIMEOUT",
    "connection reset": "PROVIDER_UNAVAILABLE",
    "hang": "PROVIDER_TIMEOUT",
    "wrong content type": "PROVIDER_ERROR",
}
# Upstream calls each fault costs the faulted provider: a read that may succeed
# on another attempt is tried three times; a 500 or an answer that is not the
# JSON expected is final.
RETRIED = frozenset(
    {
        "503 + Retry-After",
        "429 + Retry-After",
        "truncated body",
        "slow drip",
        "connection reset",
        "hang",
    }
)
# What the health probe (a HEAD) makes of each fault: any HTTP answer counts as
# reachable. The oversize fault's HEAD declares a 5 MiB Content-Length: whether that
# counts as an answer is the size cap's call, so it is not asserted.
PROBE_REACHABLE = {f: f not in ("connection reset", "hang") for f in CODES}
del PROBE_REACHABLE["oversize body"]

Data = dict[str, Any]

pytestmark = pytest.mark.asyncio(loop_scope="module")

SANDBOX_CREDENTIALS = {
    "apiture_api_key": DEMO_API_KEY,
    "apiture_access_token": DEMO_ACCESS_TOKEN,
    "connectfi_login": "sandbox",
    "connectfi_password": "sandbox",
    "auco_private_key": "prk_sandbox",
    "auco_public_key": "puk_sandbox",
    "mambu_username": "sandbox",
    "mambu_password": "sandbox",
}


@dataclass(frozen=True)
class Cell:
    """One root field read on a faulted provider, beside a healthy one."""

    field: str
    faulted: Provider
    query: str
    # The response's paths that must fail, each with an error naming ``faulted``.
    failed: Callable[[Data], list[list[str | int]]]
    # Asserts what must be kept, and that the failed part is null or missing.
    check: Callable[[Data], None]


def _kept_node(data: Data, alias: str, expected: str) -> None:
    assert data[alias]["id"] == expected, data


def _missing(connection: Data, provider: Provider) -> None:
    assert connection["missingProviders"] == [provider.name]


def _fan_out(edges: list[Data]) -> list[list[str | int]]:
    return [
        ["applications", "edges", i, "node", "documents"] for i in range(len(edges))
    ]


def cells(found: dict[str, str]) -> list[Cell]:
    def node_check(d: Data) -> None:
        assert d["faulted"] is None
        _kept_node(d, "healthy", found["apiture"])

    def nodes_check(d: Data) -> None:
        assert [n and n["id"] for n in d["nodes"]] == [found["apiture"], None]

    def application_check(d: Data) -> None:
        assert d["faulted"] is None
        _kept_node(d, "healthy", found["connectfi"])
        assert d["healthy"]["state"]

    def applications_check(d: Data) -> None:
        page = d["applications"]
        assert page["edges"], "Apiture's applications are kept"
        assert {e["node"]["provider"] for e in page["edges"]} == {"APITURE"}
        _missing(page, CONNECTFI)
        assert page["totalCount"] is None

    def enrollment_check(d: Data) -> None:
        assert d["faulted"] is None
        _kept_node(d, "healthy", found["auco"])

    def enrollments_check(d: Data) -> None:
        assert d["enrollments"]["edges"] == []
        _missing(d["enrollments"], APITURE)
        _kept_node(d, "healthy", found["connectfi"])

    def document_check(d: Data) -> None:
        assert d["faulted"] is None
        _kept_node(d, "healthy", found["mambu"])

    def documents_check(d: Data) -> None:
        assert d["documents"]["edges"] == []
        _missing(d["documents"], MAMBU)
        _kept_node(d, "healthy", found["apiture"])

    def documents_fan_out_check(d: Data) -> None:
        faulted = d["faulted"]
        assert faulted["id"] == found["connectfi"] and faulted["state"]
        assert faulted["documents"] is None
        _kept_node(d, "healthy", found["apiture"])

    def applications_fan_out_check(d: Data) -> None:
        edges = d["applications"]["edges"]
        assert edges, "connectFi's applications are kept"
        for edge in edges:
            assert edge["node"]["state"] and edge["node"]["documents"] is None
        assert d["applications"]["missingProviders"] == []

    return [
        Cell(
            "node",
            CONNECTFI,
            "query C($a: ID!, $c: ID!) { faulted: node(id: $c) { id } "
            "healthy: node(id: $a) { id } }",
            lambda _: [["faulted"]],
            node_check,
        ),
        Cell(
            "nodes",
            CONNECTFI,
            "query C($a: ID!, $c: ID!) { nodes(ids: [$a, $c]) { id } }",
            lambda _: [["nodes", 1]],
            nodes_check,
        ),
        Cell(
            "application",
            APITURE,
            "query C($a: ID!, $c: ID!) { faulted: application(id: $a) { id state } "
            "healthy: application(id: $c) { id state } }",
            lambda _: [["faulted"]],
            application_check,
        ),
        Cell(
            "applications",
            CONNECTFI,
            "query C($f: ApplicationFilter) { applications(filter: $f, first: 5) { "
            "edges { node { id provider } } missingProviders totalCount } }",
            lambda _: [["applications"]],
            applications_check,
        ),
        Cell(
            "enrollment",
            APITURE,
            "query C($e: ID!, $u: ID!) { faulted: enrollment(id: $e) { id state } "
            "healthy: document(id: $u) { id } }",
            lambda _: [["faulted"]],
            enrollment_check,
        ),
        Cell(
            "enrollments",
            APITURE,
            "query C($c: ID!) { enrollments(first: 3) { edges { node { id } } "
            "missingProviders } healthy: application(id: $c) { id } }",
            lambda _: [["enrollments"]],
            enrollments_check,
        ),
        Cell(
            "document",
            AUCO,
            "query C($u: ID!, $m: ID!) { faulted: document(id: $u) { id name } "
            "healthy: document(id: $m) { id name } }",
            lambda _: [["faulted"]],
            document_check,
        ),
        Cell(
            "documents",
            MAMBU,
            'query C($a: ID!) { documents(owner: {kind: MAMBU_CLIENT, id: "1"}) { '
            "edges { node { id } } missingProviders } "
            "healthy: application(id: $a) { id } }",
            lambda _: [["documents"]],
            documents_check,
        ),
        Cell(
            "application.documents",
            MAMBU,
            "query C($a: ID!, $c: ID!) { faulted: application(id: $c) { id state "
            "documents { id } } healthy: application(id: $a) { id } }",
            lambda _: [["faulted", "documents"]],
            documents_fan_out_check,
        ),
        Cell(
            "applications.documents",
            MAMBU,
            "query C($f: ApplicationFilter) { applications(filter: $f, first: 3) { "
            "edges { node { id state documents { id } } } missingProviders } }",
            lambda d: _fan_out(d["applications"]["edges"]),
            applications_fan_out_check,
        ),
    ]


def variables(found: dict[str, str], cell: Cell) -> dict[str, Any]:
    both = {"customerId": CONNECTFI_CUSTOMER, "applicantContact": found["contact"]}
    connectfi_only = {"customerId": CONNECTFI_CUSTOMER, "providers": ["CONNECTFI"]}
    return {
        "a": found["apiture"],
        "c": found["connectfi"],
        "e": found["enrollment"],
        "u": found["auco"],
        "m": found["mambu"],
        "f": connectfi_only if cell.field == "applications.documents" else both,
    }


def proxied_settings(proxy: FaultProxy) -> Settings:
    """Every provider configured, reached through the proxy; authentication on."""
    values: dict[str, Any] = {
        "apiture_url": proxy.url(APITURE) + "/accountApplications",
        "connectfi_url": proxy.url(CONNECTFI),
        "auco_url": proxy.url(AUCO) + "/v1.5/ext",
        "mambu_url": proxy.url(MAMBU),
        # What the sandbox processes accept (the in-process ones take any).
        **SANDBOX_CREDENTIALS,
        "auth_jwt_secret": SECRET,
        "auth_issuer": ISSUER,
        "auth_audience": AUDIENCE,
        # One gateway serves the module, as one serves a deployment: its breakers
        # and retry budget must not carry one cell's faults into the next (they
        # have tests of their own, test_breaker_and_deadline.py).
        "breaker_threshold": 10_000,
        "retry_budget_min": 10_000,
    }
    if "max_upstream_bytes" in Settings.model_fields:
        values["max_upstream_bytes"] = CAP
    return failure_settings(**values)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(fault_proxy: FaultProxy) -> AsyncIterator[Gateway]:
    async with serve(proxied_settings(fault_proxy)) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def found(gateway: Gateway, fault_proxy: FaultProxy) -> dict[str, str]:
    """Global ids of the demo records the cells read, found before any fault."""
    fault_proxy.clear()
    headers = staff()
    by_provider = await record_ids(gateway, headers)
    data = await gateway.data(
        "{ enrollments(first: 1) { edges { node { id } } } }", headers=headers
    )
    records = {p.value: gid for p, gid in by_provider.items()}
    records["enrollment"] = data["enrollments"]["edges"][0]["node"]["id"]
    records["contact"] = apiture_contact()
    return records


@pytest.fixture(autouse=True)
def no_fault(fault_proxy: FaultProxy) -> None:
    fault_proxy.clear()


def apiture_contact() -> str:
    """An applicant contact with applications in the sandbox's seeded data (the
    process serves the same deterministic seed)."""
    store = apiture_sandbox().store
    for key in store.application_ids:
        applicants = store.application(key).get("applicants") or []
        if applicants:
            href: str = applicants[0]["contact"]["_links"]["self"]["href"]
            return href
    raise AssertionError("no demo application has an applicant contact")


CELL_NAMES = [c.field for c in cells({})]
# What each cell keeps, for the failure matrix (-v).
KEPT = {
    "node": "node (APITURE)",
    "nodes": "nodes[0] (APITURE)",
    "application": "application (CONNECTFI)",
    "applications": "applications' APITURE edges",
    "enrollment": "document (AUCO)",
    "enrollments": "application (CONNECTFI)",
    "document": "document (MAMBU)",
    "documents": "application (APITURE)",
    "application.documents": "the CONNECTFI application; application (APITURE)",
    "applications.documents": "the CONNECTFI edges but their documents",
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("name", CELL_NAMES)
async def test_a_fault_costs_only_the_faulted_providers_part(
    gateway: Gateway,
    fault_proxy: FaultProxy,
    found: dict[str, str],
    name: str,
    fault: str,
) -> None:
    if fault == "oversize body" and "max_upstream_bytes" not in Settings.model_fields:
        pytest.xfail("needs the upstream size cap")
    headers = staff()
    [cell] = [c for c in cells(found) if c.field == name]
    fault_proxy.inject(cell.faulted, fault)

    body = await gateway.execute(cell.query, variables(found, cell), headers)

    assert_nothing_leaks(body)
    text = str(body)
    assert "127.0.0.1" not in text and "injected" not in text
    data = body["data"]
    assert data is not None, body
    cell.check(data)
    expected = cell.failed(data)
    errors = body["errors"]
    assert sorted(e["path"] for e in errors) == sorted(expected), errors
    for error in errors:
        assert error["extensions"]["provider"] == cell.faulted.name, error
        assert error["extensions"]["code"] == CODES[fault], error
    # The fault reached the faulted provider; every other provider was answered.
    faulted_calls = fault_proxy.calls(cell.faulted, fault)
    assert faulted_calls == (3 if fault in RETRIED else 1)
    assert all(r.fault is None for r in fault_proxy.log if r.provider != cell.faulted)
    MATRIX.append(
        (
            cell.faulted.name,
            f"{fault} (proxied)",
            CODES[fault],
            ", ".join(".".join(map(str, p)) for p in expected),
            KEPT[name],
            faulted_calls,
        )
    )


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_providers_answers_for_every_provider_whatever_one_does(
    gateway: Gateway, fault_proxy: FaultProxy, found: dict[str, str], fault: str
) -> None:
    headers = staff()
    fault_proxy.inject(MAMBU, fault)

    body = await gateway.execute(
        "query P($a: ID!) { providers { name reachable latencyMs configured } "
        "healthy: application(id: $a) { id } }",
        {"a": found["apiture"]},
        headers,
    )

    assert "errors" not in body, body["errors"]
    assert_nothing_leaks(body)
    data = body["data"]
    assert data["healthy"]["id"] == found["apiture"]
    status = {p["name"]: p for p in data["providers"]}
    assert sorted(status) == ["APITURE", "AUCO", "CONNECTFI", "MAMBU"]
    assert all(p["configured"] for p in status.values())
    for name in ("APITURE", "CONNECTFI", "AUCO"):
        assert status[name]["reachable"], status
    reachable = status["MAMBU"]["reachable"]
    assert reachable is PROBE_REACHABLE.get(fault, reachable)
    assert (status["MAMBU"]["latencyMs"] is None) is not reachable
    assert fault_proxy.calls(MAMBU, fault) == 1  # the probe is not retried


async def test_the_proxy_forwards_to_the_sandbox_processes_and_logs_it(
    gateway: Gateway,
    fault_proxy: FaultProxy,
    found: dict[str, str],
    sandbox_processes: dict[Provider, str],
) -> None:
    mambu = sandbox_processes[MAMBU] + "/_sandbox/calls"
    async with httpx.AsyncClient() as client:
        before = (await client.get(mambu)).json()["total"]
        data = await gateway.data(
            "query D($m: ID!) { document(id: $m) { id name } }",
            {"m": found["mambu"]},
            staff(),
        )
        after = (await client.get(mambu)).json()["total"]

    assert data["document"]["id"] == found["mambu"]
    # Every request the gateway made went through the proxy, was logged there
    # and reached the sandbox process.
    assert {r.provider for r in fault_proxy.log} == {MAMBU}
    assert all(r.path.startswith("/api/") for r in fault_proxy.log)
    assert after - before == fault_proxy.calls(MAMBU) >= 1
