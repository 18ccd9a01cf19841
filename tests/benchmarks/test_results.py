"""The results table, the ratios and the files, from made-up measurements."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.load import WrkResult, parse_result
from benchmarks.results import Measurement, Report, as_json, markdown, verdict, write


def wrk(requests: int, p50: float, p99: float, **extra: int) -> WrkResult:
    fields: dict[str, int] = {
        "socket_errors": 0,
        "non200": 0,
        "errored": 0,
        "unexpected": 0,
        "reused": 0,
    }
    fields.update(extra)
    return WrkResult(
        requests=requests,
        seconds=20.0,
        p50_ms=p50,
        p90_ms=p99 * 0.8,
        p99_ms=p99,
        mean_ms=p50,
        max_ms=p99 * 2,
        wrk_cpu_seconds=1.0,
        **fields,
    )


def measurement(
    gateway: str, requests: int, p50: float, p99: float, **kw: object
) -> Measurement:
    values: dict[str, object] = {
        "operation": "a",
        "name": "ApplicationDetail",
        "gateway": gateway,
        "wrk": wrk(requests, p50, p99),
        "cpu_seconds": requests * 0.002,
        "upstream_calls": {"apiture": 64},
        "counted_requests": 64,
        "sandbox_cpu_seconds": {"apiture": 4.0, "mambu": 1.0},
        "critical_path_ms": 20.0,
        "machine_busy_seconds": 30.0,
        "window_seconds": 20.0,
    }
    values.update(kw)
    return Measurement(**values)  # type: ignore[arg-type]


def report(*measurements: Measurement) -> Report:
    return Report(
        started="20260101T000000Z",
        settings={
            "connections": 32,
            "threads": 2,
            "duration": 20,
            "warmup": 10,
            "latency": 0.02,
            "workers": 1,
            "cpus": 2,
            "count_requests": 64,
        },
        measurements=list(measurements),
        titles={"a": "one application by id"},
    )


def test_per_request_figures_come_from_the_counts() -> None:
    m = measurement("ours", 10_000, 22.0, 30.0)

    assert m.rps == 500.0
    assert m.cpu_ms_per_request == 2.0
    assert m.upstream_per_request == 1.0
    assert m.busiest_sandbox == ("apiture", 0.2)
    assert m.outside_cpu_seconds == 30.0 - (20.0 + 5.0 + 1.0)


def test_the_verdict_checks_every_target_of_the_issue() -> None:
    hive = measurement("hive", 8_000, 30.0, 80.0)

    good = verdict(measurement("ours", 10_000, 24.0, 50.0), hive)
    slow = verdict(measurement("ours", 6_000, 26.0, 90.0), hive)
    chatty = verdict(
        measurement("ours", 10_000, 24.0, 50.0, upstream_calls={"apiture": 128}), hive
    )

    assert good.all
    assert not slow.throughput and not slow.p99 and not slow.p50_near_critical_path
    assert slow.upstream
    assert not chatty.upstream and not chatty.all


def test_the_markdown_has_both_gateways_the_ratios_and_what_was_missed() -> None:
    text = markdown(
        report(
            measurement("ours", 6_000, 26.0, 90.0),
            measurement("hive", 8_000, 30.0, 80.0),
        )
    )

    assert (
        "| a ApplicationDetail | ours | 300.0 | 26.0 | 90.0 | 2.00 | 1.00 | 0 | 6000 |"
        in text
    )
    assert "| a ApplicationDetail | hive | 400.0 | 30.0 | 80.0 |" in text
    assert "| a | 0.75x | 0.87x | 1.12x | 1.00x | 1.00x | 6.0 ms (path 20 ms) |" in text
    assert "missed: throughput, p99, p50 vs critical path" in text
    assert "- **a**: one application by id" in text


def test_a_provider_over_a_third_of_a_core_makes_its_row_invalid() -> None:
    busy = measurement("ours", 100, 20.0, 30.0, sandbox_cpu_seconds={"apiture": 7.0})
    calm = measurement("ours", 100, 20.0, 30.0, sandbox_cpu_seconds={"apiture": 6.6})
    hive = measurement("hive", 50, 30.0, 80.0)

    text = markdown(report(busy, hive))

    assert "apiture 0.35 ⚠ over 1/3 core: row invalid" in text
    assert "**invalid** (ours: apiture sandbox over 1/3 core)" in text
    assert "| yes |" not in text
    assert busy.invalid_provider == "apiture" and calm.invalid_provider is None
    assert "⚠" not in markdown(report(calm, hive))
    assert "**invalid**" not in markdown(report(calm, hive))
    assert as_json(report(busy, hive))["ratios"]["a"]["invalid"] is True


def test_scenarios_get_tables_of_their_own_the_mix_first() -> None:
    mix = {
        "operation": "mix",
        "name": "Mix",
        "scenario": "mix",
        "critical_path_ms": None,
    }
    hot = {"scenario": "hot"}
    r = report(
        measurement("ours", 900, 20.0, 30.0, **mix),
        measurement("hive", 600, 30.0, 80.0, **mix),
        measurement("ours", 1000, 20.0, 30.0),
        measurement("hive", 500, 30.0, 80.0),
        measurement("ours", 4000, 20.0, 30.0, **hot),
        measurement("hive", 500, 30.0, 80.0, **hot),
    )

    text = markdown(r)

    mix_at = text.index("### Mix")
    assert mix_at < text.index("### Varied") < text.index("### Hot record")
    assert "| mix | 1.50x |" in text and "n/a | yes |" in text
    assert "| a hot | 8.00x |" in text
    assert "| a | 2.00x |" in text
    assert [k for k, _, _ in r.pairs("hot")] == ["a hot"]


def test_the_json_holds_the_measurements_and_ratios(tmp_path: Path) -> None:
    r = report(
        measurement("ours", 10_000, 24.0, 50.0),
        measurement("hive", 5_000, 30.0, 80.0),
    )

    md, js = write(r, tmp_path)

    assert md.name == "20260101T000000Z.md" and md.read_text().startswith("# ")
    data = json.loads(js.read_text())
    assert data == json.loads(json.dumps(as_json(r)))
    assert data["ratios"]["a"]["rps"] == 2.0
    assert data["ratios"]["a"]["targets"]["throughput"] is True
    assert data["measurements"][0]["wrk"]["requests"] == 10_000


def test_a_missing_pair_has_no_ratio_row() -> None:
    text = markdown(report(measurement("ours", 100, 20.0, 30.0)))

    assert "| a | n/a" not in text
    assert "x |" not in text  # no ratio anywhere


def test_wrk_output_is_read_from_the_lua_scripts_line() -> None:
    output = (
        "Running 20s test\n"
        'BENCH_RESULT {"requests": 1000, "duration_us": 2000000, "bytes": 5, '
        '"p50_us": 21000, "p90_us": 25000, "p99_us": 40500, "mean_us": 22000.5, '
        '"max_us": 90000, "connect_errors": 1, "read_errors": 2, "write_errors": 0, '
        '"status_errors": 3, "timeouts": 1, "bad": 7, "non200": 3, "errored": 2, '
        '"unexpected": 2, "reused": 0}\n'
    )

    result = parse_result(output, wrk_cpu_seconds=0.5)

    assert result.rps == 500.0
    assert (result.p50_ms, result.p99_ms) == (21.0, 40.5)
    assert result.socket_errors == 4
    assert result.errors == 4 + 3 + 2 + 2
    assert result.wrk_cpu_seconds == 0.5


def test_the_critical_path_is_judged_at_one_connection_where_measured() -> None:
    hive = measurement("hive", 8_000, 30.0, 80.0)
    queued = measurement("ours", 10_000, 64.0, 70.0)
    alone = measurement("ours", 10_000, 64.0, 70.0, single=wrk(200, 23.0, 30.0))

    assert not verdict(queued, hive).p50_near_critical_path
    assert verdict(alone, hive).p50_near_critical_path
    assert "| 0 | 10000 | 23.0 |" in markdown(report(alone, hive))
    assert "| 3.0 ms (path 20 ms) |" in markdown(report(alone, hive))
