"""``--observability``: our gateway measured again with metrics and tracing on,
its CPU per request set against ours in a table of its own."""

from __future__ import annotations

import pytest

from benchmarks.operations import OPERATIONS, flavour, gateway_variables
from benchmarks.results import as_json, markdown, observability_rows
from benchmarks.run import OBSERVED_ENV, clean_env, parse_args
from tests.benchmarks.test_results import measurement, report


def test_the_observed_gateway_sends_and_expects_what_ours_does() -> None:
    assert flavour("observed") == "ours" and flavour("hive") == "hive"
    for op in OPERATIONS:
        assert op.query("observed") == op.query("ours")
        assert op.marker("observed") == op.expect["ours"]
        variables = {"id": "x", "offset": 3, "first": 20, "customerId": "c"}
        assert gateway_variables("observed", variables) == gateway_variables(
            "ours", variables
        )


def test_the_observed_gateway_traces_every_request_and_counts() -> None:
    assert OBSERVED_ENV["OTEL_TRACES_EXPORTER"] == "discard"
    assert OBSERVED_ENV["OTEL_TRACES_SAMPLER"] == "always_on"
    assert OBSERVED_ENV["GATEWAY_METRICS"] == "on"
    assert parse_args(["--observability"]).observability is True
    assert parse_args([]).observability is False


def test_the_plain_gateway_gets_no_otel_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert not any(k.startswith("OTEL_") for k in clean_env())


def test_cpu_per_request_on_and_off_and_the_ratio() -> None:
    off = measurement("ours", 1000, 10.0, 30.0, cpu_seconds=2.0)  # 2.00 ms/req
    on = measurement("observed", 1000, 11.0, 33.0, cpu_seconds=2.5)  # 2.50 ms/req
    hive = measurement("hive", 800, 12.0, 40.0)
    made = report(off, on, hive)
    rows = observability_rows(made)
    assert rows[2] == "| varied | a | 2.00 | 2.50 | 1.25x **over** | 50 | 50 |"
    assert "## Observability on / off (ours)" in markdown(made)
    ratios = as_json(made)["observability"]["varied a"]
    assert ratios == {
        "cpu_ms_per_request_off": 2.0,
        "cpu_ms_per_request_on": 2.5,
        "ratio": 1.25,
    }
    # within the target: no flag; without an observed run: no table
    within = measurement("observed", 1000, 11.0, 33.0, cpu_seconds=2.2)
    assert observability_rows(report(off, within))[2].endswith("| 1.10x | 50 | 50 |")
    assert observability_rows(report(off, hive)) == []
    assert "Observability on / off" not in markdown(report(off, hive))
