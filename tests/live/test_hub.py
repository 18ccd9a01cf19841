"""The hub's limit per caller and its memory of the state before a change."""

from __future__ import annotations

import tracemalloc
import uuid
from collections import OrderedDict

import pytest
import websockets
from graphql import GraphQLError
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.model import Provider
from caching import bounds
from gateway.settings import Settings
from schema.context import Caller
from schema.live.bus import InProcessBus
from schema.live.events import Change
from schema.live.hub import Live
from tests.live.support import serving


def change(state: str, cause: str = "mutation:approveApplication") -> Change:
    return Change(
        kind="Application",
        provider=Provider.APITURE,
        key="app-1",
        state=state,
        previous_state=None,
        cause=cause,
        event_id=cause + state,
    )


def test_a_caller_holds_at_most_its_limit_of_subscriptions() -> None:
    live = Live(InProcessBus(), max_per_caller=2)
    ana, luis = Caller(subject="ana"), Caller(subject="luis")
    with live.slot(ana), live.slot(ana):
        with pytest.raises(GraphQLError) as refused, live.slot(ana):
            pass
        assert refused.value.extensions == {"code": "TOO_MANY_SUBSCRIPTIONS"}
        with live.slot(luis):  # another caller's count is their own
            assert live.subscriptions(luis) == 1
    assert live.subscriptions(ana) == 0
    with live.slot(ana):  # released: room again
        pass


async def test_a_published_change_carries_the_state_seen_before() -> None:
    bus = InProcessBus()
    live = Live(bus)
    listener = bus.listen()
    await live.publish(change("RUNNING", "poll"))
    await live.publish(change("APPROVED"))
    listener.close()
    got = [(c.state, c.previous_state) async for c in listener]
    assert got == [("RUNNING", None), ("APPROVED", "RUNNING")]


async def test_a_page_on_another_origin_cannot_open_a_websocket() -> None:
    async with serving(Settings()) as served:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(
                served.ws_url,
                origin=websockets.Origin("https://evil.example"),
                subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            ):
                pass
        assert refused.value.response.status_code == 403
        async with websockets.connect(  # a localhost page in development: allowed
            served.ws_url,
            origin=websockets.Origin("http://localhost:5173"),
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        ) as connection:
            assert connection.subprotocol == "graphql-transport-ws"


def approval(key: str, state: str | None = "APPROVED", n: int = 0) -> Change:
    return Change(
        kind="Application",
        provider=Provider.APITURE,
        key=key,
        state=state,
        previous_state=None,
        cause="mutation:approveApplication",
        event_id=f"{key}:{n}",
    )


def test_the_states_remembered_stay_within_their_bound_in_bytes() -> None:
    """4 x as many distinct records as the bound holds: the count stops at the
    bound, and what the hub holds, counted by tracemalloc after every change
    (keys made as a request makes them), never exceeds the bound in bytes."""
    live = Live(InProcessBus())
    most = bounds.LIVE_STATES_MAX_BYTES // bounds.LIVE_STATE_BYTES
    full = highest = 0
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for n in range(4 * most):
            live.remember(approval(str(uuid.UUID(int=n))))
            held = tracemalloc.get_traced_memory()[0] - start
            highest = max(highest, held)
            if n == most - 1:
                full = held
    finally:
        tracemalloc.stop()
    assert live.remembered() == most == 1310
    assert 0 < full <= most * bounds.LIVE_STATE_BYTES
    assert full <= highest <= bounds.LIVE_STATES_MAX_BYTES
    # The latest records are the ones remembered; the first are forgotten.
    last, first = str(uuid.UUID(int=4 * most - 1)), str(uuid.UUID(int=0))
    assert live.remember(approval(last, "FUNDED")).previous_state == "APPROVED"
    assert live.remember(approval(first, "FUNDED")).previous_state is None


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]),
            st.sampled_from(["RUNNING", "APPROVED", "DECLINED", None]),
        ),
        max_size=60,
    )
)
def test_a_change_carries_the_last_state_of_the_records_changed_last(
    changes: list[tuple[str, str | None]],
) -> None:
    """The hub against a model: a record's previous state is its last known one
    while it is among the ``bound`` records changed last (a None state: unknown,
    the record forgotten)."""
    bound = 4
    live = Live(InProcessBus(), remembered_bytes=bound * bounds.LIVE_STATE_BYTES)
    model: OrderedDict[str, str] = OrderedDict()
    for n, (key, state) in enumerate(changes):
        got = live.remember(approval(key, state, n))
        assert got.previous_state == model.get(key)
        assert got.state == state
        model.pop(key, None)
        if state is not None:
            model[key] = state
            while len(model) > bound:
                model.popitem(last=False)
        assert live.remembered() == len(model)
