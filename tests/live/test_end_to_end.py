"""Issue 19's whole path, as a front end sees it: a real WebSocket client
subscribed to an Auco document; the document signed three times through the
sandbox (as its signers would, over HTTP); the sandbox's webhooks received by the
gateway, published on its bus and delivered over the socket, in order."""

from __future__ import annotations

import asyncio

import httpx

from adapters.model import Provider
from gateway.settings import Settings
from schema import ids
from tests.webhooks.helpers import three_signer_document

from .support import connect, serving, settle

SUBSCRIPTION = """subscription Doc($id: ID) {
  documentUpdated(id: $id) {
    document { id status }
    status cause
  }
}"""


async def test_three_signatures_reach_a_websocket_subscriber_in_order() -> None:
    # Nothing configured, as with `make run`: the embedded Auco sandbox delivers
    # its webhooks to this gateway (retry delays compressed, none needed here).
    settings = Settings(sandbox_webhook_time_factor=0.0001)
    async with serving(settings) as served:
        store = served.sandboxes[Provider.AUCO].store
        three_signer_document(store)
        document_id = ids.encode("Document", Provider.AUCO, "THREESIGN1")
        async with connect(served) as subscriber:
            op = await subscriber.subscribe(SUBSCRIPTION, {"id": document_id})
            await settle(served, 1)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{served.port}"
            ) as client:
                for n in (1, 2, 3):
                    signed = await client.post(
                        "/_sandbox/auco/documents/THREESIGN1/sign",
                        json={"email": f"signer{n}@example.com"},
                    )
                    assert signed.status_code == 200, signed.text
            got = []
            while len(got) < 4:
                # A bound so that a lost event fails the test instead of hanging it.
                message = await asyncio.wait_for(subscriber.receive(), 30)
                assert message["type"] == "next" and message["id"] == op, message
                event = message["payload"]["data"]["documentUpdated"]
                if event["cause"] != "AUCO:CREATE":  # the document's creation
                    got.append(event)
    assert [e["cause"] for e in got] == ["AUCO:NOTIFICATION"] * 3 + ["AUCO:FINISH"]
    assert all(e["document"]["id"] == document_id for e in got)
    assert [e["status"] for e in got][-1] == "SIGNED"
    assert got[-1]["document"]["status"] == "SIGNED"
