"""The contract check, installed for the whole test suite (``tests/conftest.py``).

Every call any test makes to a sandbox (through the gateway, an adapter client, or
directly) is checked against the provider's contract as it finishes
(:mod:`tests.contracts.validator`). A test fails when, during it:

- a sandbox answered outside its contract (an injected fault's answer excepted);
- a sandbox accepted (answered below 400) a request outside its contract;
- a request outside the contract was sent at all, unless the test says it sends
  invalid requests on purpose: ``@pytest.mark.sends_invalid_requests`` (the
  sandbox must still refuse them, in a documented answer).

The session summary prints, per provider, the requests and answers validated.
Apiture's traffic is checked as soon as ``contracts/apiture.yaml`` exists.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import pytest

from adapters import sandbox_kit
from adapters.sandbox_kit import Exchange
from tests.contracts.validator import Contracts, Tally, load_contracts

MARKER = "sends_invalid_requests"


@dataclass
class Violation:
    provider: str
    call: str
    what: str
    details: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.provider} {self.call}: {self.what}: " + " | ".join(self.details)


@dataclass
class ContractCheck:
    """The observer the sandboxes report to, and what it found."""

    contracts: Contracts
    tally: Tally = field(default_factory=Tally)
    allow_refused_invalid: bool = False
    found: list[Violation] = field(default_factory=list)

    def __call__(self, exchange: Exchange) -> None:
        outcome = self.contracts.check(exchange)
        if outcome is None:
            return
        provider = exchange.provider or "?"
        tally = self.tally
        if outcome.kind == "probe":
            tally.probes[provider] += 1
            return
        if outcome.kind == "passthrough":
            tally.passthrough[provider] += 1
            return
        tally.requests[provider] += 1
        tally.answers[provider] += outcome.response_checked
        call = f"{exchange.method} {exchange.path} → {exchange.status}"
        answer, request = outcome.response_errors, outcome.request_errors
        if answer:
            self._add(provider, call, "answer outside the contract", answer)
        if request:
            if exchange.status < 400:
                self._add(provider, call, "invalid request accepted", request)
            elif self.allow_refused_invalid:
                tally.refused_invalid[provider] += 1
            else:
                self._add(provider, call, "request outside the contract", request)

    def _add(
        self, provider: str, call: str, what: str, errors: tuple[str, ...]
    ) -> None:
        self.found.append(Violation(provider, call, what, errors))
        self.tally.violations[provider] += 1

    def take(self) -> list[Violation]:
        found, self.found = self.found, []
        return found


_KEY = pytest.StashKey[ContractCheck]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: the test sends requests outside a provider's contract on purpose; "
        "the sandbox must refuse them (answers are still checked)",
    )
    check = ContractCheck(load_contracts())
    config.stash[_KEY] = check
    sandbox_kit.OBSERVERS.append(check)


def pytest_unconfigure(config: pytest.Config) -> None:
    check = config.stash.get(_KEY, None)
    if check is not None and check in sandbox_kit.OBSERVERS:
        sandbox_kit.OBSERVERS.remove(check)


def contract_check(config: pytest.Config) -> ContractCheck:
    return config.stash[_KEY]


def _fail_on_violations(check: ContractCheck) -> None:
    found = check.take()
    if found:
        lines = "\n".join(f"  - {v}" for v in found[:20])
        more = f"\n  … and {len(found) - 20} more" if len(found) > 20 else ""
        raise AssertionError(
            f"{len(found)} provider contract violation(s):\n{lines}{more}"
        )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    check = item.config.stash[_KEY]
    check.take()  # whatever happened between tests is nobody's
    check.allow_refused_invalid = item.get_closest_marker(MARKER) is not None
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    _fail_on_violations(item.config.stash[_KEY])
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, None, None]:
    result = yield
    check = item.config.stash[_KEY]
    try:
        _fail_on_violations(check)
    finally:
        check.allow_refused_invalid = False
    return result


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    check = terminalreporter.config.stash.get(_KEY, None)
    if check is None:
        return
    tally = check.tally
    terminalreporter.section("provider contracts")
    names = sorted(check.contracts.by_provider)
    terminalreporter.write_line(f"contracts: {', '.join(names) or 'none'}")
    for provider in names:
        terminalreporter.write_line(
            f"{provider}: {tally.requests[provider]} requests validated, "
            f"{tally.answers[provider]} answers validated, "
            f"{tally.violations[provider]} violations; "
            f"{tally.refused_invalid[provider]} deliberate invalid requests refused, "
            f"{tally.probes[provider]} probes, "
            f"{tally.passthrough[provider]} signed-URL calls not checked"
        )
