"""The bench reads our gateway's own counters over each measured run (coalesced
reads, cache hits and misses) and shows whether each pays on the traffic."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.results import counter_rows, markdown
from benchmarks.run import gateway_counters
from gateway.operations import load_operations
from gateway.settings import Settings
from tests.benchmarks.test_results import measurement, report
from tests.conftest import serve

DETAIL = next(o for o in load_operations() if o.name == "ApplicationDetail")


class _Exposition:
    text = ""


@pytest.fixture
def metrics_server() -> Iterator[tuple[str, type[_Exposition]]]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/metrics"
            body = _Exposition.text.encode() if found else b"no"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/graphql", _Exposition
    finally:
        server.shutdown()
        server.server_close()


async def test_the_counters_are_read_from_the_gateways_own_metrics(
    metrics_server: tuple[str, type[_Exposition]],
) -> None:
    url, exposition = metrics_server
    async with serve(Settings()) as gateway:
        listed = await gateway.data(
            "{ applications(first: 1) { edges { node { id } } } }", {}
        )
        application = listed["applications"]["edges"][0]["node"]["id"]
        for _ in range(3):
            await gateway.data(DETAIL.text, {"id": application})
        exposition.text = (await gateway.client.get("/metrics")).text

    found = gateway_counters(url, "token")

    assert found["coalesced"] == 0  # sequential: nothing to share
    # The same query text three times: parsed once, then found.
    assert found["cache hits documents"] >= 2
    assert found["cache misses documents"] >= 1
    assert all(k == "coalesced" or k.startswith("cache ") for k in found)


def test_no_metrics_served_means_no_counters(
    metrics_server: tuple[str, type[_Exposition]],
) -> None:
    url, _ = metrics_server
    assert gateway_counters(url.replace("/graphql", "/elsewhere/graphql"), "t") == {}
    assert gateway_counters("http://127.0.0.1:9/graphql", "t") == {}


def test_hits_per_request_and_their_share_are_tabled() -> None:
    ours = measurement(
        "ours",
        1_000,
        20.0,
        40.0,
        counters={
            "coalesced": 50.0,
            "cache hits documents": 990.0,
            "cache misses documents": 10.0,
            "cache hits etags": 0.0,
            "cache misses etags": 400.0,
        },
    )
    hive = measurement("hive", 800, 25.0, 50.0)

    rows = counter_rows([ours, hive])

    assert rows[0] == (
        "| scenario | op | gateway | coalesced / req | documents: hits / req (share)"
        " | etags: hits / req (share) |"
    )
    assert rows[2] == "| varied | a | ours | 0.050 | 0.99 (99%) | 0.00 (0%) |"
    assert len(rows) == 3  # Mesh keeps no such counters
    text = markdown(report(ours, hive))
    assert "## What the caches and coalescing did (ours)" in text
    assert "## What the caches" not in markdown(report(hive))
