"""The measured operations: ours run on our schema, each has its Mesh pair."""

from __future__ import annotations

import json

import pytest
from graphql import OperationDefinitionNode, parse, validate

from benchmarks.operations import OPERATIONS, Operation, global_application_id, select
from schema.api import schema

KEYS = [o.key for o in OPERATIONS]


def _operation_names(text: str) -> list[str]:
    return [
        d.name.value
        for d in parse(text).definitions
        if isinstance(d, OperationDefinitionNode) and d.name is not None
    ]


def test_the_five_operations_of_the_issue_are_there_in_order() -> None:
    assert KEYS == ["a", "b", "c", "d", "e"]
    assert [o.fresh for o in OPERATIONS] == [False, False, False, False, True]


@pytest.mark.parametrize("op", OPERATIONS, ids=KEYS)
def test_each_operation_has_its_mesh_query_under_the_same_name(op: Operation) -> None:
    assert op.ours.is_file()
    assert op.mesh.is_file(), f"no Mesh query for {op.key} at {op.mesh}"
    assert _operation_names(op.ours.read_text()) == [op.name]
    assert _operation_names(op.mesh.read_text()) == [op.name]


@pytest.mark.parametrize("op", OPERATIONS, ids=KEYS)
def test_our_side_is_valid_against_our_schema(op: Operation) -> None:
    assert validate(schema._schema, parse(op.ours.read_text())) == []


@pytest.mark.parametrize("op", OPERATIONS, ids=KEYS)
def test_each_gateway_answer_has_an_expected_marker(op: Operation) -> None:
    assert op.expect.get("ours")
    assert op.expect.get("hive")


def test_a_body_is_one_json_line_with_our_global_id_for_ours() -> None:
    detail = select("a")[0]

    ours = json.loads(detail.body("ours"))
    hive = json.loads(detail.body("hive"))

    assert "\n" not in detail.body("ours")
    assert ours["operationName"] == hive["operationName"] == "ApplicationDetail"
    assert ours["variables"]["id"] == global_application_id(hive["variables"]["id"])
    assert ours["variables"]["id"] == (
        "QXBwbGljYXRpb246QVBJVFVSRToyMWVlMzAyZS05NzRkLTRkNDktOWJjNi05ODgyNWE3YzgzMWE"
    )


def test_a_fresh_operation_sends_its_own_application_and_etag() -> None:
    approve = select("e")[0]

    ours = json.loads(approve.body("ours", {"id": "id-1", "ifMatch": '"t1"'}))
    hive = json.loads(approve.body("hive", {"id": "id-1", "ifMatch": '"t1"'}))

    assert hive["variables"] == {"id": "id-1", "ifMatch": '"t1"'}
    assert ours["variables"] == {"id": global_application_id("id-1"), "ifMatch": '"t1"'}
    with pytest.raises(AssertionError):
        approve.body("hive")


def test_select_keeps_the_order_and_refuses_unknown_keys() -> None:
    assert [o.key for o in select("e,a")] == ["a", "e"]
    with pytest.raises(ValueError, match="z"):
        select("az")


async def test_each_round_trip_of_a_critical_path_is_what_our_gateway_sends() -> None:
    """The widths of the critical path are the calls our gateway makes at once."""
    from tests.conftest import serve

    async with serve() as gateway:
        for sandbox in gateway.sandboxes.values():
            sandbox.control.latency = 0.01  # calls made at once overlap
        for op in OPERATIONS:
            if op.fresh:
                continue
            await gateway.data(op.query("ours"), op.variables)  # warm: logins
            gateway.forget_requests()
            await gateway.data(op.query("ours"), op.variables)
            calls = sorted(
                (c.started, c.ended)
                for s in gateway.sandboxes.values()
                for c in s.control.requests
            )
            # Round trips: calls that start once all earlier ones have ended.
            widths: list[int] = []
            ended = 0.0
            for started, end in calls:
                if widths and started < ended:
                    widths[-1] += 1
                else:
                    widths.append(1)
                ended = max(ended, end)
            assert len(widths) <= len(op.critical_path), (op.key, widths)
            assert max(widths, default=0) <= max(op.critical_path), (op.key, widths)
