"""One JSON line per request carrying the request id the client got back (header and
error extensions); metrics off or on a port of their own; route templates."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from adapters.transport.observe import OTHER, ROUTES, routes_for
from gateway.observability import JsonFormatter, TextFormatter, request_id_from
from gateway.settings import Settings
from tests.conftest import serve
from tests.observability.scrape import parse

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
LIST = "query ListApplications { applications(first: 2) { totalCount } }"


class Lines(logging.Handler):
    """Formats each record when it is logged, as a stream handler would."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def captured(formatter: logging.Formatter | None = None) -> Iterator[Lines]:
    handler = Lines(formatter or JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def request_lines(lines: Lines) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in lines.lines]  # every line is JSON
    return [p for p in parsed if p["logger"] == "gateway.requests"]


async def test_one_json_line_per_request_with_the_request_id_returned() -> None:
    with captured() as lines:
        async with serve() as gateway:
            ok = await gateway.client.post("/graphql", json={"query": LIST})
            calls = gateway.upstream_calls()
            bad = await gateway.client.post("/graphql", json={"query": "{ nope }"})
            given_id = await gateway.client.post(
                "/graphql",
                json={"query": "{ nope }"},
                headers={"X-Request-Id": "client-chosen.id:42"},
            )
            insane = await gateway.client.post(
                "/graphql",
                json={"query": LIST},
                headers={"X-Request-Id": "ana garcía <script>".encode()},
            )
    logged = request_lines(lines)
    assert len(logged) == 4
    first, second, third, fourth = logged
    assert first["request_id"] == ok.headers["x-request-id"]
    assert first["operation"] == "ListApplications"
    assert first["operation_type"] == "query"
    assert first["outcome"] == "ok"
    assert first["status"] == 200
    assert first["route"] == "/graphql"
    assert first["upstream_calls"] == calls > 0
    assert first["duration_ms"] > 0
    assert first["trace_id"] is None  # no tracing configured
    error = bad.json()["errors"][0]
    assert error["extensions"]["requestId"] == bad.headers["x-request-id"]
    assert second["request_id"] == bad.headers["x-request-id"]
    assert second["outcome"] == "BAD_USER_INPUT"
    assert second["upstream_calls"] == 0
    assert ok.headers["x-request-id"] != bad.headers["x-request-id"]
    # A sane id from the client is kept; anything else is replaced.
    assert given_id.headers["x-request-id"] == "client-chosen.id:42"
    assert given_id.json()["errors"][0]["extensions"]["requestId"] == (
        "client-chosen.id:42"
    )
    assert third["request_id"] == "client-chosen.id:42"
    assert fourth["request_id"] == insane.headers["x-request-id"]
    assert "garc" not in json.dumps(logged) and "<script>" not in json.dumps(logged)


async def test_refusals_before_graphql_carry_the_request_id() -> None:
    async with serve(Settings(max_request_bytes=64)) as gateway:
        large = await gateway.client.post("/graphql", json={"query": LIST + " " * 100})
        csrf = await gateway.client.get("/graphql", params={"query": LIST})
    for response, status in ((large, 413), (csrf, 400)):
        assert response.status_code == status
        request_id = response.headers["x-request-id"]
        assert response.json()["errors"][0]["extensions"]["requestId"] == request_id


async def test_a_log_line_during_a_request_carries_its_id_as_text() -> None:
    with captured(TextFormatter()) as lines:
        async with serve() as gateway:
            ok = await gateway.client.post("/graphql", json={"query": LIST})
    request_id = ok.headers["x-request-id"]
    line = next(x for x in lines.lines if x.startswith("INFO gateway.requests"))
    assert f"[{request_id}]" in line and "ListApplications" in line


@given(st.binary(max_size=80))
@settings(max_examples=200, derandomize=True)
def test_any_incoming_id_is_kept_only_when_sane(value: bytes) -> None:
    chosen = request_id_from(value)
    sane = (
        value.isascii()
        and 0 < len(value) <= 64
        and all(chr(c).isalnum() or chr(c) in "._:-" for c in value)
    )
    assert (chosen == value.decode("latin-1")) is sane
    assert 0 < len(chosen) <= 64


async def test_metrics_off_no_endpoint_and_nothing_counted() -> None:
    async with serve(Settings(metrics=False)) as gateway:
        await gateway.client.post("/graphql", json={"query": LIST})
        assert (await gateway.client.get("/metrics")).status_code == 404
        # The registry exists, unexposed: nothing was counted in it.
        app_metrics = parse(_exposition(gateway.client))
    assert app_metrics.value("gateway_graphql_requests_total") == 0
    assert app_metrics.value("gateway_upstream_requests_total") == 0


def _exposition(client: httpx.AsyncClient) -> str:
    from prometheus_client import generate_latest

    app: Any = client._transport.app
    return generate_latest(app.state.metrics.registry).decode()


async def test_metrics_on_a_port_of_their_own() -> None:
    async with serve(Settings(metrics_port=0)) as gateway:
        await gateway.client.post("/graphql", json={"query": LIST})
        assert (await gateway.client.get("/metrics")).status_code == 404
        app: Any = gateway.client._transport.app
        port = app.state.metrics_port
        assert port > 0
        async with httpx.AsyncClient() as other:
            response = await other.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
        scraped = parse(response.text)
    assert (
        scraped.value("gateway_graphql_requests_total", operation="ListApplications")
        == 1
    )
    with pytest.raises(httpx.ConnectError):  # closed with the app
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


# Route templates ---------------------------------------------------------------


def test_every_contract_path_has_its_route_template() -> None:
    for provider, templates in ROUTES.items():
        contract = yaml.safe_load((CONTRACTS / f"{provider}.yaml").read_text())
        assert set(contract["paths"]) == set(templates), provider


@given(
    key=st.text(
        alphabet=st.characters(blacklist_characters="/", blacklist_categories=["Cs"]),
        min_size=1,
        max_size=30,
    )
)
@settings(max_examples=200, derandomize=True)
def test_a_route_is_a_template_never_the_path(key: str) -> None:
    apiture, mambu = routes_for("apiture"), routes_for("mambu")
    assert apiture.template(f"/accountApplications/applications/{key}") == (
        "/applications/{applicationId}"
    )
    assert mambu.template(f"/api/clients/{key}/documents") == (
        "/api/{collection}/{holder}/documents"
    )
    assert apiture.template(f"/somewhere/{key}/else/x") == OTHER
    for route in (apiture.template(f"/{key}"), mambu.template(f"/api/{key}")):
        assert route == OTHER or route in ROUTES["apiture"] + ROUTES["mambu"]


async def test_the_current_spans_trace_id_is_logged() -> None:
    context = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with captured() as lines:
        async with serve() as gateway:
            with trace.use_span(NonRecordingSpan(context)):
                ok = await gateway.client.post("/graphql", json={"query": LIST})
    (line,) = request_lines(lines)
    assert line["request_id"] == ok.headers["x-request-id"]
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
