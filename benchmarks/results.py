"""The numbers of one run: per operation and gateway, the ratios, the files.

``Measurement`` is one gateway under one operation's load; ``Report`` is the whole
run (its settings, measurements and notes). ``markdown`` and ``as_json`` render it;
``write`` puts both in ``bench-results/<timestamp>.md`` and ``.json``.

Scenarios (``benchmarks.traffic``): ``mix`` (the headline row: the weighted mix,
every request its own record), ``varied`` (an operation at a time, every request
its own record) and ``hot`` (the same record every request), each a table of its
own.

A row is invalid when a sandbox used more than a third of a core
(:data:`PROVIDER_LIMIT`) during its run: the providers must cost next to nothing,
or the run measures them and not the gateways.

Targets (issue 8), checked per operation: our throughput at least Hive's, our p99
at most Hive's, our upstream calls per request at most Mesh's, our p50 within 5 ms
of the critical path of upstream latency. That last one is read at one connection
(``single``) where it was measured: under the closed-loop load every request also
waits its turn (p50 ≈ connections / throughput once a core is saturated), which the
other targets measure.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from benchmarks.load import WrkResult

P50_SLACK_MS = 5.0
SATURATED = 0.85  # a sandbox busier than this share of one core may be the limit
PROVIDER_LIMIT = 1 / 3  # a sandbox above this share of a core invalidates the row
SCENARIO_TITLES = {
    "mix": "Mix: the weighted mix, every request its own record (the headline)",
    "varied": "Varied: one operation at a time, every request its own record",
    "hot": "Hot record: one operation at a time, the same variables every request",
}


@dataclass
class Measurement:
    operation: str  # the key, "a"…"e"
    name: str
    gateway: str  # "ours" or "hive"
    wrk: WrkResult
    cpu_seconds: float  # the gateway's process tree over the measured window
    # per provider, counted by the sandboxes over ``counted_requests`` requests
    upstream_calls: dict[str, int]
    sandbox_cpu_seconds: dict[str, float]
    critical_path_ms: float | None  # None: no single path (the mix)
    machine_busy_seconds: float = 0.0  # every CPU of the machine over the window
    window_seconds: float = 0.0
    counted_requests: int = 0  # 0: upstream_calls were counted under the load
    counted_failures: int = 0
    upstream_calls_under_load: dict[str, int] = field(default_factory=dict)
    single: WrkResult | None = None  # one connection: latency without a queue
    scenario: str = "varied"  # "mix", "varied" or "hot"
    fresh: bool = False  # its requests each had a record of their own to change
    # Our gateway's own counters over the measured window (its /metrics, read
    # before and after; empty where it keeps none): coalesced reads, and each
    # cache's hits and misses (``cache hits <name>``, ``cache misses <name>``).
    counters: dict[str, float] = field(default_factory=dict)
    # ``--rounds``: the round it was measured in (1, 2, …); pooled over rounds,
    # how many rounds it holds
    round: int = 1
    rounds: int = 1

    @property
    def label(self) -> str:
        """``mix``, ``a`` (varied) or ``a hot``."""
        return self.operation + (" hot" if self.scenario == "hot" else "")

    @property
    def invalid_provider(self) -> str | None:
        """The sandbox over :data:`PROVIDER_LIMIT` of a core, if one was."""
        name, share = self.busiest_sandbox
        return name if share > PROVIDER_LIMIT else None

    @property
    def unqueued_p50_ms(self) -> float:
        """p50 at one connection where measured, else under the load."""
        return self.single.p50_ms if self.single else self.wrk.p50_ms

    @property
    def rps(self) -> float:
        return self.wrk.rps

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.wrk.requests if self.wrk.requests else 0

    @property
    def upstream_per_request(self) -> float:
        requests = self.counted_requests or self.wrk.requests
        return sum(self.upstream_calls.values()) / requests if requests else 0.0

    @property
    def upstream_per_request_under_load(self) -> float:
        """Calls counted during the wrk run over its requests (an upper bound)."""
        calls = sum(self.upstream_calls_under_load.values())
        return calls / self.wrk.requests if self.wrk.requests else 0.0

    @property
    def busiest_sandbox(self) -> tuple[str, float]:
        """The sandbox that used the most CPU, and its share of one core."""
        if not self.sandbox_cpu_seconds or not self.window_seconds:
            return ("", 0.0)
        name = max(self.sandbox_cpu_seconds, key=lambda k: self.sandbox_cpu_seconds[k])
        return name, self.sandbox_cpu_seconds[name] / self.window_seconds

    @property
    def outside_cpu_seconds(self) -> float:
        """Machine CPU over the window that neither gateway, sandbox nor wrk used."""
        ours = (
            self.cpu_seconds
            + sum(self.sandbox_cpu_seconds.values())
            + self.wrk.wrk_cpu_seconds
        )
        return max(0.0, self.machine_busy_seconds - ours)


def ratio(ours: float, theirs: float) -> float | None:
    return ours / theirs if theirs else None


def _summed(dicts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for d in dicts:
        for key, value in d.items():
            out[key] = out.get(key, 0) + value
    return out


# wrk's latency figures: pooled as the median of the rounds' (a percentile of
# the pooled requests is not in wrk's summaries); its maximum as the worst;
# every other field is a count or seconds, added up.
_MEDIANS = ("p50_ms", "p90_ms", "p99_ms", "mean_ms")


def _pooled_wrk(results: Sequence[WrkResult]) -> WrkResult:
    pooled: dict[str, Any] = {}
    for name in (f.name for f in fields(WrkResult)):
        values = [getattr(r, name) for r in results]
        if name in _MEDIANS:
            pooled[name] = statistics.median(values)
        else:
            pooled[name] = max(values) if name == "max_ms" else sum(values)
    return WrkResult(**pooled)


def pooled(measurements: Sequence[Measurement]) -> list[Measurement]:
    """One measurement per scenario, operation and gateway, from the rounds
    of ``--rounds`` (a single round: as it was): requests, seconds and CPU
    added up, so CPU per request and req/s are over every round's requests;
    p50 and p99 the median of the rounds'."""
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.scenario, m.operation, m.gateway), []).append(m)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        singles = [m.single for m in group if m.single is not None]
        out.append(
            replace(
                group[0],
                wrk=_pooled_wrk([m.wrk for m in group]),
                cpu_seconds=sum(m.cpu_seconds for m in group),
                upstream_calls=_summed([m.upstream_calls for m in group]),
                sandbox_cpu_seconds=_summed([m.sandbox_cpu_seconds for m in group]),
                machine_busy_seconds=sum(m.machine_busy_seconds for m in group),
                window_seconds=sum(m.window_seconds for m in group),
                counted_requests=sum(m.counted_requests for m in group),
                counted_failures=sum(m.counted_failures for m in group),
                upstream_calls_under_load=_summed(
                    [m.upstream_calls_under_load for m in group]
                ),
                single=_pooled_wrk(singles) if singles else None,
                counters=_summed([m.counters for m in group]),
                round=0,
                rounds=len(group),
            )
        )
    return out


