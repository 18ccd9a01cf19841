"""Subscriptions end to end: a real WebSocket client (and an SSE client) against
the gateway served by uvicorn, changes published on its bus as a receiver does."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from adapters.model import Provider
from gateway.operations import load_operations
from schema import ids
from schema.live.events import Change
from tests.live.support import connect, serving, settle
from tests.security.tokens import bearer, secured_settings, token

DOCUMENT = """subscription Doc($id: ID) {
  documentUpdated(id: $id) {
    document { id status name }
    status previousStatus cause eventId
  }
}"""
ANA = "ana.garcia@example.com"  # signs DEMOWAIT01
LUIS = "luis.martinez@example.com"  # DEMOSEQ002 is his (its first signer)
SOFIA = "sofia.torres@example.com"  # its second signer


def auco(code: str, n: int, cause: str = "AUCO:NOTIFICATION") -> Change:
    return Change(
        kind="Document",
        provider=Provider.AUCO,
        key=code,
        state="AWAITING_SIGNATURE",
        previous_state="AWAITING_SIGNATURE",
        cause=cause,
        event_id=f"{code}:{n}",
    )


def applicant(email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(email, roles=['applicant'], email=email)}"}


async def test_a_document_by_id_in_order_with_its_current_fields() -> None:
    async with serving(secured_settings()) as served:
        store = served.sandboxes[Provider.AUCO].store
        doc_id = ids.encode("Document", Provider.AUCO, "DEMOSEQ002")
        async with connect(served, applicant(LUIS)) as sub:
            op = await sub.subscribe(DOCUMENT, {"id": doc_id})
            await settle(served, 1)
            await served.publish(auco("DEMOSEQ002", 1))
            await served.publish(auco("DEMOOTHER1", 2))  # another record: skipped
            first = await sub.receive()
            store.sign("DEMOSEQ002", SOFIA)  # the last signer: FINISH
            await served.publish(auco("DEMOSEQ002", 3, cause="AUCO:FINISH"))
            second = await sub.receive()
        for message in (first, second):
            assert message["type"] == "next" and message["id"] == op, message
        one = first["payload"]["data"]["documentUpdated"]
        two = second["payload"]["data"]["documentUpdated"]
        assert [one["eventId"], two["eventId"]] == ["DEMOSEQ002:1", "DEMOSEQ002:3"]
        assert [one["cause"], two["cause"]] == ["AUCO:NOTIFICATION", "AUCO:FINISH"]
        assert one["document"]["id"] == doc_id
        # Read when delivered: the second carries the record as it is now.
        assert one["document"]["status"] == "AWAITING_SIGNATURE"
        assert two["document"]["status"] == "SIGNED"


async def test_an_applicant_without_an_id_never_sees_another_applicants_event() -> None:
    async with serving(secured_settings()) as served:
        async with (
            connect(served, applicant(ANA)) as ana,
            connect(served, applicant(LUIS)) as luis,
        ):
            await ana.subscribe(DOCUMENT)
            await luis.subscribe(DOCUMENT)
            await settle(served, 2)
            for n in range(6):  # interleaved: ana's, luis's, ana's...
                code = "DEMOWAIT01" if n % 2 == 0 else "DEMOSEQ002"
                await served.publish(auco(code, n))
            got_ana = [await ana.receive() for _ in range(3)]
            got_luis = [await luis.receive() for _ in range(3)]

        def events(got: list[dict[str, object]]) -> list[str]:
            return [
                m["payload"]["data"]["documentUpdated"]["eventId"]  # type: ignore[index]
                for m in got
            ]

        assert events(got_ana) == ["DEMOWAIT01:0", "DEMOWAIT01:2", "DEMOWAIT01:4"]
        assert events(got_luis) == ["DEMOSEQ002:1", "DEMOSEQ002:3", "DEMOSEQ002:5"]


async def test_a_document_not_the_callers_is_not_found_when_subscribing() -> None:
    async with serving(secured_settings()) as served:
        doc_id = ids.encode("Document", Provider.AUCO, "DEMOSEQ002")
        async with connect(served, applicant(ANA)) as ana:
            op = await ana.subscribe(DOCUMENT, {"id": doc_id})
            message = await ana.receive()
        assert message["id"] == op and message["type"] in ("error", "next")
        errors = (
            message["payload"]
            if message["type"] == "error"
            else (message["payload"]["errors"])
        )
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"
        assert served.app.state.events.listeners == 0


async def test_a_connection_without_a_valid_token_is_refused() -> None:
    async with serving(secured_settings()) as served:
        async with websockets.connect(
            served.ws_url,
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        ) as connection:
            await connection.send(
                json.dumps({"type": "connection_init", "payload": {}})
            )
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await connection.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_token_expiry_closes_the_connection() -> None:
    settings = secured_settings(auth_clock_skew=0)
    async with serving(settings) as served:
        short = token(LUIS, roles=["applicant"], email=LUIS, expires_in=1.5)
        async with connect(served, bearer(short)) as sub:
            await sub.subscribe(DOCUMENT)
            await settle(served, 1)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await sub.receive()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        await settle(served, 0)  # its subscription stopped listening


async def test_a_slow_consumer_delays_no_one_and_its_queue_is_bounded() -> None:
    settings = secured_settings(subscription_queue=3)
    async with serving(settings) as served:
        async with (
            connect(served, applicant(LUIS)) as slow,
            connect(served, applicant(LUIS)) as fast,
        ):
            await slow.subscribe(DOCUMENT)  # and never reads
            await fast.subscribe(DOCUMENT)
            await settle(served, 2)
            received = []
            for n in range(10):
                await served.publish(auco("DEMOSEQ002", n))
                message = await fast.receive()
                received.append(
                    message["payload"]["data"]["documentUpdated"]["eventId"]
                )
            queues = [lst._queue.qsize() for lst in served.app.state.events._listeners]
        assert received == [f"DEMOSEQ002:{n}" for n in range(10)]
        assert all(size <= 3 for size in queues)


async def test_server_sent_events_deliver_the_same() -> None:
    async with serving(secured_settings()) as served:
        doc_id = ids.encode("Document", Provider.AUCO, "DEMOSEQ002")
        headers = {**applicant(LUIS), "Accept": "text/event-stream"}
        body = {"query": DOCUMENT, "variables": {"id": doc_id}}
        async with (
            httpx.AsyncClient(timeout=10) as client,
            client.stream(
                "POST", served.http_url, json=body, headers=headers
            ) as answer,
        ):
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            await settle(served, 1)
            for n in range(2):
                await served.publish(auco("DEMOSEQ002", n))
            events = []
            async for line in answer.aiter_lines():
                if line.startswith("data: {"):
                    events.append(json.loads(line[6:]))
                    if len(events) == 2:
                        break
        got = [e["data"]["documentUpdated"]["eventId"] for e in events]
        assert got == ["DEMOSEQ002:0", "DEMOSEQ002:1"]
        assert events[0]["data"]["documentUpdated"]["document"]["id"] == doc_id


async def test_server_sent_events_need_the_token_like_any_request() -> None:
    async with serving(secured_settings()) as served, httpx.AsyncClient() as client:
        answer = await client.post(
            served.http_url,
            json={"query": DOCUMENT},
            headers={"Accept": "text/event-stream"},
        )
        assert answer.status_code == 401
        assert served.app.state.events.listeners == 0


async def test_a_mutation_publishes_its_change_at_once() -> None:
    async with serving(secured_settings()) as served:
        store = served.sandboxes[Provider.APITURE].store
        key = store.ids_in_state("running")[0]
        app_id = ids.encode("Application", Provider.APITURE, key)
        staff = bearer(token("staff-1"))
        async with connect(served, staff) as sub:
            await sub.subscribe(
                "subscription { applicationUpdated { application { id state } "
                "state previousState cause } }"
            )
            await settle(served, 1)
            async with httpx.AsyncClient() as client:
                answer = await client.post(
                    served.http_url,
                    headers=staff,
                    json={
                        "query": "mutation($id: ID!) { approveApplication(id: $id) "
                        "{ __typename } }",
                        "variables": {"id": app_id},
                    },
                )
            assert answer.json()["data"]["approveApplication"]["__typename"] == (
                "Application"
            )
            message = await asyncio.wait_for(sub.receive(), 10)
        update = message["payload"]["data"]["applicationUpdated"]
        assert update["cause"] == "mutation:approveApplication"
        assert update["state"] == "APPROVED"
        assert update["application"] == {"id": app_id, "state": "APPROVED"}


async def test_the_example_operation_runs_over_the_websocket() -> None:
    (operation,) = [o for o in load_operations() if o.kind == "subscription"]
    async with serving(secured_settings()) as served:
        async with connect(served, applicant(LUIS)) as sub:
            await sub.subscribe(operation.text, dict(operation.variables))
            await settle(served, 1)
            await served.publish(auco("DEMOSEQ002", 1))
            message = await sub.receive()
        update = message["payload"]["data"]["documentUpdated"]
        assert update["document"]["id"] == operation.variables["id"]
        assert update["cause"] == "AUCO:NOTIFICATION"


async def test_server_sent_events_keep_the_allowlist() -> None:
    settings = secured_settings(persisted_queries="allowlist")
    async with serving(settings) as served, httpx.AsyncClient() as client:
        headers = {**applicant(LUIS), "Accept": "text/event-stream"}
        unlisted = await client.post(
            served.http_url, json={"query": DOCUMENT}, headers=headers
        )
        assert unlisted.status_code == 400
        assert served.app.state.events.listeners == 0


async def test_limits_per_connection_and_per_caller() -> None:
    settings = secured_settings(
        max_subscriptions_per_connection=2, max_subscriptions_per_caller=3
    )
    async with (
        serving(settings) as served,
        connect(served, applicant(LUIS)) as one,
        connect(served, applicant(LUIS)) as two,
    ):
        await one.subscribe(DOCUMENT)
        await one.subscribe(DOCUMENT)
        third = await one.subscribe(DOCUMENT)  # a third on one connection
        refused = await one.receive()
        assert refused["id"] == third and refused["type"] == "error"
        await settle(served, 2)
        await two.subscribe(DOCUMENT)
        fourth = await two.subscribe(DOCUMENT)  # the caller's fourth
        message = await two.receive()
        assert message["id"] == fourth, message
        errors = message["payload"]
        if message["type"] == "next":
            errors = errors["errors"]
        assert errors[0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        assert served.app.state.events.listeners == 3


async def test_server_sent_events_end_when_the_token_expires() -> None:
    async with serving(secured_settings(auth_clock_skew=0)) as served:
        short = token(LUIS, roles=["applicant"], email=LUIS, expires_in=1.5)
        headers = {**bearer(short), "Accept": "text/event-stream"}
        lines = []
        async with (
            httpx.AsyncClient(timeout=10) as client,
            client.stream(
                "POST", served.http_url, json={"query": DOCUMENT}, headers=headers
            ) as answer,
        ):
            async for line in answer.aiter_lines():  # to the stream's end
                lines.append(line)
        errors = [
            json.loads(line[6:])["errors"]
            for line in lines
            if line.startswith("data: {")
        ]
        assert errors and errors[-1][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "event: complete" in lines
        assert served.app.state.events.listeners == 0


async def test_messages_are_text_frames_as_browsers_need() -> None:
    # graphql-ws (GraphiQL's client) refuses a binary frame ("Message not
    # parsable") and an acknowledgement whose payload is null ("Invalid message").
    async with (
        serving(secured_settings()) as served,
        websockets.connect(
            served.ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
        ) as connection,
    ):
        init = {"type": "connection_init", "payload": applicant(LUIS)}
        await connection.send(json.dumps(init))
        ack = await connection.recv()
        await connection.send(json.dumps({"type": "ping"}))
        pong = await connection.recv()
    assert isinstance(ack, str) and json.loads(ack) == {"type": "connection_ack"}
    assert isinstance(pong, str) and json.loads(pong) == {"type": "pong"}


@pytest.mark.parametrize(
    "accept", ["application/json", "application/graphql-response+json"]
)
async def test_a_subscription_as_a_plain_request_is_told_where_it_runs(
    accept: str,
) -> None:
    async with serving(secured_settings()) as served, httpx.AsyncClient() as client:
        answer = await client.post(
            served.http_url,
            json={"query": DOCUMENT, "operationName": "Doc"},
            headers={**applicant(LUIS), "Accept": accept},
        )
        assert served.app.state.events.listeners == 0
    (error,) = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "WebSocket" in error["message"] and "text/event-stream" in error["message"]
    assert "data" not in answer.json() or answer.json()["data"] is None
