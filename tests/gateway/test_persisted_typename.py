"""The allowlist and the __typename that Apollo Client 4 and urql add.

Both clients add a plain ``__typename`` to every selection set but the root (Apollo
Client 4 no longer lets you turn it off); the manifest holds the operations as
written. The allowlist ignores plain ``__typename`` on both sides, and nothing else.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from graphql import (
    FieldNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.operations import load_operations
from gateway.persisted import Manifest, Mode, PersistedQueries, PersistedQueryError
from gateway.settings import Settings
from tests.conftest import serve

OPERATIONS = load_operations()
MANIFEST = Manifest.from_operations(OPERATIONS)


def field(name: str, alias: str | None = None) -> FieldNode:
    return FieldNode(
        name=NameNode(value=name),
        alias=NameNode(value=alias) if alias else None,
        arguments=(),
        directives=(),
    )


def with_fields(text: str, added: list[FieldNode], where: list[bool]) -> str:
    """``text`` with ``added[i]`` appended to the i-th nested selection set where
    ``where[i]``: what a client's document transform does."""
    count = 0

    class Add(Visitor):
        def leave_selection_set(
            self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any
        ) -> SelectionSetNode | None:
            nonlocal count
            if isinstance(parent, OperationDefinitionNode):
                return None  # the root: clients add nothing there
            index = count
            count += 1
            if index >= len(where) or not where[index]:
                return None
            return SelectionSetNode(
                selections=(*node.selections, added[index % len(added)])
            )

    return print_ast(visit(parse(text), Add()))


def as_apollo_sends(text: str) -> str:
    """A plain __typename in every nested selection set that lacks one."""
    return with_fields(text, [field("__typename")], [True] * 1000)


def test_every_operation_as_apollo_sends_it_is_allowed() -> None:
    for operation in OPERATIONS:
        sent = as_apollo_sends(operation.text)
        assert sent.count("__typename") > operation.body.count("__typename")
        assert sent in MANIFEST, operation.name


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    index=st.integers(0, len(OPERATIONS) - 1),
    where=st.lists(st.booleans(), min_size=1, max_size=30),
)
def test_plain_typenames_anywhere_are_no_difference(
    index: int, where: list[bool]
) -> None:
    text = OPERATIONS[index].text
    assert with_fields(text, [field("__typename")], where) in MANIFEST


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    index=st.integers(0, len(OPERATIONS) - 1),
    where=st.lists(st.booleans(), min_size=1, max_size=30).filter(any),
    added=st.sampled_from(
        [
            field("__typename", alias="t"),  # an alias is a difference
            field("id"),
            field("name"),
            field("version"),
            field("documents"),
        ]
    ),
)
def test_any_other_added_field_is_refused(
    index: int, where: list[bool], added: FieldNode
) -> None:
    text = OPERATIONS[index].text
    changed = with_fields(text, [added], where)
    if changed == print_ast(parse(text)):
        return  # no selection set at the chosen places
    assert changed not in MANIFEST


def test_a_typename_with_a_directive_is_a_difference() -> None:
    providers = next(o for o in OPERATIONS if o.name == "Providers")
    sent = providers.body.replace("name", "name __typename @include(if: true)", 1)
    assert sent != providers.body
    assert sent not in MANIFEST


def test_an_allowed_text_is_registered_under_the_clients_hash() -> None:
    persisted = PersistedQueries(Mode.ALLOWLIST, MANIFEST)
    sent = as_apollo_sends(OPERATIONS[0].text)
    digest = hashlib.sha256(sent.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    with pytest.raises(PersistedQueryError) as missed:
        persisted.resolve(None, extensions)
    assert missed.value.code == "PERSISTED_QUERY_NOT_FOUND"
    assert persisted.resolve(sent, extensions) == sent
    assert persisted.resolve(None, extensions) == sent  # the hash alone now
    # A refused text is never registered.
    other = "query Other { providers { name } }"
    other_digest = hashlib.sha256(other.encode()).hexdigest()
    other_extensions = {"persistedQuery": {"version": 1, "sha256Hash": other_digest}}
    with pytest.raises(PersistedQueryError) as refused:
        persisted.resolve(other, other_extensions)
    assert refused.value.code == "FORBIDDEN"
    with pytest.raises(PersistedQueryError) as still:
        persisted.resolve(None, other_extensions)
    assert still.value.code == "PERSISTED_QUERY_NOT_FOUND"


async def test_list_applications_as_apollo_sends_it_runs_in_allowlist_mode() -> None:
    listed = next(o for o in OPERATIONS if o.name == "ListApplications")
    sent = as_apollo_sends(listed.text)
    async with serve(Settings(persisted_queries="allowlist")) as gateway:
        answer = await gateway.client.post(
            "/graphql", json={"query": sent, "variables": {"first": 2}}
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()["data"]["applications"]
        assert page["__typename"] == "ApplicationConnection"
        assert len(page["edges"]) == 2
        aliased = sent.replace("__typename", "t: __typename", 1)
        refused = await gateway.client.post(
            "/graphql", json={"query": aliased, "variables": {"first": 2}}
        )
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