def ratios(ours: Measurement, hive: Measurement) -> dict[str, float | None]:
    """Ours over Hive's, per figure of the table."""
    return {
        "rps": ratio(ours.rps, hive.rps),
        "p50": ratio(ours.wrk.p50_ms, hive.wrk.p50_ms),
        "p99": ratio(ours.wrk.p99_ms, hive.wrk.p99_ms),
        "cpu_per_request": ratio(ours.cpu_ms_per_request, hive.cpu_ms_per_request),
        "upstream_per_request": ratio(
            ours.upstream_per_request, hive.upstream_per_request
        ),
    }


@dataclass(frozen=True)
class Verdict:
    throughput: bool
    p99: bool
    upstream: bool
    p50_near_critical_path: bool

    @property
    def all(self) -> bool:
        return (
            self.throughput
            and self.p99
            and self.upstream
            and self.p50_near_critical_path
        )


def verdict(ours: Measurement, hive: Measurement) -> Verdict:
    path = ours.critical_path_ms
    return Verdict(
        throughput=ours.rps >= hive.rps,
        p99=ours.wrk.p99_ms <= hive.wrk.p99_ms,
        upstream=ours.upstream_per_request <= hive.upstream_per_request + 1e-9,
        p50_near_critical_path=path is None
        or ours.unqueued_p50_ms - path <= P50_SLACK_MS,
    )


