"""The sandboxes' counting mode and their admin routes, as ``gateway sandbox`` serves
them (``adapters.sandbox_kit``, ``gateway.cli.standalone_sandboxes``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY, create_app
from adapters.model import Provider
from adapters.sandbox_kit import SandboxAdmin
from gateway.cli import standalone_sandboxes

BASE = "http://sandbox/accountApplications"
APITURE_CREDENTIALS = {
    "API-Key": DEMO_API_KEY,
    "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}",
}


@pytest.fixture
async def apiture() -> AsyncIterator[tuple[SandboxAdmin, httpx.AsyncClient]]:
    admin = standalone_sandboxes(latency=0.0)[Provider.APITURE]
    transport = httpx.ASGITransport(app=admin)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", headers=APITURE_CREDENTIALS
    ) as c:
        yield admin, c


async def test_counting_mode_counts_calls_but_keeps_no_request_log() -> None:
    sandbox = create_app()
    sandbox.control.record = False
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(
        transport=transport, headers=APITURE_CREDENTIALS
    ) as client:
        await client.get(f"{BASE}/applications")
        await client.get(f"{BASE}/applications?limit=2")
        await client.get(f"{BASE}/enrollments")

    assert sandbox.control.requests == []
    assert sandbox.control.calls() == 3
    assert sandbox.control.calls("GET", r".*/applications") == 2
    assert sandbox.control.calls("POST") == 0
    assert sandbox.control.summary() == {
        "total": 3,
        "routes": {
            "GET /accountApplications/applications": 2,
            "GET /accountApplications/enrollments": 1,
        },
    }


async def test_recording_mode_still_logs_every_request_and_counts_too() -> None:
    sandbox = create_app()
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(
        transport=transport, headers=APITURE_CREDENTIALS
    ) as client:
        await client.get(f"{BASE}/applications")

    assert [r.path for r in sandbox.control.requests] == [
        "/accountApplications/applications"
    ]
    assert sandbox.control.summary()["total"] == 1
    sandbox.control.clear()
    assert sandbox.control.requests == []
    assert sandbox.control.summary()["total"] == 0


async def test_a_standalone_sandbox_answers_its_calls_and_does_not_count_them(
    apiture: tuple[SandboxAdmin, httpx.AsyncClient],
) -> None:
    admin, client = apiture
    await client.get("/accountApplications/applications")

    answer = await client.get("/_sandbox/calls")
    again = await client.get("/_sandbox/calls")

    assert answer.status_code == 200
    assert answer.json() == {
        "total": 1,
        "routes": {"GET /accountApplications/applications": 1},
    }
    assert again.json()["total"] == 1
    assert admin.sandbox.control.record is False
    assert admin.sandbox.control.requests == []


async def test_reset_zeroes_the_counters(
    apiture: tuple[SandboxAdmin, httpx.AsyncClient],
) -> None:
    _, client = apiture
    await client.get("/accountApplications/applications")

    reset = await client.post("/_sandbox/reset")

    assert reset.status_code == 200
    assert (await client.get("/_sandbox/calls")).json() == {"total": 0, "routes": {}}


async def test_seeding_over_http_answers_the_new_running_applications(
    apiture: tuple[SandboxAdmin, httpx.AsyncClient],
) -> None:
    admin, client = apiture
    before = len(admin.sandbox.store.applications)

    answer = await client.post("/_sandbox/seed/applications", json={"count": 3})

    ids = answer.json()
    assert answer.status_code == 200
    assert len(ids) == len(set(ids)) == 3
    assert len(admin.sandbox.store.applications) == before + 3
    for id_ in ids:
        detail = await client.get(f"/accountApplications/applications/{id_}")
        assert detail.json()["state"] == "running"
        assert "apiture:approve" in detail.json()["_links"]


async def test_a_seeded_application_approves_once(
    apiture: tuple[SandboxAdmin, httpx.AsyncClient],
) -> None:
    _, client = apiture
    (id_,) = (
        await client.post("/_sandbox/seed/applications", json={"count": 1})
    ).json()

    approved = await client.post(
        "/accountApplications/approvedApplications",
        params={"application": id_},
        headers={"If-Match": "*"},
    )

    assert approved.status_code == 200
    assert approved.json()["state"] == "approved"
    assert "apiture:approve" not in approved.json()["_links"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/_sandbox/seed/applications", {"count": -1}, 400),
        ("/_sandbox/seed/applications", {"count": "many"}, 400),
        ("/_sandbox/seed/applications", {}, 400),
        ("/_sandbox/seed/enrollments", {"count": 1}, 404),
        ("/_sandbox/nothing", {}, 404),
    ],
)
async def test_admin_routes_refuse_what_they_do_not_know(
    apiture: tuple[SandboxAdmin, httpx.AsyncClient],
    path: str,
    body: dict[str, object],
    status: int,
) -> None:
    _, client = apiture

    answer = await client.post(path, json=body)

    assert answer.status_code == status
    assert "error" in answer.json()


def test_every_standalone_sandbox_counts_without_logging() -> None:
    admins = standalone_sandboxes(latency=0.02)

    assert set(admins) == set(Provider)
    for admin in admins.values():
        assert admin.sandbox.control.record is False
        assert admin.sandbox.control.latency == 0.02


def test_bench_applications_are_seeded_at_start() -> None:
    plain = standalone_sandboxes(latency=0.0)[Provider.APITURE].sandbox.store
    seeded = standalone_sandboxes(latency=0.0, bench_applications=5)[
        Provider.APITURE
    ].sandbox.store

    assert len(seeded.applications) == len(plain.applications) + 5
    assert len(seeded.ids_in_state("running")) == len(plain.ids_in_state("running")) + 5


def test_the_sandbox_command_takes_a_bench_seeding_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gateway import cli

    seen: dict[str, object] = {}

    async def serve(*args: object) -> None:
        seen["args"] = args

    monkeypatch.setattr(cli, "_serve_sandboxes", serve)
    cli.main(["sandbox", "--provider", "apiture", "--bench-applications", "7"])

    assert seen["args"] == ([Provider.APITURE], None, 0.0, "127.0.0.1", 7)


async def test_approvable_applications_come_with_the_etag_a_detail_read_answers(
    apiture: tuple[SandboxAdmin, httpx.AsyncClient],
) -> None:
    from benchmarks.sandboxes import approvable

    admin, client = apiture
    pairs = approvable(admin.sandbox.store, 3)

    assert len({i for i, _ in pairs}) == 3
    for id_, etag in pairs:
        detail = await client.get(f"/accountApplications/applications/{id_}")
        assert detail.headers["ETag"] == etag
        approved = await client.post(
            "/accountApplications/approvedApplications",
            params={"application": id_},
            headers={"If-Match": etag},
        )
        assert approved.json()["state"] == "approved"
        again = await client.post(
            "/accountApplications/approvedApplications",
            params={"application": id_},
            headers={"If-Match": etag},
        )
        assert again.status_code == 412  # the version changed: a stale ETag


def test_the_population_is_deterministic_and_its_customers_have_documents() -> None:
    from adapters.connectfi.sandbox.store import ConnectFiStore
    from adapters.mambu.sandbox.store import MambuStore
    from benchmarks import population

    connectfi, mambu = ConnectFiStore(), MambuStore()
    customers = population.seed_connectfi(connectfi)
    clients = population.seed_mambu(mambu)

    assert customers == clients == population.customers()
    assert len(set(customers)) == population.CUSTOMERS >= 200
    for customer in customers:
        assert len(connectfi.applications_of(customer)) == 4
        holder = mambu.holder("CLIENT", customer)
        assert holder is not None and len(mambu.documents_of(holder)) == 3
