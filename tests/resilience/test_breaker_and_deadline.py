"""The breaker, the retry budget and the deadline, seen through GraphQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.sandbox_kit import Fault
from gateway.settings import Settings
from tests.conftest import Gateway

from .support import AUCO_DOCUMENT, assert_nothing_leaks, failure_settings

READ = "query Read($id: ID!) { document(id: $id) { id name } }"
STATUS = "{ providers { name breakerState failures lastError averageLatencyMs } }"
ROUTE = r"/document$"


async def auco_status(gateway: Gateway) -> dict[str, Any]:
    data = await gateway.data(STATUS)
    [auco] = [p for p in data["providers"] if p["name"] == "AUCO"]
    return auco


def document_calls(gateway: Gateway) -> int:
    return gateway.auco.control.calls("GET", f".*{ROUTE}")


async def read(gateway: Gateway) -> dict[str, Any]:
    body = await gateway.execute(READ, {"id": AUCO_DOCUMENT})
    assert_nothing_leaks(body)
    return body


def code_of(body: dict[str, Any]) -> str:
    [error] = body["errors"]
    assert error["extensions"]["provider"] == "AUCO"
    code: str = error["extensions"]["code"]
    return code


class TestBreaker:
    # Threshold 3 = one read's three attempts. The cool-down is long enough for the
    # open-state checks to finish well inside it, short enough to wait out.
    COOLDOWN = 0.3

    @pytest.fixture
    def settings(self) -> Settings:
        return failure_settings(breaker_threshold=3, breaker_cooldown=self.COOLDOWN)

    async def test_it_opens_fails_fast_and_closes_after_recovery(
        self, gateway: Gateway
    ) -> None:
        gateway.auco.control.inject(ROUTE, Fault(status=503), method="GET")

        first = await read(gateway)
        assert code_of(first) == "PROVIDER_UNAVAILABLE"
        assert document_calls(gateway) == 3
        status = await auco_status(gateway)
        assert status["breakerState"] == "open"
        assert (status["failures"], status["lastError"]) == (3, "http_503")

        refused = await read(gateway)
        assert code_of(refused) == "PROVIDER_UNAVAILABLE"
        assert "circuit open" in refused["errors"][0]["message"]
        assert refused["data"] == {"document": None}
        assert document_calls(gateway) == 3  # no upstream request while open

        gateway.auco.control.clear()  # the provider recovers
        await asyncio.sleep(self.COOLDOWN + 0.05)
        recovered = await read(gateway)
        assert "errors" not in recovered
        assert recovered["data"]["document"]["id"] == AUCO_DOCUMENT
        assert document_calls(gateway) == 1  # the probe
        status = await auco_status(gateway)
        assert (status["breakerState"], status["failures"]) == ("closed", 0)
        assert status["lastError"] == "http_503"  # kept for the operators
        assert status["averageLatencyMs"] is not None

    async def test_a_failed_probe_reopens_it_after_one_call(
        self, gateway: Gateway
    ) -> None:
        gateway.auco.control.inject(ROUTE, Fault(drop=True), method="GET")
        await read(gateway)
        assert document_calls(gateway) == 3
        await asyncio.sleep(self.COOLDOWN + 0.05)

        probe = await read(gateway)
        assert code_of(probe) == "PROVIDER_UNAVAILABLE"
        assert document_calls(gateway) == 4  # one probe, no retries behind it
        status = await auco_status(gateway)
        assert (status["breakerState"], status["lastError"]) == (
            "open",
            "connection_dropped",
        )

    async def test_other_providers_are_not_affected(self, gateway: Gateway) -> None:
        gateway.auco.control.inject(ROUTE, Fault(status=500), method="GET")
        for _ in range(3):
            await read(gateway)
        data = await gateway.data(STATUS)
        states = {p["name"]: p["breakerState"] for p in data["providers"]}
        assert states == {
            "APITURE": "closed",
            "CONNECTFI": "closed",
            "AUCO": "open",
            "MAMBU": "closed",
        }


class TestRetryBudget:
    CALLS, RATIO, MINIMUM = 20, 0.1, 2

    @pytest.fixture
    def settings(self) -> Settings:
        return failure_settings(
            retry_budget_ratio=self.RATIO,
            retry_budget_min=self.MINIMUM,
            breaker_threshold=1000,
        )

    async def test_a_persistent_503_gets_few_retries(self, gateway: Gateway) -> None:
        gateway.auco.control.inject(ROUTE, Fault(status=503), method="GET")
        for _ in range(self.CALLS):
            assert code_of(await read(gateway)) == "PROVIDER_UNAVAILABLE"
        retries = document_calls(gateway) - self.CALLS
        # Without a budget: 2 retries a call, 40 in all.
        assert 0 < retries <= self.CALLS * self.RATIO + self.MINIMUM


class TestDeadline:
    DEADLINE = 0.3

    @pytest.fixture
    def settings(self) -> Settings:
        return failure_settings(request_deadline=self.DEADLINE, attempt_timeout=10)

    async def test_a_hang_ends_at_the_request_deadline(self, gateway: Gateway) -> None:
        gateway.auco.control.inject(ROUTE, Fault(hang=True), method="GET")
        body = await read(gateway)
        # The hang would last the attempt's 10 s: the deadline cut it, and no
        # retry followed (the fake-clock tests of the transport show no waiting).
        assert code_of(body) == "PROVIDER_TIMEOUT"
        assert "deadline" in body["errors"][0]["message"]
        assert document_calls(gateway) == 1
        assert (await auco_status(gateway))["breakerState"] == "closed"

    @pytest.mark.parametrize(
        ("status", "code"), [(429, "RATE_LIMITED"), (503, "PROVIDER_UNAVAILABLE")]
    )
    async def test_a_retry_after_past_the_deadline_is_not_waited_for(
        self, gateway: Gateway, status: int, code: str
    ) -> None:
        fault = Fault(status=status, retry_after="30")
        gateway.auco.control.inject(ROUTE, fault, method="GET")
        body = await read(gateway)
        # Answered without waiting the 30 s: one call, no retry (the transport's
        # fake-clock test asserts that no sleep is even scheduled).
        assert code_of(body) == code
        assert document_calls(gateway) == 1


async def test_a_mutation_is_not_retried(gateway: Gateway) -> None:
    gateway.auco.control.inject(r"/document/cancel$", Fault(status=503))
    body = await gateway.execute(
        """mutation Cancel($id: ID!) { cancelSignature(id: $id) {
             __typename ... on UserError { code } } }""",
        {"id": AUCO_DOCUMENT},
    )
    # A mutation's provider failure is its typed result (ProviderFailed), not an
    # error that would null the whole response.
    assert body["data"]["cancelSignature"] == {
        "__typename": "ProviderFailed",
        "code": "PROVIDER_UNAVAILABLE",
    }
    assert gateway.auco.control.calls("POST", r".*/document/cancel") == 1
    assert_nothing_leaks(body)


async def test_connectfi_reads_by_post_are_retried(gateway: Gateway) -> None:
    gateway.connectfi.control.inject(r"^/akepa/list$", Fault(status=503, times=2))
    data = await gateway.data(
        """query L($c: String!) {
             applications(filter: {providers: [CONNECTFI], customerId: $c}, first: 1)
             { edges { node { id } } }
           }""",
        {"c": "cstap_5mBHiIx3QbkvEpjGfKsI9k"},
    )
    assert data["applications"]["edges"]
    assert gateway.connectfi.control.calls("POST", "/akepa/list") == 3
