"""The benchmark's sandboxes cost the same per call at 1,000 or 10,000 records.

Cost is counted, not timed: the Python events (calls and lines) run in the
sandboxes' own code (``adapters/``) during one call, traced with ``sys.settrace``.
A scan or a sort of the whole store adds events per record; an index or a kept
ordering does not. The first list call builds the ordering, so the counts follow
a warm-up call.
"""

from __future__ import annotations

import asyncio
import base64
import sys
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

import httpx

from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from adapters.apiture.sandbox import create_app as apiture_app
from adapters.apiture.sandbox.bench import seed_population
from adapters.connectfi.sandbox import create_app as connectfi_app
from adapters.mambu.sandbox import create_app as mambu_app
from adapters.mambu.sandbox.store import MambuStore
from benchmarks import population
from benchmarks.sandboxes import approvable

APITURE = "/accountApplications"
APITURE_HEADERS = {
    "API-Key": DEMO_API_KEY,
    "Authorization": f"Bearer {DEMO_ACCESS_TOKEN}",
}
Step = Callable[[], Awaitable[None]]
Tracer = Callable[[FrameType, str, Any], Any]


async def traced(step: Step) -> int:
    """Events in ``adapters/`` while ``step`` runs (nothing else runs meanwhile)."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Tracer:
        nonlocal count
        count += 1
        return local

    def outer(frame: FrameType, event: str, arg: Any) -> Tracer | None:
        nonlocal count
        if "/adapters/" not in frame.f_code.co_filename:
            return None
        count += 1
        return local

    sys.settrace(outer)
    try:
        await step()
    finally:
        sys.settrace(None)
    return count


def _client(app: Any, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sandbox",
        headers=headers,
    )


def apiture_costs(extra: int) -> dict[str, int]:
    app = apiture_app()
    ids = seed_population(app.store, extra)
    some = ids[-8]  # the same state (the states go in turns of 8), deep in the store
    (fresh, etag), (later, later_etag) = approvable(app.store, 2)
    page = {"start": "500", "limit": "50", "sortBy": "-createdAt"}
    costs: dict[str, int] = {}

    async def run() -> None:
        async with _client(app, APITURE_HEADERS) as client:

            async def get(path: str, params: dict[str, str] | None = None) -> None:
                answer = await client.get(APITURE + path, params=params)
                assert answer.status_code == 200, answer.text

            async def approve(id_: str, tag: str) -> None:
                answer = await client.post(
                    APITURE + "/approvedApplications",
                    params={"application": id_},
                    headers={"If-Match": tag},
                )
                assert answer.json()["state"] == "approved", answer.text

            await get("/applications", page)  # builds the ordering
            steps: list[tuple[str, Step]] = [
                ("list", lambda: get("/applications", page)),
                ("detail", lambda: get(f"/applications/{some}")),
                ("approve", lambda: approve(fresh, etag)),
                ("list after an approval", lambda: get("/applications", page)),
                ("another approval", lambda: approve(later, later_etag)),
            ]
            for name, step in steps:
                costs[name] = await traced(step)

    asyncio.run(run())
    return costs


def test_apiture_answers_in_the_same_work_at_1000_and_10000_applications() -> None:
    small, large = apiture_costs(1_000), apiture_costs(10_000)

    assert small == large
    # an approval (createdAt unchanged) keeps the ordering: no re-sort
    assert small["list after an approval"] == small["list"]


def test_a_filtered_apiture_list_still_scans_so_the_count_sees_a_scan() -> None:
    """The control: the same count does grow where the sandbox scans."""

    def cost(extra: int) -> int:
        app = apiture_app()
        seed_population(app.store, extra)

        async def run() -> int:
            async with _client(app, APITURE_HEADERS) as client:

                async def step() -> None:
                    answer = await client.get(
                        APITURE + "/applications",
                        params={"limit": "50", "q": "bench"},
                    )
                    assert answer.status_code == 200

                return await traced(step)

        return asyncio.run(run())

    assert cost(1_000) * 5 < cost(10_000)


def test_connectfi_and_mambu_answer_a_customer_in_the_same_work_at_any_population() -> (
    None
):
    def costs(customers: int) -> tuple[int, int]:
        connectfi = connectfi_app()
        population.seed_connectfi(connectfi.store, customers)
        store = MambuStore.demo()
        population.seed_mambu(store, customers)
        mambu = mambu_app(store=store)
        customer = population.customer_id(7)

        async def run() -> tuple[int, int]:
            async with _client(connectfi, {}) as client:
                login = await client.post(
                    "/auth/get-token",
                    json={"user": {"login": "sandbox", "password": "sandbox"}},
                )
                token = login.json()["data"]["token"]

                async def listed() -> None:
                    answer = await client.post(
                        "/akepa/list",
                        json={"customerId": customer, "numberOfRecords": 10},
                        headers={"x-connectfi-token": token},
                    )
                    assert len(answer.json()["data"]["items"]) == 4

                await listed()
                first = await traced(listed)
            basic = base64.b64encode(b"sandbox:sandbox").decode()
            async with _client(mambu, {"Authorization": f"Basic {basic}"}) as client:

                async def documents() -> None:
                    answer = await client.get(f"/api/clients/{customer}/documents")
                    assert len(answer.json()) == population.DOCUMENTS_PER_CLIENT

                await documents()
                second = await traced(documents)
            return first, second

        return asyncio.run(run())

    assert costs(250) == costs(2_500)
