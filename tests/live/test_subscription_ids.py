"""Property: whatever id a caller subscribes with, a record that is not theirs (or
not one at all) is NOT_FOUND, leaves nothing listening, and an id that is not
one of ours reaches no provider."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.model import Provider
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes, create_upstreams
from schema import ids
from schema.api import build_schema
from schema.context import Caller
from schema.live.bus import InProcessBus
from schema.live.hub import Live, LiveContext
from schema.loaders import create_loaders

SCHEMA = build_schema()
QUERY = "subscription($id: ID) { documentUpdated(id: $id) { cause } }"
ANA = Caller(
    subject="ana", roles=frozenset({"applicant"}), email="ana.garcia@example.com"
)
# Real records, none of them Ana's, beside arbitrary text.
OTHERS = [
    ids.encode("Document", Provider.AUCO, "DEMOSEQ002"),
    ids.encode("Document", Provider.AUCO, "NOSUCH0001"),
    ids.encode("Application", Provider.AUCO, "DEMOWAIT01"),  # Ana's, not a Document
]


# Shared by the examples (in-process sandboxes: no sockets bound to one loop).
SANDBOXES = create_sandboxes(Settings())
UPSTREAMS = create_upstreams(Settings(), SANDBOXES)


async def subscribe(raw: str) -> tuple[Any, int, int]:
    upstreams, sandboxes = UPSTREAMS, SANDBOXES
    for sandbox in sandboxes.values():
        sandbox.control.requests.clear()
    bus = InProcessBus()
    context = LiveContext(
        upstreams=upstreams,
        loaders=create_loaders(upstreams),
        caller=ANA,
        live=Live(bus),
    )
    stream = await SCHEMA.subscribe(QUERY, {"id": raw}, context_value=context)
    first = await anext(aiter(stream))  # type: ignore[arg-type]
    calls = sum(len(s.control.requests) for s in sandboxes.values())
    return first, bus.listeners, calls


@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.one_of(st.text(max_size=60), st.sampled_from(OTHERS)))
def test_an_id_not_the_callers_is_not_found_and_nothing_listens(raw: str) -> None:
    first, listeners, calls = asyncio.run(subscribe(raw))
    assert first.data is None
    assert [e.extensions["code"] for e in first.errors] == ["NOT_FOUND"]
    assert listeners == 0
    if ids.decode(raw) is None:
        assert calls == 0
