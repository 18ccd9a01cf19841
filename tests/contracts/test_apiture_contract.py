"""The gateway's Apiture calls and the Apiture sandbox's answers, validated against
``contracts/apiture.yaml`` with openapi-core.

Every Apiture operation of ``operations/`` runs through the gateway (fresh sandboxes
each); each request the gateway sends Apiture and each answer it gets back is
validated against the contract, and the state actions are checked to send the
If-Match the contract requires. (The generic contract validator replaces this
mechanism later; the point here is the contract, the client and the sandbox
agreeing.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_spec_validator import validate as validate_spec
from werkzeug.datastructures import Headers, ImmutableMultiDict

from adapters.apiture.sandbox import create_app
from adapters.sandbox_kit import Message, Receive, Scope, Send
from gateway.operations import Operation, load_operations
from tests.conftest import serve
from tests.schema.apiture_helpers import app_id

# openapi-core checks the API key but warns that it cannot check an OAuth2 scheme.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")
CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "apiture.yaml"
# HAL is JSON: parse it as such (openapi-core knows only application/json).
OPENAPI = OpenAPI.from_file_path(
    str(CONTRACT),
    config=Config(extra_media_type_deserializers={"application/hal+json": json.loads}),
)
HOST = "http://apiture.sandbox"
# The operations that reach Apiture (the documents and providers ones do not).
APITURE_OPERATIONS = [
    o
    for o in load_operations()
    if o.name.endswith(("Application", "Applications", "Enrollment", "Enrollments"))
]
ACTIONS = {
    "ApproveApplication": "approvedApplications",
    "RejectApplication": "rejectedApplications",
    "CancelApplication": "canceledApplications",
    "ExpireApplication": "expiredApplications",
    "StartApplication": "runningApplications",
    "ApproveEnrollment": "approvedEnrollments",
    "RejectEnrollment": "rejectedEnrollments",
}


@dataclass
class ContractRequest:
    """openapi-core's Request protocol over one recorded request."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes | None
    host_url: str = HOST
    parameters: RequestParameters = field(init=False)

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(self.query, keep_blank_values=True)),
            header=Headers(self.headers),
        )

    @property
    def content_type(self) -> str:
        return str(Headers(self.headers).get("content-type", "")).lower()


@dataclass
class ContractResponse:
    status_code: int
    headers: Headers
    data: bytes

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).lower()


@dataclass
class Exchange:
    request: ContractRequest
    response: ContractResponse


class Recorder:
    """ASGI wrapper keeping each request with its answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        sent: dict[str, Any] = {"body": bytearray()}

        async def replay() -> Message:
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message["headers"]
                ]
            else:
                sent["body"].extend(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, keep)
        request = ContractRequest(
            method=scope["method"].lower(),
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
            ],
            body=bytes(body) or None,
        )
        response = ContractResponse(
            sent["status"], Headers(sent["headers"]), bytes(sent["body"])
        )
        self.exchanges.append(Exchange(request, response))


def validate(exchange: Exchange) -> None:
    OPENAPI.validate_request(exchange.request)
    OPENAPI.validate_response(exchange.request, exchange.response)


@pytest.mark.parametrize("operation", APITURE_OPERATIONS, ids=lambda o: o.name)
async def test_each_apiture_operation_fits_the_contract_both_ways(
    operation: Operation,
) -> None:
    sandbox = create_app()
    recorder = Recorder(sandbox.app)
    sandbox.app = recorder
    async with serve(apiture=sandbox) as gateway:
        data = await gateway.data(operation.text, dict(operation.variables))
    (root,) = data.values()
    assert root, data
    if operation.kind == "mutation":
        assert root["__typename"] in ("Application", "Enrollment"), root
    assert recorder.exchanges, "no call reached Apiture"
    for exchange in recorder.exchanges:
        validate(exchange)
        assert exchange.response.status_code < 400, exchange.response.data
    set_name = ACTIONS.get(operation.name)
    if set_name is not None:
        get, post = recorder.exchanges  # the ETag, then the action
        assert get.request.method == "get"
        assert post.request.path.endswith(f"/{set_name}")
        sent = Headers(post.request.headers)
        assert sent["If-Match"] == get.response.headers["ETag"]


async def test_refusals_fit_the_contract_too() -> None:
    """The sandbox's errors (401, 400, 404, 405, 409, 412) are in the contract."""
    sandbox = create_app()
    recorder = Recorder(sandbox.app)
    sandbox.app = recorder
    application = sandbox.store.ids_in_state("approved")[0]
    cancel = (
        "mutation C($id: ID!, $ifMatch: String) { cancelApplication(id: $id, "
        "ifMatch: $ifMatch) { __typename ... on UserError { code } } }"
    )
    codes = []
    async with serve(apiture=sandbox) as gateway:
        for variables in (
            {"id": app_id(application)},  # 409 after the ETag GET
            {"id": app_id(application), "ifMatch": '"stale"'},  # 412
            {"id": app_id("nope"), "ifMatch": '"1"'},  # 400
            {"id": app_id("nope")},  # 404 on the ETag GET
        ):
            data = await gateway.data(cancel, variables)
            codes.append(data["cancelApplication"]["code"])
    assert codes == [
        "INVALID_STATE_TRANSITION",
        "VERSION_CONFLICT",
        "VALIDATION_FAILED",
        "NOT_FOUND",
    ]
    statuses = sorted(e.response.status_code for e in recorder.exchanges)
    assert statuses == [200, 400, 404, 409, 412]
    for exchange in recorder.exchanges:
        validate(exchange)
        if exchange.response.status_code >= 400:
            error = json.loads(exchange.response.data)["_error"]
            assert error["statusCode"] == exchange.response.status_code


def test_the_contract_is_openapi_and_every_operation_names_its_seed_lines() -> None:
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    validate_spec(document)
    operations = [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method != "parameters"
    ]
    assert len(operations) == 21  # every operation of the seed (digest section 2)
    for method, path, op in operations:
        source = op["x-source"]
        assert source.startswith("seeds/001_1434ba7a5e588ce0.txt L"), (method, path)
        first, last = map(int, re.findall(r"L(\d+)", source)[:2])
        assert 0 < first < last <= 13731, (method, path, source)
    # The seven state actions: POST to a state set (/{state}Applications...).
    actions = [
        op
        for method, path, op in operations
        if method == "post" and path.endswith(("Applications", "Enrollments"))
    ]
    assert len(actions) == 7
    for op in actions:  # the table wins: If-Match required on every action
        names = {p["$ref"].rsplit("/", 1)[-1] for p in op["parameters"]}
        assert "ifMatch" in names, op["operationId"]
    assert document["components"]["parameters"]["ifMatch"]["required"] is True
