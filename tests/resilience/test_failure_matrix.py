"""Provider x fault, through GraphQL: what the client receives and what it cost.

Each cell reads one record of the faulted provider and, beside it, one record of
another provider. It asserts the error's code and provider, that only the faulted
provider's field is null while the other still comes back, how many upstream calls
the faulted route received (retries included), and that the response quotes no
credential, upstream URL or upstream body.

Settings: 3 attempts, 1 to 5 ms backoffs, 0.2 s per attempt. Retried: 503, 429, hangs
and resets of reads (connectFi's reads are POSTs marked safe). Not retried: 500
(not transient, see adapters/transport/resilience.py) and a malformed 200.
"""

from __future__ import annotations

import pytest

from adapters.model import Provider
from tests.conftest import Gateway

from .support import (
    FAULTS,
    MATRIX,
    TARGETS,
    assert_nothing_leaks,
    record_ids,
)

EXPECTED = {  # fault → (extensions.code, calls to the faulted route)
    "500": ("PROVIDER_UNAVAILABLE", 1),
    "503 + Retry-After": ("PROVIDER_UNAVAILABLE", 3),
    "timeout (hang)": ("PROVIDER_TIMEOUT", 3),
    "malformed body": ("PROVIDER_ERROR", 1),
    "connection reset": ("PROVIDER_UNAVAILABLE", 3),
    "429 + Retry-After": ("RATE_LIMITED", 3),
}

SELECTION = {"application": "id state providerState", "document": "id name status"}


def cell_query(provider: Provider) -> tuple[str, Provider]:
    """The query for a cell, and the healthy provider it also reads."""
    target = TARGETS[provider]
    other = Provider.AUCO if provider is Provider.APITURE else Provider.APITURE
    other_field = TARGETS[other].field
    query = f"""
        query Cell($id: ID!, $other: ID!) {{
          faulted: {target.field}(id: $id) {{ {SELECTION[target.field]} }}
          healthy: {other_field}(id: $other) {{ {SELECTION[other_field]} }}
        }}
    """
    return query, other


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("provider", list(TARGETS), ids=lambda p: p.name)
async def test_a_failing_provider_nulls_only_its_field(
    gateway: Gateway, provider: Provider, fault: str
) -> None:
    found = await record_ids(gateway)
    query, other = cell_query(provider)
    target = TARGETS[provider]
    sandbox = gateway.sandboxes[provider]
    sandbox.control.inject(target.route, FAULTS[fault], method=target.method)

    body = await gateway.execute(query, {"id": found[provider], "other": found[other]})

    code, calls = EXPECTED[fault]
    [error] = body["errors"]
    assert error["path"] == ["faulted"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["provider"] == provider.name
    assert body["data"]["faulted"] is None
    assert body["data"]["healthy"]["id"] == found[other]
    routed = sandbox.control.calls(method=target.method, path=f".*{target.route}")
    assert routed == calls
    assert_nothing_leaks(body)
    null = f"{target.field} ({provider.name})"
    kept = f"{TARGETS[other].field} ({other.name})"
    MATRIX.append((provider.name, fault, code, null, kept, routed))
