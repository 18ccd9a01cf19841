"""The committed Grafana dashboard queries only metrics the gateway exposes, and
``ops/dashboard.py`` evaluates those queries as Prometheus would."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ops.dashboard import DASHBOARD, Query, load, panel_series
from tests.conftest import serve

LIST = "query ListApplications { applications(first: 2) { totalCount } }"


def selectors(node: object) -> list[str]:
    if not isinstance(node, tuple):
        return []
    if node[0] == "selector":
        return [node[1]]
    return [name for part in node[1:] for name in selectors(part)]


async def test_every_panel_query_reads_metrics_the_gateway_exposes() -> None:
    async with serve() as gateway:
        await gateway.client.post("/graphql", json={"query": LIST})
        text = (await gateway.client.get("/metrics")).text
    exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines()}
    exposed |= {
        line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")
    }
    board = json.loads(DASHBOARD.read_text())
    titles = " ".join(p["title"] for p in board["panels"]).lower()
    for wanted in (
        "requests",
        "errors by code",
        "latency by operation",
        "upstream latency",
        "upstream errors",
        "breaker",
        "rate limiting",
        "redis fallbacks",
    ):
        assert wanted in titles
    for panel in board["panels"]:
        for target in panel["targets"]:
            names = selectors(Query(target["expr"], 10).tree)
            assert names, target["expr"]
            for name in names:
                assert name in exposed, (panel["title"], name)


def scrape(t: float, text: str) -> str:
    return json.dumps({"t": t, "text": text})


def test_rates_sums_and_quantiles_as_prometheus_computes_them(tmp_path: Path) -> None:
    def exposition(ok: int, error: int, buckets: tuple[int, int, int]) -> str:
        lines = [
            "# TYPE gateway_graphql_requests_total counter",
            f'gateway_graphql_requests_total{{operation="A",outcome="ok"}} {ok}',
            "gateway_graphql_requests_total"
            f'{{operation="A",outcome="FORBIDDEN"}} {error}',
            "# TYPE gateway_graphql_request_duration_seconds histogram",
        ]
        for le, count in zip(("0.1", "0.2", "+Inf"), buckets, strict=True):
            lines.append(
                "gateway_graphql_request_duration_seconds_bucket"
                f'{{operation="A",le="{le}"}} {count}'
            )
        return "\n".join(lines) + "\n"

    samples = tmp_path / "s.jsonl"
    samples.write_text(
        scrape(100.0, exposition(10, 0, (0, 0, 0)))
        + "\n"
        + scrape(110.0, exposition(60, 10, (40, 80, 100)))
        + "\n"
    )
    scrapes = load(samples)
    rate = Query(
        "sum by (operation) (rate(gateway_graphql_requests_total[$__rate_interval]))",
        10,
    )
    assert rate.at_time(scrapes, 1) == {frozenset({("operation", "A")}): 6.0}
    errors = Query('sum(rate(gateway_graphql_requests_total{outcome!="ok"}[1m]))', 10)
    assert errors.at_time(scrapes, 1) == {frozenset(): 1.0}
    p50 = Query(
        "histogram_quantile(0.5, sum by (operation, le) "
        "(rate(gateway_graphql_request_duration_seconds_bucket[10s])))",
        10,
    )
    # 50 of 100: the second bucket (40 below 0.1, 80 below 0.2): 0.1 + 0.1 * 10/40.
    (value,) = p50.at_time(scrapes, 1).values()  # type: ignore[union-attr]
    assert math.isclose(value, 0.125)
    ratio = Query("sum(gateway_graphql_requests_total) / 2", 10)
    assert ratio.at_time(scrapes, 1) == {frozenset(): 35.0}
    assert rate.at_time(scrapes, 0) == {}  # no earlier scrape: no rate yet
    expr = "sum by (operation) (rate(gateway_graphql_requests_total[10s]))"
    panel = {"targets": [{"expr": expr, "legendFormat": "{{operation}}"}]}
    assert panel_series(panel, scrapes, 10) == [("A", [(10.0, 6.0)])]


def test_an_unknown_construct_is_refused_not_guessed() -> None:
    with pytest.raises((ValueError, KeyError, IndexError)):
        Query("increase(gateway_graphql_requests_total[1m]) offset 5m", 10)
