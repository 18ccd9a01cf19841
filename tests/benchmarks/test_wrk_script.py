"""The wrk script against a tiny local server: fresh bodies are never repeated
while they last, and bad answers are counted. Skipped where wrk is not installed
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
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text("".join(f'{{"n":{i}}}\n' for i in range(50)))

    result = run_wrk(
        server, bodies, '"ok"', "t", Load(connections=4, threads=2, seconds=1)
    )

    assert result.requests > 50, "the server is too slow for this test"
    seen = Recorder.bodies
    sent = sum(seen.values())
    assert len(seen) == 50  # every line, round robin: none twice before all once
    assert max(seen.values()) - min(seen.values()) <= 2
    # requests made beyond the first round, give or take the 4 connections' last
    assert abs(result.reused - (sent - 50)) <= 4
    assert result.errors == 0


def test_error_bodies_and_missing_data_are_counted(server: str, tmp_path: Path) -> None:
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text('{"bad":1}\n')

    result = run_wrk(
        server, bodies, '"ok"', "t", Load(connections=2, threads=1, seconds=1)
    )

    assert result.requests > 0
    assert result.errored == result.requests
    assert result.errors == result.requests
