"""Concurrent GraphQL requests share identical upstream reads, never writes."""

from __future__ import annotations

import asyncio

from gateway.settings import Settings
from tests.conftest import serve

APITURE_ID = (
    "QXBwbGljYXRpb246QVBJVFVSRToyMWVlMzAyZS05NzRkLTRkNDktOWJjNi05ODgyNWE3YzgzMWE"
)
DETAIL = "query($id: ID!) { application(id: $id) { id state version } }"
APPROVE = """mutation($id: ID!) { approveApplication(id: $id) {
  __typename ... on UserError { code } } }"""

# The sandbox answers after this long: every request below is in flight together.
SLOW = Settings(sandbox_latency=0.2)


async def test_concurrent_requests_for_one_record_make_one_upstream_read() -> None:
    async with serve(SLOW) as gateway:
        answers = await asyncio.gather(
            *(gateway.data(DETAIL, {"id": APITURE_ID}) for _ in range(8))
        )

        assert gateway.apiture.control.calls("GET") == 1
    assert len({a["application"]["version"] for a in answers}) == 1


async def test_concurrent_mutations_each_reach_the_provider() -> None:
    async with serve(SLOW) as gateway:
        answers = await asyncio.gather(
            *(gateway.data(APPROVE, {"id": APITURE_ID}) for _ in range(3))
        )

        assert gateway.apiture.control.calls("POST") == 3
    assert all(a["approveApplication"]["__typename"] for a in answers)


async def test_sharing_can_be_turned_off() -> None:
    async with serve(Settings(sandbox_latency=0.2, coalesce_reads=False)) as gateway:
        await asyncio.gather(
            *(gateway.data(DETAIL, {"id": APITURE_ID}) for _ in range(4))
        )

        assert gateway.apiture.control.calls("GET") == 4
