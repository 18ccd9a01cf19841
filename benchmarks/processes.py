"""Starting and stopping what the benchmark measures, and reading its CPU from /proc.

Every process is started here, in its own session, and stopped by its own pid
(its process group: uvicorn or Node workers go with it). CPU is the user + system
ticks of a process and all its descendants, read from ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def start(
    name: str,
    command: list[str],
    *,
    log: Path,
    env: Mapping[str, str],
    cwd: Path | None = None,
) -> Started:
    handle = log.open("wb")
    process = subprocess.Popen(
        command,
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    handle.close()
    return Started(name, process, log)


def stop(started: Iterable[Started], grace: float = 5.0) -> None:
    """SIGTERM each process group, then SIGKILL what is left after ``grace``."""
    running = [s for s in started if s.alive()]
    for s in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(s.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for s in running:
        try:
            s.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(s.pid, signal.SIGKILL)
            s.process.wait()


def wait_until_ready(
    started: Started, url: str, *, timeout: float = 60.0, ok: Iterable[int] = ()
) -> None:
    """Until ``url`` answers (any status in ``ok``, or < 500); fail if it died."""
    accepted = set(ok)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not started.alive():
            raise RuntimeError(
                f"{started.name} exited ({started.process.returncode}):\n"
                + started.log_tail()
            )
        try:
            status = httpx.get(url, timeout=2.0).status_code
            if status in accepted or status < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{started.name} not ready at {url}:\n{started.log_tail()}")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def choose_ports(preferred: list[int]) -> tuple[list[int], bool]:
    """``preferred`` if every one is free, else as many free ports; and which."""
    if all(port_free(p) for p in preferred):
        return preferred, True
    chosen: list[int] = []
    while len(chosen) < len(preferred):
        port = free_port()
        if port not in chosen:
            chosen.append(port)
    return chosen, False


# /proc ----------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after it.
    return raw[raw.rindex(")") + 2 :].split()


def process_cpu_ticks(pid: int) -> int:
    """utime + stime of one process (every thread), in clock ticks."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0
    # after the name: state(3) ppid(4) ... utime(14) stime(15), so index 11, 12
    return int(fields[11]) + int(fields[12])


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = children_of(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU of ``pid`` and every live descendant, in seconds."""
    return sum(process_cpu_ticks(p) for p in descendants(pid)) / CLOCK_TICKS


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS
