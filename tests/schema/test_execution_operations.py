"""Every operation in ``operations/`` answers byte for byte as stock execution does.

Each operation (with its ``.variables.json``) is sent, as staff and as an
applicant, to two gateways over fresh sandboxes: the gateway as it is
(``GatewayExecutionContext``) and the same gateway built with Strawberry's stock
execution context. Both run the same mutation on the same starting state, so
the whole HTTP answers (status and body bytes: data and errors) must be equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeNode,
    parse,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import schema.api
from engine.context import GatewayExecutionContext
from gateway import upstreams
from tests.conftest import Gateway, serve
from tests.engine.renders import count_renders
from tests.schema.multipart import File, pdf, post
from tests.security.tokens import applicant, secured_settings, staff

OPERATIONS_DIR = Path(__file__).resolve().parents[2] / "operations"
OPERATIONS = sorted(OPERATIONS_DIR.rglob("*.graphql"))
OPERATIONS = [p for p in OPERATIONS if "\nsubscription " not in p.read_text()]
ROLES = ("staff", "applicant")
# The record of the operations' variables: the applicant's own application.
APPLICATION = "21ee302e-974d-4d49-9bc6-98825a7c831a"
SIGNED = File("agreement.pdf", "application/pdf", pdf(4096))


@dataclass(frozen=True)
class Operation:
    name: str
    query: str
    variables: dict[str, Any]
    uploads: tuple[str, ...]  # the variables of type Upload


class _Clock:
    """``time.perf_counter`` standing still: a probe's latency is 0 on both
    sides, however the four probes interleave."""

    @staticmethod
    def perf_counter() -> float:
        return 1.0


def _named(type_: TypeNode) -> str:
    while isinstance(type_, NonNullTypeNode | ListTypeNode):
        type_ = type_.type
    assert isinstance(type_, NamedTypeNode)
    return type_.name.value


def _load(path: Path) -> Operation:
    query = path.read_text()
    variables_file = path.with_suffix(".variables.json")
    variables = (
        json.loads(variables_file.read_text()) if variables_file.exists() else {}
    )
    (definition,) = (
        d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)
    )
    uploads = tuple(
        v.variable.name.value
        for v in definition.variable_definitions or ()
        if _named(v.type) == "Upload"
    )
    name = str(path.relative_to(OPERATIONS_DIR).with_suffix(""))
    return Operation(name, query, variables, uploads)


def _contact(gateway: Gateway) -> str:
    app = gateway.apiture.store.application(APPLICATION)
    return str(app["applicants"][0]["contact"]["_links"]["self"]["href"])


def _headers(role: str, gateway: Gateway) -> dict[str, str]:
    if role == "staff":
        return staff()
    # The owner of the records the variables name (Apiture application, connectFi
    # customer, Mambu client, Auco signer): answers hold data and refusals.
    return applicant(
        apiture_contact=_contact(gateway),
        connectfi_customer_id="cstap_demo0001",
        mambu_client_key="1",
        email="priya.patel@example.com",
    )


async def _answer(
    operation: Operation, role: str, stock: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, bytes]:
    with monkeypatch.context() as patched:
        # A probe's latency is measured: the same on both sides instead.
        patched.setattr(upstreams, "time", _Clock())
        if stock:  # the app's schema built with Strawberry's own execution
            patched.setattr(
                schema.api,
                "GatewayExecutionContext",
                StrawberryGraphQLCoreExecutionContext,
            )
        async with serve(secured_settings()) as gateway:
            headers = _headers(role, gateway)
            if operation.uploads:
                files = dict.fromkeys(operation.uploads, SIGNED)
                response = await post(
                    gateway.client,
                    operation.query,
                    operation.variables,
                    files,
                    headers,
                )
            else:
                response = await gateway.client.post(
                    "/graphql",
                    json={"query": operation.query, "variables": operation.variables},
                    headers=headers,
                )
            return response.status_code, response.content


@pytest.fixture
def plans_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The type of every object the fast path read fields of."""
    seen: list[str] = []
    # nothing kept from before
    count_renders(monkeypatch, lambda steps, source: seen.append(type(source).__name__))
    return seen


def test_every_operation_is_compared() -> None:
    operations = [_load(path) for path in OPERATIONS]
    assert len(operations) >= 15
    assert {"applications/ListApplications", "documents/UploadDocument"} <= {
        o.name for o in operations
    }
    # An operation that takes variables has them.
    for path, operation in zip(OPERATIONS, operations, strict=True):
        if "$" in operation.query.split("{", 1)[0]:
            assert path.with_suffix(".variables.json").exists(), operation.name


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "path", OPERATIONS, ids=[str(p.relative_to(OPERATIONS_DIR)) for p in OPERATIONS]
)
async def test_fast_and_stock_execution_answer_alike(
    path: Path, role: str, monkeypatch: pytest.MonkeyPatch, plans_run: list[str]
) -> None:
    operation = _load(path)
    fast = await _answer(operation, role, False, monkeypatch)
    read_fast = len(plans_run)
    plans_run.clear()
    stock = await _answer(operation, role, True, monkeypatch)
    assert plans_run == []  # the stock side never took the fast path
    assert fast == stock
    assert fast[0] == 200
    body = json.loads(fast[1])
    assert body.get("data") is not None, body  # executed, not refused whole
    if operation.name.startswith(("applications/List", "enrollments/List")):
        # The page's plain fields were read by the fast path, not by resolvers.
        assert read_fast >= (20 if role == "staff" else 1)


def test_the_stock_side_is_stock() -> None:
    # What the comparison swaps out is what the gateway schema uses.
    assert schema.api.build_schema().execution_context_class is (
        GatewayExecutionContext
    )
