"""``/readyz`` and ``/livez``: starting, ready, every breaker open, a stalled
watchdog; and a real uvicorn process draining on SIGTERM while a slow request
in flight still completes."""

from __future__ import annotations

import threading
import time

import httpx

from adapters.model import Provider
from gateway.app import create_app
from gateway.health import Health
from gateway.settings import Settings
from tests.conftest import serve
from tests.fleet.processes import Replica

PAGE = "query Page($first: Int) { applications(first: $first) { totalCount } }"


async def test_not_ready_while_starting() -> None:
    app = create_app(Settings())
    # No lifespan has run: the upstream clients do not exist yet.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "starting"}
        assert (await client.get("/livez")).status_code == 200
        assert (await client.get("/healthz")).json()["status"] == "ok"


async def test_not_ready_while_every_breaker_is_open_and_not_alive_when_stalled() -> (
    None
):
    async with serve(Settings(breaker_threshold=1)) as gateway:
        client = gateway.client
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        app = client._transport.app  # type: ignore[attr-defined]
        breakers = app.state.upstreams.breakers
        for provider in list(Provider)[:-1]:
            breakers[provider].record_failure("http_503")
        # One provider still up: the replica can serve its fields.
        assert (await client.get("/readyz")).status_code == 200
        breakers[Provider.MAMBU].record_failure("http_503")
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert down.json() == {"status": "every provider's circuit is open"}
        # Liveness does not care about providers.
        assert (await client.get("/livez")).status_code == 200
        # A cool-down over: ready again, so that traffic brings the probe that
        # can close the breaker (an unready replica would get none).
        breakers[Provider.MAMBU]._opened_at -= breakers[Provider.MAMBU].cooldown
        assert (await client.get("/readyz")).status_code == 200

        health: Health = app.state.health
        await health.stop_watchdog()
        health.last_tick -= health.stall + 1  # the tick that never came
        stalled = await client.get("/livez")
        assert stalled.status_code == 503
        assert "no watchdog tick" in stalled.json()["status"]


def test_sigterm_drains_then_finishes_the_request_in_flight() -> None:
    replica = Replica(
        {
            "GATEWAY_SANDBOX_LATENCY": "1.5",
            "GATEWAY_SHUTDOWN_DRAIN": "2",
            "GATEWAY_SHUTDOWN_GRACE": "20",
        }
    )
    try:
        replica.wait_ready()
        answers: list[httpx.Response] = []

        def slow() -> None:
            answers.append(
                httpx.post(
                    replica.url + "/graphql",
                    json={"query": PAGE, "variables": {"first": 1}},
                    timeout=30,
                )
            )

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.5)  # the request is on its way (served even if it is late)
        replica.terminate()
        # Not ready at once, while the server still answers.
        draining = httpx.get(replica.url + "/readyz", timeout=5)
        assert draining.status_code == 503
        assert draining.json() == {"status": "draining"}
        thread.join(timeout=30)
        (answer,) = answers
        assert answer.status_code == 200
        body = answer.json()
        assert "errors" not in body, body
        assert body["data"]["applications"]["totalCount"] >= 1
        replica.process.wait(timeout=20)  # then it stops
        assert "SIGTERM: draining" in replica.log()
    finally:
        replica.stop()
