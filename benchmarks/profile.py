"""Where our gateway spends its CPU under load: py-spy, summarized.

``record`` attaches ``py-spy record --format raw`` (collapsed stacks) to the
gateway while a separate load runs (not during the measured runs: sampling costs
the process some time), then ``summarize`` reads the stacks: the share of samples
per layer (the package of the frame on top: where the time goes), the functions
that spend the most on their own (self), and inclusive time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from benchmarks import results
from benchmarks.operations import ROOT

OURS = ("gateway", "schema", "adapters")
# site-packages folder -> the layer's name, where they differ
PACKAGES = {"graphql": "graphql-core", "jwt": "pyjwt"}


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    found = found or shutil.which("py-spy")
    if found is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=True
        )
        found = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("py-spy is not installed and could not be")
    return found


def choose(report: results.Report, wanted: str) -> str:
    """The operation keys to profile: as given, or 'auto' for the worst ratio."""
    if wanted != "auto":
        return wanted
    worst, low = "", float("inf")
    for key, ours, hive in report.pairs("varied"):
        if ours is None or hive is None:
            continue
        value = results.ratio(ours.rps, hive.rps)
        if value is not None and value < low:
            worst, low = key, value
    return worst


def record(pid: int, load: Callable[[], None], prefix: Path, seconds: float) -> str:
    """Profile ``pid`` while ``load`` runs; write the stacks and a summary."""
    raw = prefix.with_suffix(".collapsed.txt")
    command = [
        py_spy(),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--rate",
        "200",
        "--duration",
        str(max(1, round(seconds))),
        "--format",
        "raw",
        "--full-filenames",
        "--nonblocking",
        "--output",
        str(raw),
    ]
    spy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    worker = threading.Thread(target=load)
    worker.start()
    output, _ = spy.communicate()
    worker.join()
    if spy.returncode != 0 or not raw.is_file():
        return "py-spy failed: " + output.decode(errors="replace")[-500:]
    lines = raw.read_text("utf-8").splitlines()
    summary = prefix.with_suffix(".summary.md")
    summary.write_text(summarize(lines), "utf-8")
    layers, total = count_layers(lines)
    top = ", ".join(f"{k} {v / total:.0%}" for k, v in layers.most_common(10))
    return f"{summary.name} ({total} samples): {top}"


def _path(frame: str) -> str:
    """The file of a frame ``name (path:line)``."""
    return frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]


def _layer(frame: str) -> str:
    """Ours (``our schema/``…), else the top-level package or stdlib module."""
    path = _path(frame)
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(f"{ROOT}/"):
        path = path.removeprefix(f"{ROOT}/")
    elif "/lib/python3" in path:
        path = path.split("/lib/python3", 1)[1].split("/", 1)[1]
    if not path or path.startswith(("<", "/")):
        return "other"
    top = path.split("/", 1)[0].removesuffix(".py")
    if top in OURS and "/" in path:
        return f"our {top}/"
    return PACKAGES.get(top, top)


def _function(frame: str) -> str:
    """``name (path:line)`` without the line, the path shortened."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", f"{ROOT}/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def _stacks(lines: Iterable[str]) -> Iterable[tuple[list[str], int]]:
    """(frames, count) of each collapsed stack (``frame;frame;... count``)."""
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        if frames:
            yield frames, int(count_text)


def count_layers(lines: Iterable[str]) -> tuple[Counter[str], int]:
    """Samples per layer (ours, a package or a stdlib module) of the innermost
    frame that has one (generated code has none): where the time goes."""
    layers: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(lines):
        total += count
        named = (_layer(f) for f in reversed(frames))
        layers[next((x for x in named if x != "other"), "other")] += count
    return layers, total


def summarize(lines: Iterable[str], top: int = 25) -> str:
    """A markdown summary of collapsed stacks: layers, self and inclusive time."""
    layers, _ = count_layers(lines := list(lines))
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(lines):
        total += count
        own[_function(frames[-1])] += count
        for name in {_function(f) for f in frames}:
            inclusive[name] += count
    if not total:
        return "no samples\n"

    def table(title: str, counts: Counter[str], head: str) -> list[str]:
        rows = [f"### {title}", "", f"| {head} | share of samples |", "|---|---:|"]
        rows += [f"| {k} | {v / total:.1%} |" for k, v in counts.most_common(top)]
        return [*rows, ""]

    return "\n".join(
        [
            f"# py-spy: {total} samples",
            "",
            *table(
                "Layers (each sample once: the innermost frame with a package)",
                layers,
                "layer",
            ),
            *table("Self time (the frame on top)", own, "function"),
            *table("Inclusive time", inclusive, "function"),
        ]
    )
