"""``--observability``: our gateway measured again with metrics off ("bare") and
with metrics and tracing on ("observed"); ours (metrics on, as it ships) and
observed set against bare in a table of its own."""

from __future__ import annotations

from typing import Literal

import pytest

from benchmarks.load import WrkResult
from benchmarks.operations import OPERATIONS, Gateway, flavour, gateway_variables
from benchmarks.results import as_json, before_rows, markdown, observability_rows
from benchmarks.run import BARE_ENV, OBSERVED_ENV, clean_env, parse_args, rotated
from gateway.settings import Settings
from tests.benchmarks.test_results import measurement, report


@pytest.mark.parametrize("gateway", ["observed", "bare"])
def test_the_measured_again_gateways_send_and_expect_what_ours_does(
    gateway: Literal["observed", "bare"],
) -> None:
    assert flavour(gateway) == "ours" and flavour("hive") == "hive"
    for op in OPERATIONS:
        assert op.query(gateway) == op.query("ours")
        assert op.marker(gateway) == op.expect["ours"]
        variables = {"id": "x", "offset": 3, "first": 20, "customerId": "c"}
        assert gateway_variables(gateway, variables) == gateway_variables(
            "ours", variables
        )


def test_ours_ships_with_metrics_and_bare_turns_them_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in list(clean_env()):
        if key.startswith("GATEWAY_"):
            monkeypatch.delenv(key)
    assert Settings().metrics is True  # "ours" is not a baseline without metrics
    for key, value in BARE_ENV.items():
        monkeypatch.setenv(key, value)
    assert Settings().metrics is False


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


def test_cpu_per_request_bare_metrics_traced_and_the_ratios() -> None:
    off = measurement("bare", 1000, 10.0, 30.0, cpu_seconds=2.0)  # 2.00 ms/req
    metrics = measurement("ours", 1000, 10.0, 30.0, cpu_seconds=2.2)  # 2.20
    on = measurement("observed", 1000, 11.0, 33.0, cpu_seconds=2.5)  # 2.50 ms/req
    hive = measurement("hive", 800, 12.0, 40.0)
    made = report(off, metrics, on, hive)
    rows = observability_rows(made)
    assert rows[2] == (
        "| varied | a | 2.00 | 2.20 | 1.10x **over** | 2.50 | 1.25x **over** "
        "| 50 | 50 | 50 |"
    )
    assert "## Observability on / off (ours)" in markdown(made)
    ratios = as_json(made)["observability"]["varied a"]
    assert ratios == {
        "cpu_ms_per_request_off": 2.0,
        "cpu_ms_per_request_metrics": 2.2,
        "cpu_ms_per_request_on": 2.5,
        "metrics_ratio": 1.1,
        "ratio": 1.25,
    }
    # within the targets: no flag; without ours: its cells empty; without an
    # observed or a bare run: no table
    within = measurement("observed", 1000, 11.0, 33.0, cpu_seconds=2.2)
    cheap = measurement("ours", 1000, 10.0, 30.0, cpu_seconds=2.06)
    assert observability_rows(report(off, cheap, within))[2] == (
        "| varied | a | 2.00 | 2.06 | 1.03x | 2.20 | 1.10x | 50 | 50 | 50 |"
    )
    assert observability_rows(report(off, within))[2] == (
        "| varied | a | 2.00 | - | - | 2.20 | 1.10x | 50 | - | 50 |"
    )
    assert observability_rows(report(off, hive)) == []
    assert observability_rows(report(metrics, within)) == []
    assert "Observability on / off" not in markdown(report(off, hive))


def test_each_run_starts_with_the_next_gateway() -> None:
    gateways: list[Gateway] = ["ours", "bare", "observed"]
    orders = [rotated(gateways, i) for i in range(4)]
    assert orders == [
        ["ours", "bare", "observed"],
        ["bare", "observed", "ours"],
        ["observed", "ours", "bare"],
        ["ours", "bare", "observed"],
    ]
    assert rotated(["ours"], 5) == ["ours"] and rotated([], 1) == []


def test_before_and_now_side_by_side() -> None:
    before = measurement("before", 1000, 10.0, 30.0, cpu_seconds=2.0)  # 2.00 ms
    now = measurement("ours", 1000, 10.0, 20.0, cpu_seconds=2.2)  # 2.20 ms
    made = report(before, now)
    assert before_rows(made)[2] == (
        "| varied | a | 2.00 | 2.20 | 1.10x **worse** | 50 | 50 | 30.0 | 20.0 |"
    )
    assert "## Before / after (ours)" in markdown(made)
    assert as_json(made)["before_after"]["varied a"] == {
        "cpu_ms_per_request_before": 2.0,
        "cpu_ms_per_request_now": 2.2,
        "ratio": 1.1,
    }
    same = measurement("ours", 1000, 10.0, 20.0, cpu_seconds=2.04)
    assert before_rows(report(before, same))[2].split("|")[5].strip() == "1.02x"
    assert before_rows(report(now)) == []
    assert flavour("before") == "ours"
    assert parse_args(["--before-tree", "/x"]).before_tree == "/x"


