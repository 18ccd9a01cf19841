"""The Grafana dashboard (``ops/grafana/gateway.json``) drawn without Grafana.

There is no Grafana or Prometheus here, so this does their part, in the small:

``record``  runs ``benchmarks.run`` with the arguments given after ``--``, finds our
            gateway's port among its child processes, and reads the gateway's
            ``/metrics`` every ``--interval`` seconds until the bench ends (one JSON
            line a scrape: time and exposition text);
``render``  evaluates each panel's PromQL queries over those scrapes (a subset
            of PromQL: selectors with matchers, ``rate``, ``sum``/``max``/``min``/
            ``avg`` ``by (…)``, ``histogram_quantile``, arithmetic between vectors
            and numbers; ``$__rate_interval`` is ``--window``), draws every panel
            as SVG on one HTML page and screenshots it with headless Chromium.

    python -m ops.dashboard record --out bench-results/metrics.jsonl -- \\
        --gateways ours --scenarios mix --duration 20 --warmup 5
    python -m ops.dashboard render bench-results/metrics.jsonl \\
        --png docs/dashboard.png

The picture is what these queries give on those scrapes; Grafana would draw the
same series in its own style.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "ops" / "grafana" / "gateway.json"

Labels = frozenset[tuple[str, str]]
Vector = dict[Labels, float]


# Recording -------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    """Every process descended from ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _gateway_port(bench: int) -> int | None:
    for pid in _children(bench):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        if "gateway.cli" in words and "serve" in words:
            for word in words:
                if word.startswith("--port="):
                    return int(word.split("=", 1)[1])
    return None


def record(out: Path, interval: float, bench_args: list[str]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    bench = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.run", *bench_args], cwd=ROOT
    )
    scrapes = 0
    with out.open("w") as sink, httpx.Client(timeout=5) as client:
        port = None
        while bench.poll() is None:
            port = port or _gateway_port(bench.pid)
            if port is not None:
                try:
                    response = client.get(f"http://127.0.0.1:{port}/metrics")
                    if response.status_code == 200:
                        line = {"t": time.time(), "text": response.text}
                        sink.write(json.dumps(line) + "\n")
                        sink.flush()
                        scrapes += 1
                except httpx.HTTPError:
                    port = None  # restarted or gone: look again
            time.sleep(interval)
    print(f"{scrapes} scrapes in {out}", file=sys.stderr)
    if bench.returncode:
        sys.exit(bench.returncode)


# A small PromQL -------------------------------------------------------------------


@dataclass
class Scrape:
    t: float
    series: dict[tuple[str, Labels], float]


