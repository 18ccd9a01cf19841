"""Requests built to hurt: deep JSON, schema probing by typo, file-part floods.

Each is answered with a 4xx and a GraphQL error before anything reaches a
resolver, never a 500, and production answers no "Did you mean".
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gateway.graphql_input import MAX_JSON_DEPTH, json_depth
from gateway.settings import Settings
from schema.api import build_schema
from tests.conftest import Gateway, serve
from tests.schema.multipart import BOUNDARY, PREFLIGHT, File, build, pdf

# -- deep JSON ---------------------------------------------------------------------

DEPTH = 100_000
NESTED = "[" * DEPTH + "]" * DEPTH  # 200 kB, the body


@pytest.fixture
async def roomy() -> AsyncIterator[Gateway]:
    """Body limits out of the way, so the nesting itself is what is refused."""
    async with serve(Settings(max_request_bytes=1_000_000)) as gateway:
        yield gateway


def _refused_as_too_deep(response: Any) -> None:
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert "nested deeper" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_deeply_nested_json_body_is_a_400(roomy: Gateway) -> None:
    for body in (
        NESTED,
        '{"query": "{ providers { name } }", "variables": {"a": ' + NESTED + "}}",
    ):
        response = await roomy.client.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )
        _refused_as_too_deep(response)
    assert roomy.upstream_calls() == 0


@pytest.mark.parametrize("parameter", ["variables", "extensions"])
async def test_deeply_nested_get_parameters_are_a_400(
    roomy: Gateway, parameter: str
) -> None:
    deep = "[" * 5000 + "]" * 5000
    params = {"query": "{ providers { name } }", parameter: '{"a": ' + deep + "}"}
    response = await roomy.client.get(
        "/graphql", params=params, headers={"GraphQL-Preflight": "1"}
    )
    _refused_as_too_deep(response)


def _multipart(fields: dict[str, str], files: dict[str, bytes]) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        f"{value}\r\n".encode()
        for name, value in fields.items()
    ]
    parts += [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{name}.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        + content
        + b"\r\n"
        for name, content in files.items()
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


MULTIPART = {
    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    **PREFLIGHT,
}
UPLOAD = (
    "mutation U($file: Upload!) { uploadDocument(file: $file, input: "
    '{owner: {kind: MAMBU_CLIENT, id: "cstap_demo0001"}}) { __typename } }'
)


@pytest.mark.parametrize("field", ["operations", "map"])
async def test_deeply_nested_multipart_fields_are_a_400(
    roomy: Gateway, field: str
) -> None:
    deep = "[" * 100_000 + "]" * 100_000  # 200 kB, under the 1 MiB part limit
    fields = {
        "operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
        "map": json.dumps({"0": ["variables.file"]}),
    }
    fields[field] = '{"a": ' + deep + "}"
    body = _multipart(fields, {"0": pdf(500)})
    response = await roomy.client.post("/graphql", content=body, headers=MULTIPART)
    _refused_as_too_deep(response)
    assert roomy.upstream_calls() == 0


def test_a_deeply_nested_websocket_message_is_refused_as_not_json() -> None:
    from starlette.testclient import TestClient

    from gateway.app import create_app

    deep = "[" * 5000 + "]" * 5000
    with (
        TestClient(create_app(Settings())) as client,
        client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"]
        ) as socket,
    ):
        socket.send_text('{"type": "connection_init", "payload": {"a": ' + deep + "}}")
        closed = socket.receive()
    assert closed["type"] == "websocket.close"
    assert closed["code"] == 4400  # graphql-transport-ws: not JSON


async def test_a_deeply_nested_cursor_is_a_bad_cursor(roomy: Gateway) -> None:
    raw = '{"APITURE": ' + "[" * 50_000 + "]" * 50_000 + "}"
    cursor = base64.urlsafe_b64encode(raw.encode()).decode()
    body = await roomy.execute(
        "query($a: String) { applications(after: $a) { totalCount } }", {"a": cursor}
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not a cursor" in error["message"]


async def test_json_nested_to_the_limit_still_parses(roomy: Gateway) -> None:
    # An unknown extension nested to just under the limit (the request object
    # and ``extensions`` are two levels) is read and ignored.
    inner: Any = {}
    for _ in range(MAX_JSON_DEPTH - 3):
        inner = {"k": inner}
    response = await roomy.client.post(
        "/graphql",
        json={"query": "{ providers { name } }", "extensions": {"x": inner}},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]["providers"]) == 4


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=3),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=2), children, max_size=3)
        ),
        max_leaves=30,
    )
)
def test_json_depth_counts_nested_containers(value: Any) -> None:
    def depth(v: Any) -> int:  # the obvious recursive definition
        if isinstance(v, dict):
            return 1 + max(map(depth, v.values()), default=0)
        if isinstance(v, list):
            return 1 + max(map(depth, v), default=0)
        return 0

    assert json_depth(value) == depth(value)


# -- no suggestions in production -------------------------------------------------


async def test_production_answers_no_did_you_mean() -> None:
    production = Settings(environment="production")
    typos = [
        "{ providerz { name } }",
        "{ applications(firts: 1) { totalCount } }",
        "query($f: ApplicationFilte) { providers { name } }",
        "{ applications(filter: {states: [RUNNNG]}) { totalCount } }",
        '{ applications(filter: {serch: "x"}) { totalCount } }',
    ]
    variable = "query($s: [ApplicationState!]) { applications(filter: {states: $s}) { totalCount } }"  # noqa: E501
    async with serve(production) as gateway:
        for query in typos:
            body = await gateway.execute(query)
            assert body["errors"], query
            assert "did you mean" not in json.dumps(body).lower(), body
        body = await gateway.execute(variable, {"s": ["RUNNNG"]})
        assert "RUNNNG" in body["errors"][0]["message"]
        assert "did you mean" not in json.dumps(body).lower(), body
    async with serve(Settings(environment="development")) as gateway:
        body = await gateway.execute(typos[0])
        assert "Did you mean 'providers'?" in body["errors"][0]["message"]


QUIET = build_schema(introspection=False)
_TYPES = QUIET._schema.type_map
OBJECT_FIELDS = sorted(
    {
        name
        for t in _TYPES.values()
        if isinstance(t, GraphQLObjectType) and not t.name.startswith("__")
        for name in t.fields
    }
)
QUERY_FIELDS = sorted(QUIET._schema.query_type.fields)  # type: ignore[union-attr]
ARGUMENTS = sorted(
    {a for f in QUIET._schema.query_type.fields.values() for a in f.args}  # type: ignore[union-attr]
)
INPUT_TYPES = sorted(
    n
    for n, t in _TYPES.items()
    if isinstance(t, GraphQLInputObjectType | GraphQLEnumType)
    and not n.startswith("__")
)
STATES = sorted(_TYPES["ApplicationState"].values)  # type: ignore[attr-defined]
FILTER_FIELDS = sorted(_TYPES["ApplicationFilter"].fields)  # type: ignore[attr-defined]
KNOWN = frozenset(
    [*OBJECT_FIELDS, *ARGUMENTS, *INPUT_TYPES, *STATES, *FILTER_FIELDS, *_TYPES]
)
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@st.composite
def typo(draw: st.DrawFn, names: list[str]) -> str:
    """One name of ``names`` with one letter dropped, doubled, swapped or changed."""
    name = draw(st.sampled_from(names))
    i = draw(st.integers(0, len(name) - 1))
    kind = draw(st.sampled_from(["drop", "double", "swap", "change"]))
    if kind == "drop" and len(name) > 1:
        wrong = name[:i] + name[i + 1 :]
    elif kind == "swap" and i + 1 < len(name):
        wrong = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    elif kind == "change":
        wrong = name[:i] + draw(st.sampled_from(LETTERS)) + name[i + 1 :]
    else:
        wrong = name[:i] + name[i] + name[i:]
    assume(wrong not in KNOWN)  # another real name would not be a typo
    return wrong


@st.composite
def probe(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    where = draw(st.sampled_from(["field", "argument", "type", "enum", "input"]))
    if where == "field":
        # A field left without its selection: "Did you mean 'f { ... }'?"
        name = draw(typo(QUERY_FIELDS + OBJECT_FIELDS) | st.sampled_from(QUERY_FIELDS))
        return "{ " + name + " }", {}
    if where == "argument":
        return "{ applications(" + draw(typo(ARGUMENTS)) + ": 1) { totalCount } }", {}
    if where == "type":
        name = draw(typo(INPUT_TYPES))
        return "query($v: " + name + ") { providers { name } }", {}
    if where == "enum":
        state = draw(typo(STATES))
        if draw(st.booleans()):
            literal = (
                "{ applications(filter: {states: [" + state + "]}) { totalCount } }"
            )
            return literal, {}
        query = "query($s: [ApplicationState!]) { applications(filter: {states: $s}) { totalCount } }"  # noqa: E501
        return query, {"s": [state]}
    field = draw(typo(FILTER_FIELDS))
    return "{ applications(filter: {" + field + ": null}) { totalCount } }", {}


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(probe())
def test_no_misspelling_is_answered_with_a_suggestion(
    request: tuple[str, dict[str, Any]],
) -> None:
    query, variables = request
    result = QUIET.execute_sync(query, variable_values=variables)
    for error in result.errors or ():
        assert "did you mean" not in error.message.lower(), (query, error.message)


# -- files counted as parts --------------------------------------------------------


@pytest.fixture
async def two_files() -> AsyncIterator[Gateway]:
    async with serve(Settings(max_upload_files=2)) as gateway:
        yield gateway


def _operations(variables: dict[str, Any]) -> str:
    return json.dumps({"query": UPLOAD, "variables": variables})


async def test_a_thousand_parts_mapped_to_one_variable_are_refused(
    two_files: Gateway,
) -> None:
    files = {str(i): b"%PDF-1.7\n%%EOF\n" for i in range(1000)}
    file_map = {name: ["variables.file"] for name in files}
    body = _multipart(
        {"operations": _operations({"file": None}), "map": json.dumps(file_map)},
        files,
    )
    response = await two_files.client.post("/graphql", content=body, headers=MULTIPART)
    assert response.status_code == 413, response.text
    (error,) = response.json()["errors"]
    assert "at most 2 files" in error["message"]
    assert two_files.upstream_calls() == 0


async def test_parts_beyond_the_limit_are_refused_even_unmapped(
    two_files: Gateway,
) -> None:
    files = {str(i): b"%PDF-1.7\n%%EOF\n" for i in range(3)}
    body = _multipart(
        {
            "operations": _operations({"file": None}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files,
    )
    response = await two_files.client.post("/graphql", content=body, headers=MULTIPART)
    assert response.status_code == 413, response.text


async def test_many_paths_to_one_part_are_refused(two_files: Gateway) -> None:
    variables = {"file": None, "a": [None] * 50}
    paths = ["variables.file"] + [f"variables.a.{i}" for i in range(50)]
    body = _multipart(
        {"operations": _operations(variables), "map": json.dumps({"0": paths})},
        {"0": pdf(500)},
    )
    response = await two_files.client.post("/graphql", content=body, headers=MULTIPART)
    assert response.status_code == 413, response.text
    assert two_files.upstream_calls() == 0


@pytest.mark.parametrize(
    ("variables", "file_map", "files"),
    [
        # two parts, one variable: within the count, still refused
        ({"file": None}, {"0": ["variables.file"], "1": ["variables.file"]}, 2),
        ({"file": None}, {"0": ["variables.nowhere"]}, 1),
        ({"file": None}, {"0": ["variables.file.deeper"]}, 1),
        ({"file": "text"}, {"0": ["variables.file"]}, 1),
        ({"file": None, "a": [None]}, {"0": ["variables.a.7"]}, 1),
        ({"file": None, "a": [None]}, {"0": ["variables.a.x"]}, 1),
        ({"file": None, "a": [None]}, {"0": ["variables.a.-1"]}, 1),
        ({"file": None}, {"9": ["variables.file"]}, 1),
        ({"file": None}, {"0": "variables.file"}, 1),
        ({"file": None}, ["variables.file"], 1),
    ],
)
async def test_a_map_that_does_not_fit_the_operations_is_a_400(
    two_files: Gateway, variables: dict[str, Any], file_map: Any, files: int
) -> None:
    body = _multipart(
        {"operations": _operations(variables), "map": json.dumps(file_map)},
        {str(i): pdf(500) for i in range(files)},
    )
    response = await two_files.client.post("/graphql", content=body, headers=MULTIPART)
    assert response.status_code == 400, response.text
    assert "map" in response.json()["errors"][0]["message"]
    assert two_files.upstream_calls() == 0


async def test_an_upload_within_the_limits_still_works(two_files: Gateway) -> None:
    request = build(UPLOAD, {}, {"file": File("a.pdf", "application/pdf", pdf(500))})
    response = await two_files.client.post(
        "/graphql", content=request.body(), headers=request.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["uploadDocument"]["__typename"] == "Document"
