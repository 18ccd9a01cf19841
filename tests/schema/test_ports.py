"""The schema over in-memory providers (tests/schema/fakes.py): what it asks of
each port, what it answers from what the port gives, and what a failing port costs.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.errors import ProviderUnavailable
from adapters.model import Action, Application, Provider, State
from schema import ids
from schema.api import schema
from schema.context import Context
from schema.loaders import create_loaders
from tests.schema.fakes import FakeUpstreams

PROPERTY = settings(derandomize=True, max_examples=60, database=None, deadline=None)
READ = "query($id: ID!) { application(id: $id) { id name state version } }"
BOTH = """query($a: ID!, $c: ID!) {
  a: application(id: $a) { name }
  c: application(id: $c) { name }
}"""
APPROVE = """mutation($id: ID!, $v: String) {
  approveApplication(id: $id, ifMatch: $v) {
    __typename
    ... on Application { state version }
  }
}"""


def _application(provider: Provider, key: str, **extra: Any) -> Application:
    return Application(
        provider,
        key,
        key,
        State.RUNNING,
        "running",
        name=f"named {key}",
        version="1",
        fields=frozenset({"name", "state", "version"}),
        **extra,
    )


async def _run(
    upstreams: FakeUpstreams, query: str, **variables: Any
) -> tuple[Any, list[str]]:
    context = Context(upstreams=upstreams, loaders=create_loaders(upstreams))
    result = await schema.execute(
        query, variable_values=variables, context_value=context
    )
    return result.data, [e.message for e in result.errors or ()]


def _gid(provider: Provider, key: str) -> str:
    return ids.encode("Application", provider, key)


async def test_an_application_is_read_once_through_its_port() -> None:
    upstreams = FakeUpstreams()
    upstreams.apiture.applications["a-1"] = _application(Provider.APITURE, "a-1")
    data, errors = await _run(upstreams, READ, id=_gid(Provider.APITURE, "a-1"))
    assert errors == []
    assert data == {
        "application": {
            "id": _gid(Provider.APITURE, "a-1"),
            "name": "named a-1",
            "state": "RUNNING",
            "version": "1",
        }
    }
    assert upstreams.apiture.calls == [("get_applications", ("a-1",))]
    assert upstreams.connectfi.calls == []


async def test_an_action_reaches_the_port_with_its_version() -> None:
    upstreams = FakeUpstreams()
    upstreams.apiture.applications["a-1"] = _application(
        Provider.APITURE, "a-1", available_actions=frozenset({Action.APPROVE})
    )
    data, errors = await _run(
        upstreams, APPROVE, id=_gid(Provider.APITURE, "a-1"), v="1"
    )
    assert errors == []
    assert data == {
        "approveApplication": {
            "__typename": "Application",
            "state": "APPROVED",
            "version": "2",
        }
    }
    assert ("act_on_application", "a-1", Action.APPROVE, "1") in (
        upstreams.apiture.calls
    )
    assert upstreams.apiture.applications["a-1"].state is State.APPROVED


async def test_a_refused_action_is_its_result_and_changes_nothing() -> None:
    upstreams = FakeUpstreams()
    upstreams.apiture.applications["a-1"] = _application(Provider.APITURE, "a-1")
    data, errors = await _run(upstreams, APPROVE, id=_gid(Provider.APITURE, "a-1"))
    assert errors == []
    assert data == {"approveApplication": {"__typename": "InvalidStateTransition"}}
    assert upstreams.apiture.applications["a-1"].version == "1"


async def test_a_failing_port_costs_only_its_own_field() -> None:
    upstreams = FakeUpstreams()
    upstreams.apiture.applications["a-1"] = _application(Provider.APITURE, "a-1")
    upstreams.connectfi.failure = ProviderUnavailable(
        "down", provider=Provider.CONNECTFI
    )
    data, errors = await _run(
        upstreams,
        BOTH,
        a=_gid(Provider.APITURE, "a-1"),
        c=_gid(Provider.CONNECTFI, "cust1:app1"),
    )
    assert data == {"a": {"name": "named a-1"}, "c": None}
    assert len(errors) == 1
    assert upstreams.connectfi.calls == [("get_applications", ("cust1:app1",))]


@PROPERTY
@given(st.text(max_size=80))
async def test_any_id_reaches_a_port_only_as_the_key_it_encodes(value: str) -> None:
    upstreams = FakeUpstreams()
    data, errors = await _run(upstreams, READ, id=value)
    assert data == {"application": None}
    assert errors == []
    gid = ids.decode(value)
    asked = upstreams.apiture.calls + upstreams.connectfi.calls
    if gid is None or gid.typename != "Application":
        assert asked == []
    else:
        assert asked == [("get_applications", (gid.key,))]


@PROPERTY
@given(st.from_regex(r"[A-Za-z0-9_-]{1,128}", fullmatch=True))
async def test_every_apiture_key_comes_back_as_itself(key: str) -> None:
    upstreams = FakeUpstreams()
    upstreams.apiture.applications[key] = _application(Provider.APITURE, key)
    data, _ = await _run(upstreams, READ, id=_gid(Provider.APITURE, key))
    assert data["application"]["id"] == _gid(Provider.APITURE, key)
    assert upstreams.apiture.calls == [("get_applications", (key,))]
