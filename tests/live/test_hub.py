"""The hub's limit per caller and its memory of the state before a change."""

from __future__ import annotations

import pytest
import websockets
from graphql import GraphQLError

from adapters.model import Provider
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