def test_rounds_pool_the_cpu_of_every_request_and_show_each_rounds_ratio() -> None:
    """``--rounds 2``: a row's CPU per request is over both rounds' requests
    (not the mean of two ratios), and the last column gives each round's."""
    made = report(
        measurement("bare", 1000, 10.0, 30.0, cpu_seconds=2.0, round=1),  # 2.00
        measurement("ours", 1000, 10.0, 30.0, cpu_seconds=2.2, round=1),  # 1.10x
        measurement("observed", 1000, 11.0, 33.0, cpu_seconds=2.4, round=1),  # 1.20x
        measurement("bare", 3000, 12.0, 50.0, cpu_seconds=6.0, round=2),  # 2.00
        measurement("ours", 1000, 10.0, 30.0, cpu_seconds=2.0, round=2),  # 1.00x
        measurement("observed", 1000, 11.0, 33.0, cpu_seconds=2.1, round=2),  # 1.05x
    )
    rows = observability_rows(made)
    # bare 8.0 s / 4000, ours 4.2 s / 2000, observed 4.5 s / 2000; req/s over
    # the two rounds' 40 s
    assert rows[0].endswith("| each round: metrics / bare; traced / bare |")
    assert rows[2] == (
        "| varied | a | 2.00 | 2.10 | 1.05x | 2.25 | 1.12x | 100 | 50 | 50 "
        "| 1.10, 1.00; 1.20, 1.05 |"
    )
    js = as_json(made)
    assert js["observability"]["varied a"]["rounds"] == [[1.1, 1.2], [1.0, 1.05]]
    assert js["observability"]["varied a"]["ratio"] == 1.125
    assert [m["round"] for m in js["measurements"]] == [1, 1, 1, 2, 2, 2]
    text = markdown(made)
    assert "| a (round 2) | observed |" in text  # the conditions of each round
    # one round: as before, no column of rounds
    assert observability_rows(report(*made.measurements[:3]))[2].endswith("| 50 |")


def test_pooling_adds_up_counts_and_takes_the_median_latency() -> None:
    from benchmarks.results import pooled

    rounds = [
        measurement("ours", n, p50, p99, round=r, counters={"coalesced": float(r)})
        for r, (n, p50, p99) in enumerate(
            [(1000, 10.0, 30.0), (2000, 12.0, 90.0), (3000, 11.0, 40.0)], start=1
        )
    ]
    (one,) = pooled(rounds)
    assert one.rounds == 3 and one.wrk.requests == 6000 and one.wrk.seconds == 60.0
    assert (one.wrk.p50_ms, one.wrk.p99_ms) == (11.0, 40.0)
    assert one.cpu_ms_per_request == 2.0 and one.rps == 100.0
    assert one.upstream_calls == {"apiture": 192} and one.counted_requests == 192
    assert one.counters == {"coalesced": 6.0} and one.window_seconds == 60.0
    assert pooled(rounds[:1]) == rounds[:1]  # a single round as it was


def test_every_round_measures_every_run_and_starts_the_rotation_further() -> None:
    from benchmarks.run import schedule, units

    runs = units(["varied"], [op for op in OPERATIONS if op.key in "ab"])
    order = schedule(runs, 3)
    assert [(r, u.key) for r, _, u in order] == [
        (1, "a"), (1, "b"), (2, "a"), (2, "b"), (3, "a"), (3, "b"),
    ]  # fmt: skip
    gateways: list[Gateway] = ["ours", "bare", "observed"]
    firsts = {rotated(gateways, i)[0] for _, i, u in order if u.key == "a"}
    assert firsts == {"ours", "bare", "observed"}  # each round another goes first
    assert parse_args([]).rounds == 1 and parse_args(["--rounds", "3"]).rounds == 3
    assert schedule(runs, 1) == [(1, 0, runs[0]), (1, 1, runs[1])]


def test_together_runs_every_gateways_load_at_once() -> None:
    """``--together``: each gateway's wrk is started before any has finished
    (a barrier every one must reach), and each result is its own gateway's."""
    import threading

    from benchmarks.run import _all_at_once
    from tests.benchmarks.test_results import wrk

    gateways: list[Gateway] = ["ours", "bare", "observed"]
    barrier = threading.Barrier(len(gateways), timeout=10)

    def run_one(gateway: Gateway) -> WrkResult:
        barrier.wait()  # broken (an error) unless all three run at once
        return wrk({"ours": 1, "bare": 2, "observed": 3}[gateway], 1.0, 2.0)

    done = _all_at_once(run_one, gateways)
    assert {g: r.requests for g, r in done.items()} == {
        "ours": 1, "bare": 2, "observed": 3,
    }  # fmt: skip
    assert parse_args(["--together"]).together is True
    assert parse_args([]).together is False
