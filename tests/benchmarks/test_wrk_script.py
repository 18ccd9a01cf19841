"""The wrk script against a tiny local server: it parses, expands the template
lines of ``benchmarks.traffic``, never repeats a line while they last, and counts
bad answers. Skipped where wrk is not installed
(``make bench`` installs it)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.load import Load, run_wrk, wrk_path

pytestmark = pytest.mark.skipif(wrk_path() is None, reason="wrk is not installed")


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: Counter[bytes] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            self.bodies[body] += 1
        answer = b'{"errors":[]}' if b"bad" in body else b'{"data":{"ok":true}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


class Quiet(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # wrk drops its connections when its time is up


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.bodies = Counter()
    httpd = Quiet(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/graphql"
    httpd.shutdown()
    httpd.server_close()


def test_each_thread_takes_its_own_lines_and_counts_reuse(
    server: str, tmp_path: Path
) -> None:
    bodies = tmp_path / "bodies.txt"
    bodies.write_text(
        '={"op":1,"variables":\n' + "".join(f'1 {{"n":{i}}}\n' for i in range(50))
    )

    result = run_wrk(
        server, bodies, '"ok"', "t", Load(connections=4, threads=2, seconds=1)
    )

    assert result.requests > 50, "the server is too slow for this test"
    seen = Recorder.bodies
    sent = sum(seen.values())
    assert set(seen) == {b'{"op":1,"variables":{"n":%d}}' % i for i in range(50)}
    assert max(seen.values()) - min(seen.values()) <= 2
    # requests made beyond the first round, give or take the 4 connections' last
    assert abs(result.reused - (sent - 50)) <= 4
    assert result.errors == 0


def test_error_bodies_and_missing_data_are_counted(server: str, tmp_path: Path) -> None:
    bodies = tmp_path / "bodies.txt"
    bodies.write_text('={"bad":\n1 1\n')

    result = run_wrk(
        server, bodies, '"ok"', "t", Load(connections=2, threads=1, seconds=1)
    )

    assert result.requests > 0
    assert result.errored == result.requests
    assert result.errors == result.requests


def test_a_mixed_file_is_good_with_any_of_its_markers(
    server: str, tmp_path: Path
) -> None:
    """Two templates; the answers of both hold one of the two markers."""
    bodies = tmp_path / "bodies.txt"
    bodies.write_text('={"a":\n={"bad":\n1 1\n2 2\n1 3\n')

    good = run_wrk(
        server,
        bodies,
        ['"ok"', '"errors"'],
        "t",
        Load(connections=2, threads=1, seconds=1),
    )
    Recorder.bodies.clear()
    one = tmp_path / "one.txt"
    one.write_text('={"a":\n1 1\n')
    missing = run_wrk(
        server,
        one,
        ['"absent"', '"nowhere"'],
        "t",
        Load(connections=2, threads=1, seconds=1),
    )

    assert good.requests > 3
    assert good.unexpected == 0
    assert 0 < good.errored < good.requests  # the "bad" template's answers only
    assert missing.unexpected == missing.requests > 0
    assert set(Recorder.bodies) == {b'{"a":1}'}