@dataclass
class Report:
    started: str  # ISO time, also the file name
    settings: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # operation key -> title

    def pairs(
        self, scenario: str | None = None
    ) -> list[tuple[str, Measurement | None, Measurement | None]]:
        """(label, ours, Hive's) per run, of one scenario or all."""
        chosen = [m for m in self.measurements if scenario in (None, m.scenario)]
        keys = list(dict.fromkeys(m.label for m in chosen))
        found = {(m.label, m.gateway): m for m in chosen}
        return [(k, found.get((k, "ours")), found.get((k, "hive"))) for k in keys]

    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(m.scenario for m in self.measurements))

    def pooled(self) -> Report:
        """The report with each run's rounds pooled (:func:`pooled`)."""
        return replace(self, measurements=pooled(self.measurements))

    def rounds(self) -> list[Report]:
        """One report per round of ``--rounds`` (none for a single round)."""
        numbers = sorted({m.round for m in self.measurements})
        if len(numbers) < 2:
            return []
        return [
            replace(self, measurements=[m for m in self.measurements if m.round == n])
            for n in numbers
        ]


def _n(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _missed(names: Sequence[str]) -> str:
    return f" (missed: {', '.join(names)})" if names else ""


def measurement_rows(measurements: Sequence[Measurement]) -> list[str]:
    rows = [
        "| op | gateway | req/s | p50 ms | p99 ms | CPU ms/req | upstream/req "
        "| errors | requests | p50 ms, 1 connection |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        single = _n(m.single.p50_ms) if m.single else "n/a"
        rows.append(
            f"| {m.label} {m.name} | {m.gateway} | {_n(m.rps)} "
            f"| {_n(m.wrk.p50_ms)} | {_n(m.wrk.p99_ms)} "
            f"| {_n(m.cpu_ms_per_request, 2)} | {_n(m.upstream_per_request, 2)} "
            f"| {m.wrk.errors} | {m.wrk.requests} | {single} |"
        )
    return rows


def ratio_rows(report: Report, scenario: str | None = None) -> list[str]:
    rows = [
        "| op | req/s ours/Hive | p50 ours/Hive | p99 ours/Hive | CPU/req ours/Hive "
        "| upstream/req ours/Hive | our p50 (1 connection) - critical path "
        "| targets met |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, ours, hive in report.pairs(scenario):
        if ours is None or hive is None:
            continue
        v = verdict(ours, hive)
        missed = [
            name
            for name, ok in (
                ("throughput", v.throughput),
                ("p99", v.p99),
                ("upstream calls", v.upstream),
                ("p50 vs critical path", v.p50_near_critical_path),
            )
            if not ok
        ]
        cells = " | ".join(_x(r) for r in ratios(ours, hive).values())
        path = ours.critical_path_ms
        near = (
            "n/a"
            if path is None
            else f"{_n(ours.unqueued_p50_ms - path)} ms (path {_n(path, 0)} ms)"
        )
        flagged = [
            f"{m.gateway}: {m.invalid_provider} sandbox over 1/3 core"
            for m in (ours, hive)
            if m.invalid_provider
        ]
        met = (
            f"**invalid** ({'; '.join(flagged)})"
            if flagged
            else f"{_mark(v.all)}{_missed(missed)}"
        )
        rows.append(f"| {key} | {cells} | {near} | {met} |")
    return rows


def condition_rows(measurements: Sequence[Measurement]) -> list[str]:
    rows = [
        "| op | gateway | gateway CPU (cores) | busiest sandbox (core share) "
        "| wrk CPU (cores) | other CPU on the machine (cores) | reused records |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    rounds = any(m.round > 1 for m in measurements)
    for m in measurements:
        w = m.window_seconds or 1.0
        name, share = m.busiest_sandbox
        flag = " ⚠ over 1/3 core: row invalid" if share > PROVIDER_LIMIT else ""
        label = f"{m.label} (round {m.round})" if rounds else m.label
        rows.append(
            f"| {label} | {m.gateway} | {m.cpu_seconds / w:.2f} "
            f"| {name} {share:.2f}{flag} | {m.wrk.wrk_cpu_seconds / w:.2f} "
            f"| {m.outside_cpu_seconds / w:.2f} "
            f"| {m.wrk.reused if m.fresh else '-'} |"
        )
    return rows


def markdown(report: Report) -> str:
    raw, report = report, report.pooled()
    s = report.settings
    lines = [
        f"# Benchmark: our gateway vs GraphQL Mesh on Hive Gateway ({report.started})",
        "",
        f"Load: wrk, {s.get('connections')} connections, {s.get('threads')} threads, "
        f"{s.get('warmup')} s warm-up then {s.get('duration')} s measured, per "
        f"operation and gateway. Sandboxes: own processes, "
        f"{1000 * float(s.get('latency', 0)):.0f} ms per call. Workers: "
        f"{s.get('workers')} for each gateway"
        + (
            f"; every run measured in {s.get('rounds')} rounds (a row pools them)"
            if int(s.get("rounds") or 1) > 1
            else ""
        )
        + ". Our gateway at commit "
        f"{s.get('ours_commit') or s.get('commit', '?')}"
        + (
            f" (run from another checkout; sandboxes and load at {s.get('commit')})"
            if s.get("ours_commit")
            else ""
        )
        + ". Sandbox round trips alone: "
        + ", ".join(
            f"{w} read{'s' if w != '1' else ''} at once {float(ms):.1f} ms"
            for w, ms in dict(s.get("hops_ms") or {}).items()
        )
        + " (an operation's critical path is the sum of its sequential round "
        "trips).",
        "",
    ]
    for key, title in report.titles.items():
        lines.append(f"- **{key}**: {title}")
    lines += [
        "",
        "## Results",
        "",
        "req/s, p50, p99 and errors from wrk; CPU from /proc (the gateway's process "
        "tree over the measured run, divided by its requests); upstream calls per "
        f"request counted by the sandboxes over {s.get('count_requests')} requests "
        f"sent {s.get('connections')} at a time right after the run (the count "
        "during the run, in the JSON, also holds the cut-off requests' calls).",
        "",
    ]
    for scenario in report.scenarios():
        lines += [
            f"### {SCENARIO_TITLES.get(scenario, scenario)}",
            "",
            *measurement_rows(
                [m for m in report.measurements if m.scenario == scenario]
            ),
            "",
        ]
    hive = any(m.gateway == "hive" for m in report.measurements)
    lines += ["## Ours / Hive", ""] if hive else []
    for scenario in report.scenarios() if hive else ():
        lines += [
            f"### {SCENARIO_TITLES.get(scenario, scenario)}",
            "",
            *ratio_rows(report, scenario),
            "",
        ]
    compared = before_rows(report)
    if compared:
        lines += [
            "## Before / after (ours)",
            "",
            "Our gateway measured twice in the same run, on the same traffic: "
            f"'before', from a checkout at {s.get('before_commit', '?')}, and as "
            f"it is now, at {s.get('ours_commit') or s.get('commit', '?')}. CPU "
            "per request of the gateway's process tree; the ratio is now / "
            f"before (flagged above {BEFORE_TARGET:.2f}).",
            "",
            *compared,
            "",
        ]
    overhead = observability_rows(raw)
    if overhead:
        lines += [
            "## Observability on / off (ours)",
            "",
            "Our gateway measured three times in the same run: 'bare' (metrics "
            "off, no tracing), as it ships (metrics on, tracing off) and "
            "'observed' (metrics on, every request traced, the spans exported to "
            "an exporter that drops them). CPU per request of the gateway's "
            "process tree, against bare (targets: metrics at most "
            f"{METRICS_TARGET:.2f}, traced at most {OBSERVED_TARGET:.2f}).",
            "",
            *overhead,
            "",
        ]
    paying = counter_rows(report.measurements)
    if paying:
        lines += [
            "## What the caches and coalescing did (ours)",
            "",
            "Read from our gateway's /metrics before and after each measured run: "
            "reads answered by another request's upstream call (coalesced), and "
            "each cache's hits per request and hit share. A cache that hits next "
            "to never on varied traffic costs its lookups and pays nothing.",
            "",
            *paying,
            "",
        ]
    lines += [
        "## Conditions",
        "",
        "CPU in cores over each measured window (1.00 = one core busy all the "
        "time; the machine has "
        f"{s.get('cpus', '?')}). 'Other CPU' is what the rest of the machine used "
        "meanwhile: anything there competed with the run. A sandbox above a third "
        "of a core makes its row invalid (the providers must cost next to "
        "nothing). Reused records count only for approvals.",
        "",
        *condition_rows(raw.measurements),
        "",
    ]
    if report.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in report.notes), ""]
    lines += ["## Settings", "", "```json", json.dumps(s, indent=2), "```", ""]
    return "\n".join(lines)


def counter_rows(measurements: Sequence[Measurement]) -> list[str]:
    """Per run of ours: coalesced reads and each cache's hits per request."""
    counted = [m for m in measurements if m.counters and m.wrk.requests]
    if not counted:
        return []
    # keys "cache hits <name>" and "cache misses <name>": every cache named
    caches = sorted(
        {k.split(" ", 2)[2] for m in counted for k in m.counters if k[:6] == "cache "}
    )
    rows = [
        "| scenario | op | gateway | coalesced / req | "
        + " | ".join(f"{c}: hits / req (share)" for c in caches)
        + " |",
        "|---|---|---|---:|" + "---:|" * len(caches),
    ]
    for m in counted:
        n = m.wrk.requests
        cells = []
        for cache in caches:
            hits = m.counters.get(f"cache hits {cache}", 0.0)
            misses = m.counters.get(f"cache misses {cache}", 0.0)
            share = hits / (hits + misses) if hits + misses else None
            cells.append(f"{hits / n:.2f} ({'-' if share is None else f'{share:.0%}'})")
        rows.append(
            f"| {m.scenario} | {m.label} | {m.gateway} | "
            f"{m.counters.get('coalesced', 0.0) / n:.3f} | " + " | ".join(cells) + " |"
        )
    return rows


# CPU per request with metrics on, and with every request traced as well, over
# neither: the targets, +5 % and +15 %.
METRICS_TARGET = 1.05
OBSERVED_TARGET = 1.15


# No operation more than 5 % worse in CPU per request than before a change.
BEFORE_TARGET = 1.05


def before_pairs(report: Report) -> list[tuple[str, str, Measurement, Measurement]]:
    """(scenario, label, before, now) for every run measured both ways."""
    found = {(m.scenario, m.label, m.gateway): m for m in report.measurements}
    out = []
    for (scenario, label, gateway), before in found.items():
        now = found.get((scenario, label, "ours"))
        if gateway == "before" and now is not None:
            out.append((scenario, label, before, now))
    return out


def before_rows(report: Report) -> list[str]:
    pairs = before_pairs(report)
    if not pairs:
        return []
    rows = [
        "| scenario | op | CPU/req before (ms) | CPU/req now (ms) | now / before "
        "| req/s before | req/s now | p99 before (ms) | p99 now (ms) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, label, before, now in pairs:
        share = ratio(now.cpu_ms_per_request, before.cpu_ms_per_request)
        flag = "" if share is None or share <= BEFORE_TARGET else " **worse**"
        rows.append(
            f"| {scenario} | {label} | {before.cpu_ms_per_request:.2f} "
            f"| {now.cpu_ms_per_request:.2f} | {_x(share)}{flag} "
            f"| {before.rps:,.0f} | {now.rps:,.0f} "
            f"| {before.wrk.p99_ms:.1f} | {now.wrk.p99_ms:.1f} |"
        )
    return rows


def observability_pairs(
    report: Report,
) -> list[tuple[str, str, Measurement, Measurement | None, Measurement]]:
    """(scenario, label, bare, metrics, traced) for every run measured bare and
    observed (metrics: ours as it ships, when it ran)."""
    found = {(m.scenario, m.label, m.gateway): m for m in report.measurements}
    out = []
    for (scenario, label, gateway), on in found.items():
        off = found.get((scenario, label, "bare"))
        if gateway == "observed" and off is not None:
            metrics = found.get((scenario, label, "ours"))
            out.append((scenario, label, off, metrics, on))
    return out


def _verdict(share: float | None, target: float) -> str:
    return _x(share) + ("" if share is None or share <= target else " **over**")


def _round_ratios(
    report: Report,
) -> dict[tuple[str, str], list[tuple[float | None, float | None]]]:
    """Per scenario and label, each round's (metrics / bare, traced / bare)."""
    out: dict[tuple[str, str], list[tuple[float | None, float | None]]] = {}
    for one in report.rounds():
        for scenario, label, off, metrics, on in observability_pairs(one):
            out.setdefault((scenario, label), []).append(
                (
                    None
                    if metrics is None
                    else ratio(metrics.cpu_ms_per_request, off.cpu_ms_per_request),
                    ratio(on.cpu_ms_per_request, off.cpu_ms_per_request),
                )
            )
    return out


def _each(values: Sequence[float | None]) -> str:
    return ", ".join("-" if v is None else f"{v:.2f}" for v in values)


def observability_rows(report: Report) -> list[str]:
    """The table; with ``--rounds``, each row pools the rounds (CPU over all
    their requests) and a last column gives every round's ratios."""
    pairs = observability_pairs(report.pooled())
    if not pairs:
        return []
    per_round = _round_ratios(report)
    rows = [
        "| scenario | op | CPU/req bare (ms) | metrics (ms) | metrics / bare "
        "| traced (ms) | traced / bare | req/s bare | req/s metrics | req/s traced |"
        + (" each round: metrics / bare; traced / bare |" if per_round else ""),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        + ("---|" if per_round else ""),
    ]
    for scenario, label, off, metrics, on in pairs:
        traced = ratio(on.cpu_ms_per_request, off.cpu_ms_per_request)
        counted = (
            None
            if metrics is None
            else ratio(metrics.cpu_ms_per_request, off.cpu_ms_per_request)
        )
        rows.append(
            f"| {scenario} | {label} | {off.cpu_ms_per_request:.2f} "
            + (
                "| - | - "
                if metrics is None
                else f"| {metrics.cpu_ms_per_request:.2f} "
                f"| {_verdict(counted, METRICS_TARGET)} "
            )
            + f"| {on.cpu_ms_per_request:.2f} | {_verdict(traced, OBSERVED_TARGET)} "
            f"| {off.rps:,.0f} | "
            + ("-" if metrics is None else f"{metrics.rps:,.0f}")
            + f" | {on.rps:,.0f} |"
            + (
                f" {_each([r[0] for r in rounds])}; {_each([r[1] for r in rounds])} |"
                if (rounds := per_round.get((scenario, label)))
                else (" - |" if per_round else "")
            )
        )
    return rows


def as_json(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "started": report.started,
        "settings": report.settings,
        "titles": report.titles,
        "notes": report.notes,
        "measurements": [],
        "ratios": {},
    }
    for m in report.measurements:
        item = asdict(m)
        item.update(
            rps=m.rps,
            cpu_ms_per_request=m.cpu_ms_per_request,
            upstream_per_request=m.upstream_per_request,
            upstream_per_request_under_load=m.upstream_per_request_under_load,
            errors=m.wrk.errors,
        )
        out["measurements"].append(item)
    per_round = _round_ratios(report)
    report = report.pooled()
    for key, ours, hive in report.pairs():
        if ours is None or hive is None:
            continue
        out["ratios"][key] = {
            "scenario": ours.scenario,
            "invalid": bool(ours.invalid_provider or hive.invalid_provider),
            **ratios(ours, hive),
            "targets": asdict(verdict(ours, hive)),
        }
    out["before_after"] = {
        f"{scenario} {label}": {
            "cpu_ms_per_request_before": before.cpu_ms_per_request,
            "cpu_ms_per_request_now": now.cpu_ms_per_request,
            "ratio": ratio(now.cpu_ms_per_request, before.cpu_ms_per_request),
        }
        for scenario, label, before, now in before_pairs(report)
    }
    out["observability"] = {
        f"{scenario} {label}": {
            "cpu_ms_per_request_off": off.cpu_ms_per_request,
            "cpu_ms_per_request_metrics": (
                None if metrics is None else metrics.cpu_ms_per_request
            ),
            "cpu_ms_per_request_on": on.cpu_ms_per_request,
            "metrics_ratio": (
                None
                if metrics is None
                else ratio(metrics.cpu_ms_per_request, off.cpu_ms_per_request)
            ),
            "ratio": ratio(on.cpu_ms_per_request, off.cpu_ms_per_request),
            **(
                {"rounds": [list(r) for r in per_round[(scenario, label)]]}
                if (scenario, label) in per_round
                else {}
            ),
        }
        for scenario, label, off, metrics, on in observability_pairs(report)
    }
    return out


def write(report: Report, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / f"{report.started}.md"
    js = directory / f"{report.started}.json"
    md.write_text(markdown(report), "utf-8")
    js.write_text(json.dumps(as_json(report), indent=2) + "\n", "utf-8")
    return md, js
