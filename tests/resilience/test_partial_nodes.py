"""``nodes(ids:)`` over any ids a client sends, with one provider down: the list
is always there, as long as the ids and in their order; an error only ever lands
on an item, and names that item's provider.

Ids cross a trust boundary (their keys reach provider URLs), so they are drawn by
hypothesis: the demo records' ids (connectFi's failing), ids of every type and
provider with arbitrary keys, and arbitrary strings. One gateway serves every
example (in process, over the embedded sandboxes, connectFi answering 500).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.model import Provider
from adapters.sandbox_kit import Fault
from schema import ids
from tests.conftest import Gateway, serve

from .support import assert_nothing_leaks, failure_settings, record_ids

QUERY = "query N($ids: [ID!]!) { nodes(ids: $ids) { id } }"


def id_strategy(demo: dict[Provider, str]) -> st.SearchStrategy[str]:
    made = st.builds(
        ids.encode,
        st.sampled_from(sorted(ids.TYPENAMES)),
        st.sampled_from(list(Provider)),
        # Printable keys: a control character is refused when the id is decoded
        # (each provider's key grammar; its own property tests, tests/security).
        st.text(
            st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40
        ),
    )
    return st.one_of(st.sampled_from(sorted(demo.values())), made, st.text(max_size=60))


def check(body: dict[str, Any], sent: list[str], demo: dict[Provider, str]) -> None:
    assert_nothing_leaks(body)
    nodes = body["data"]["nodes"]
    assert len(nodes) == len(sent)
    errors = body.get("errors", [])
    failed = {}
    for error in errors:
        path = error["path"]
        assert path[0] == "nodes" and len(path) == 2, error
        index = path[1]
        assert index not in failed, "one error per item"
        assert nodes[index] is None
        gid = ids.decode(sent[index])
        assert gid is not None
        assert error["extensions"]["provider"] == gid.provider.name, error
        failed[index] = error
    for index, value in enumerate(sent):
        if value == demo[Provider.CONNECTFI]:
            assert failed[index]["extensions"]["code"] == "PROVIDER_UNAVAILABLE"
        elif value in demo.values():
            assert nodes[index] == {"id": value}  # every healthy record is there


def test_nodes_keeps_every_item_a_failing_provider_does_not_serve() -> None:
    loop = asyncio.new_event_loop()
    running = serve(failure_settings())
    try:
        gateway: Gateway = loop.run_until_complete(running.__aenter__())
        demo = loop.run_until_complete(record_ids(gateway))
        gateway.connectfi.control.inject(".*", Fault(status=500))

        @settings(
            derandomize=True,
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(sent=st.lists(id_strategy(demo), max_size=8))
        def prop(sent: list[str]) -> None:
            body = loop.run_until_complete(gateway.execute(QUERY, {"ids": sent}))
            check(body, sent, demo)

        prop()
        # The examples did reach the failing provider (the demo id, at least).
        assert gateway.connectfi.control.calls() > 0
    finally:
        loop.run_until_complete(running.__aexit__(None, None, None))
        loop.close()