def load(path: Path) -> list[Scrape]:
    scrapes = []
    for line in path.read_text().splitlines():
        item = json.loads(line)
        series = {}
        for family in text_string_to_metric_families(item["text"]):
            for s in family.samples:
                series[(s.name, frozenset(s.labels.items()))] = s.value
        scrapes.append(Scrape(item["t"], series))
    return scrapes


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>=~|!~|!=|[=(){}\[\],/*+-])|(?P<id>[A-Za-z_$][A-Za-z0-9_:$]*))"
)
AGGREGATIONS = {"sum": sum, "max": max, "min": min, "avg": lambda v: sum(v) / len(v)}


def tokens(text: str) -> list[str]:
    found, at = [], 0
    text = text.strip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise ValueError(f"cannot read {text[at:]!r}")
        found.append(match.group().strip())
        at = match.end()
    return found


class Query:
    """A parsed expression, evaluated at one instant over the scrapes."""

    def __init__(self, text: str, window: float) -> None:
        self.tokens = tokens(text.replace("$__rate_interval", f"{int(window)}s"))
        self.at = 0
        self.tree = self._expr()
        if self.at != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.at]!r} in {text!r}")

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, read {token!r}")
        self.at += 1
        return token

    def _expr(self) -> Any:
        left = self._product()
        while self._peek() in ("+", "-"):
            left = ("binary", self._take(), left, self._product())
        return left

    def _product(self) -> Any:
        left = self._term()
        while self._peek() in ("*", "/"):
            left = ("binary", self._take(), left, self._term())
        return left

    def _term(self) -> Any:
        token = self._take()
        if token == "(":
            inner = self._expr()
            self._take(")")
            return inner
        if re.fullmatch(r"\d+(\.\d+)?", token):
            return ("number", float(token))
        if token in AGGREGATIONS:
            by: list[str] = []
            if self._peek() == "by":
                self._take()
                by = self._names()
            self._take("(")
            inner = self._expr()
            self._take(")")
            return ("aggregate", token, by, inner)
        if token == "rate":
            self._take("(")
            selector = self._term()
            self._take(")")
            return ("rate", selector)
        if token == "histogram_quantile":
            self._take("(")
            q = float(self._take())
            self._take(",")
            inner = self._expr()
            self._take(")")
            return ("quantile", q, inner)
        matchers: list[tuple[str, str, str]] = []
        if self._peek() == "{":
            self._take()
            while self._peek() != "}":
                name, op, value = self._take(), self._take(), self._take()
                matchers.append((name, op, json.loads(value)))
                if self._peek() == ",":
                    self._take()
            self._take("}")
        window = None
        if self._peek() == "[":
            self._take()
            number = self._take()
            unit = self._take()
            window = float(number) * {"s": 1, "m": 60, "h": 3600}[unit]
            self._take("]")
        return ("selector", token, matchers, window)

    def _names(self) -> list[str]:
        self._take("(")
        names = []
        while self._peek() != ")":
            token = self._take()
            if token != ",":
                names.append(token)
        self._take(")")
        return names

    def at_time(self, scrapes: list[Scrape], index: int) -> Vector | float:
        return _evaluate(self.tree, scrapes, index)


def _matches(labels: Labels, matchers: list[tuple[str, str, str]]) -> bool:
    values = dict(labels)
    for name, op, wanted in matchers:
        value = values.get(name, "")
        if op == "=" and value != wanted:
            return False
        if op == "!=" and value == wanted:
            return False
        if op == "=~" and not re.fullmatch(wanted, value):
            return False
        if op == "!~" and re.fullmatch(wanted, value):
            return False
    return True


def _select(scrape: Scrape, name: str, matchers: list[tuple[str, str, str]]) -> Vector:
    return {
        labels: value
        for (series, labels), value in scrape.series.items()
        if series == name and _matches(labels, matchers)
    }


def _evaluate(node: Any, scrapes: list[Scrape], index: int) -> Vector | float:
    kind = node[0]
    if kind == "number":
        return float(node[1])
    if kind == "selector":
        return _select(scrapes[index], node[1], node[2])
    if kind == "rate":
        _, name, matchers, window = node[1]
        now = scrapes[index]
        start = index
        while start > 0 and now.t - scrapes[start - 1].t <= window:
            start -= 1
        if start == index:
            return {}
        first = _select(scrapes[start], name, matchers)
        last = _select(now, name, matchers)
        elapsed = now.t - scrapes[start].t
        return {
            labels: max(0.0, value - first.get(labels, 0.0)) / elapsed
            for labels, value in last.items()
        }
    if kind == "aggregate":
        _, how, by, inner = node
        vector = _evaluate(inner, scrapes, index)
        assert isinstance(vector, dict)
        groups: dict[Labels, list[float]] = {}
        for labels, value in vector.items():
            key = frozenset((k, v) for k, v in labels if k in by)
            groups.setdefault(key, []).append(value)
        return {key: AGGREGATIONS[how](values) for key, values in groups.items()}
    if kind == "quantile":
        _, q, inner = node
        vector = _evaluate(inner, scrapes, index)
        assert isinstance(vector, dict)
        return _quantile(q, vector)
    if kind == "binary":
        _, op, left_node, right_node = node
        left = _evaluate(left_node, scrapes, index)
        right = _evaluate(right_node, scrapes, index)
        return _binary(op, left, right)
    raise ValueError(node)


def _apply(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if b else math.nan


def _binary(op: str, left: Vector | float, right: Vector | float) -> Vector | float:
    if isinstance(left, float) and isinstance(right, float):
        return _apply(op, left, right)
    if isinstance(left, float):
        assert isinstance(right, dict)
        return {k: _apply(op, left, v) for k, v in right.items()}
    if isinstance(right, float):
        return {k: _apply(op, v, right) for k, v in left.items()}
    return {k: _apply(op, v, right[k]) for k, v in left.items() if k in right}


def _quantile(q: float, vector: Vector) -> Vector:
    """Prometheus's histogram_quantile: linear within the bucket it falls in."""
    groups: dict[Labels, list[tuple[float, float]]] = {}
    for labels, count in vector.items():
        le = dict(labels).get("le")
        if le is None:
            continue
        key = frozenset((k, v) for k, v in labels if k != "le")
        groups.setdefault(key, []).append((float(le), count))
    result: Vector = {}
    for key, buckets in groups.items():
        buckets.sort()
        total = buckets[-1][1]
        if total <= 0:
            continue
        rank = q * total
        lower, below = 0.0, 0.0
        for upper, count in buckets:
            if count >= rank:
                if math.isinf(upper):
                    result[key] = lower
                else:
                    inside = count - below
                    share = (rank - below) / inside if inside else 1.0
                    result[key] = lower + (upper - lower) * share
                break
            lower, below = upper, count
    return result


# Drawing ---------------------------------------------------------------------------

COLORS = [
    "#73bf69",
    "#f2cc0c",
    "#8ab8ff",
    "#ff780a",
    "#f2495c",
    "#5794f2",
    "#b877d9",
    "#fade2a",
    "#96d98d",
    "#ffa6b0",
    "#c0d8ff",
    "#ffb357",
]


def _legend(template: str, labels: Labels) -> str:
    values = dict(labels)
    return re.sub(
        r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), ""), template
    )


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "percentunit":
        return f"{value * 100:.0f}%"
    number = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return f"{number} /s" if unit == "reqps" else number


def panel_series(
    panel: dict[str, Any], scrapes: list[Scrape], window: float
) -> list[tuple[str, list[tuple[float, float]]]]:
    series: dict[str, list[tuple[float, float]]] = {}
    start = scrapes[0].t
    for target in panel["targets"]:
        query = Query(target["expr"], window)
        for index in range(len(scrapes)):
            value = query.at_time(scrapes, index)
            if isinstance(value, float):
                value = {frozenset(): value}
            for labels, number in value.items():
                if math.isnan(number):
                    continue
                name = _legend(target.get("legendFormat", ""), labels) or "value"
                series.setdefault(name, []).append((scrapes[index].t - start, number))
    return sorted(series.items())


def svg(panel: dict[str, Any], scrapes: list[Scrape], window: float) -> str:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "none")
    width, height, left, top, bottom = 760, 300, 70, 10, 30
    series = panel_series(panel, scrapes, window)
    span = max(scrapes[-1].t - scrapes[0].t, 1.0)
    peak = max((v for _, points in series for _, v in points), default=0.0)
    peak = peak * 1.1 if peak > 0 else 1.0
    if unit == "percentunit":
        peak = 1.0
    plot_w, plot_h = width - left - 10, height - top - bottom

    def x(t: float) -> float:
        return left + plot_w * t / span

    def y(v: float) -> float:
        return top + plot_h * (1 - v / peak)

    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}">']
    for i in range(5):
        value = peak * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}" class="grid"/><text x="{left - 6}" '
            f'y="{y(value) + 4:.1f}" class="tick" text-anchor="end">'
            f"{html.escape(_fmt(value, unit))}</text>"
        )
    for i in range(7):
        t = span * i / 6
        anchor = "end" if i == 6 else "middle"
        parts.append(
            f'<text x="{x(t):.1f}" y="{height - 10}" class="tick" '
            f'text-anchor="{anchor}">{t:.0f} s</text>'
        )
    legend = []
    for n, (name, points) in enumerate(series):
        color = COLORS[n % len(COLORS)]
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        parts.append(f'<polyline points="{path}" stroke="{color}" class="line"/>')
        last = points[-1][1] if points else 0.0
        legend.append(
            f'<span><i style="background:{color}"></i>{html.escape(name)} '
            f"<b>{html.escape(_fmt(last, unit))}</b></span>"
        )
    if not series:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" class="nodata" '
            'text-anchor="middle">No data</text>'
        )
    parts.append("</svg>")
    return "".join(parts) + f'<div class="legend">{"".join(legend)}</div>'


PAGE = """<!doctype html><meta charset="utf-8"><title>{title}</title><style>
body {{ background:#111217; color:#ccccdc; font:13px system-ui, sans-serif;
       margin:16px; width:1580px }}
h1 {{ font-size:18px; margin:0 0 4px }} .note {{ color:#8e8e9e; margin:0 0 12px }}
.grid2 {{ display:grid; grid-template-columns:1fr 1fr; gap:10px }}
.panel {{ background:#181b1f; border:1px solid #2c3235; border-radius:3px;
          padding:8px 10px }}
.panel h2 {{ font-size:13px; margin:0 0 6px; font-weight:500 }}
.grid {{ stroke:#2c3235 }} .tick {{ fill:#8e8e9e; font-size:11px }}
.line {{ fill:none; stroke-width:1.5 }} .nodata {{ fill:#8e8e9e; font-size:16px }}
.legend span {{ margin-right:12px; white-space:nowrap; display:inline-block }}
.legend i {{ display:inline-block; width:12px; height:3px; margin-right:4px;
             vertical-align:middle }}
.legend b {{ font-weight:500; color:#8e8e9e }}
</style><h1>{title}</h1><p class="note">{note}</p><div class="grid2">{panels}</div>
"""


def render(
    samples: Path, dashboard: Path, out_html: Path, png: Path | None, window: float
) -> None:
    board = json.loads(dashboard.read_text())
    scrapes = load(samples)
    if len(scrapes) < 2:
        raise SystemExit(f"{samples}: fewer than two scrapes")
    span = scrapes[-1].t - scrapes[0].t
    note = (
        f"Not Grafana: {dashboard.relative_to(ROOT)}'s panel queries evaluated by "
        f"ops/dashboard.py on {len(scrapes)} scrapes of the gateway's /metrics "
        f"over {span:.0f} s of a bench run (rate window {window:.0f} s), drawn as SVG."
    )
    panels = "".join(
        f'<div class="panel"><h2>{html.escape(p["title"])}</h2>'
        f"{svg(p, scrapes, window)}</div>"
        for p in sorted(
            board["panels"], key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])
        )
    )
    out_html.write_text(
        PAGE.format(
            title=html.escape(board["title"]), note=html.escape(note), panels=panels
        )
    )
    if png is not None:
        screenshot(out_html, png, rows=math.ceil(len(board["panels"]) / 2))


def screenshot(page: Path, png: Path, rows: int) -> None:
    chromium = next(
        (c for c in ("chromium", "chromium-browser", "google-chrome") if _which(c)),
        None,
    )
    if chromium is None:
        raise SystemExit("no Chromium to take the screenshot with")
    height = 90 + rows * 400
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size=1612,{height}",
                f"--screenshot={png.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def _which(name: str) -> bool:
    return any(
        os.access(Path(d) / name, os.X_OK)
        for d in os.environ.get("PATH", "").split(":")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ops.dashboard", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run the bench, scrape our gateway")
    rec.add_argument("--out", type=Path, required=True)
    rec.add_argument("--interval", type=float, default=1.0)
    rec.add_argument("bench_args", nargs="*", help="after --: benchmarks.run's")
    draw = sub.add_parser("render", help="draw the dashboard from the scrapes")
    draw.add_argument("samples", type=Path)
    draw.add_argument("--dashboard", type=Path, default=DASHBOARD)
    draw.add_argument("--html", type=Path, default=None)
    draw.add_argument("--png", type=Path, default=None)
    draw.add_argument("--window", type=float, default=10.0, help="rate window, s")
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.out, args.interval, args.bench_args)
    else:
        page = args.html or args.samples.with_suffix(".html")
        render(args.samples, args.dashboard, page, args.png, args.window)


if __name__ == "__main__":
    main()
