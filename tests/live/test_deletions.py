"""A deleted record's last event: delivered to the subscribers who were shown the
record (when subscribing or by an earlier event), never to anyone else; and a
watched Apiture application deleted upstream is found by its poller."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx

from adapters.mambu import mapping as mambu_mapping
from adapters.model import Owner, OwnerKind, Provider
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes, create_upstreams
from schema import ids
from schema.live.events import DELETED, Change
from schema.live.polling import Pollers
from tests.live.support import Subscriber, connect, serving, settle
from tests.live.test_polling import Clock
from tests.security.tokens import bearer, secured_settings, token

DOCUMENTS = """subscription Docs($id: ID) {
  documentUpdated(id: $id) {
    document { id name }
    status previousStatus cause deleted
  }
}"""
DELETE = "mutation($id: ID!) { deleteDocument(id: $id) { __typename } }"
ANA_CLIENT, BEA_CLIENT = "cstap_demo0001", "cstap_demo0002"


def applicant(client: str) -> dict[str, str]:
    claims = {"mambu_client_key": client, "roles": ["applicant"]}
    return bearer(token(f"applicant-{client}", **claims))


def mambu_change(key: str, n: int) -> Change:
    return Change(
        kind="Document",
        provider=Provider.MAMBU,
        key=key,
        state="UPLOADED",
        previous_state=None,
        cause="test",
        event_id=f"test:{n}",
    )


def update(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "next", message
    found: dict[str, Any] = message["payload"]["data"]["documentUpdated"]
    return found


async def next_message(subscriber: Subscriber) -> dict[str, Any]:
    # A bound so that a lost event fails the test instead of hanging it.
    return await asyncio.wait_for(subscriber.receive(), 30)


async def test_a_deletion_reaches_who_was_shown_the_record_and_no_one_else() -> None:
    async with serving(secured_settings()) as served:
        store = served.sandboxes[Provider.MAMBU].store
        keys = {
            client: sorted(
                mambu_mapping.document_key(Owner(OwnerKind.MAMBU_CLIENT, c), k)
                for k, d in store.documents.items()
                if d.holder.id == c
            )
            for client in (ANA_CLIENT, BEA_CLIENT)
            for c in (client,)
        }
        ana_doc, ana_other = keys[ANA_CLIENT][:2]
        (bea_doc, *_) = keys[BEA_CLIENT]
        ana_id = ids.encode("Document", Provider.MAMBU, ana_doc)
        async with (
            connect(served, applicant(ANA_CLIENT)) as ana,
            connect(served, applicant(BEA_CLIENT)) as bea,
        ):
            by_id = await ana.subscribe(DOCUMENTS, {"id": ana_id})  # checked now
            every = await ana.subscribe(DOCUMENTS)  # shown it by the event below
            await bea.subscribe(DOCUMENTS)
            await settle(served, 3)
            # Through the hub, as a mutation does: the state is remembered.
            await served.app.state.live.publish(mambu_change(ana_doc, 1))
            first, second = await next_message(ana), await next_message(ana)
            shown = {m["id"]: update(m) for m in (first, second)}
            assert set(shown) == {by_id, every}
            assert all(u["document"]["id"] == ana_id for u in shown.values())
            # Another of Ana's documents, never shown to the subscription by id.
            other_id = ids.encode("Document", Provider.MAMBU, ana_other)
            staff = bearer(token("staff-1"))
            async with httpx.AsyncClient() as client:
                for gone in (ana_id, other_id):
                    answer = await client.post(
                        served.http_url,
                        headers=staff,
                        json={"query": DELETE, "variables": {"id": gone}},
                    )
                    assert answer.json()["data"]["deleteDocument"] == {
                        "__typename": "Deleted"
                    }
            assert ana_doc.rsplit(":", 1)[1] not in store.documents
            got = [await next_message(ana) for _ in range(3)]
            # Bea was never shown Ana's documents: her first event is her own.
            await served.publish(mambu_change(bea_doc, 2))
            bea_first = update(await next_message(bea))
            # The subscription by id ended with its record; "every" goes on.
            await served.publish(mambu_change(ana_doc, 3))
            await served.publish(mambu_change(keys[ANA_CLIENT][2], 4))
            after = update(await next_message(ana))
    completes = [m for m in got if m["type"] == "complete"]
    assert [m["id"] for m in completes] == [by_id]
    finals = {m["id"]: update(m) for m in got if m["type"] == "next"}
    assert set(finals) == {by_id, every}
    for final in finals.values():
        assert final["deleted"] is True
        assert final["cause"] == "mutation:deleteDocument"
        assert final["status"] is None and final["previousStatus"] == "UPLOADED"
        # The record as the subscription last saw it: what it was shown.
        assert final["document"] == shown[by_id]["document"]
    assert shown[by_id]["deleted"] is False
    bea_id = ids.encode("Document", Provider.MAMBU, bea_doc)
    assert bea_first["document"]["id"] == bea_id
    assert bea_first["deleted"] is False
    # Nothing for the other deleted document (never shown), nor for a change of
    # the deleted one (it cannot be read): the next is a readable record's.
    assert after["document"]["id"] == ids.encode(
        "Document", Provider.MAMBU, keys[ANA_CLIENT][2]
    )


async def test_a_watched_application_deleted_upstream_is_published_once() -> None:
    settings = Settings()
    sandboxes = create_sandboxes(settings)
    upstreams = create_upstreams(settings, sandboxes)
    store = sandboxes[Provider.APITURE].store
    key = store.ids_in_state("running")[0]
    gid = ids.GlobalId("Application", Provider.APITURE, key)
    published: list[Change] = []

    async def publish(change: Change) -> None:
        published.append(change)

    clock = Clock()
    pollers = Pollers(upstreams.apiture, publish, wait=clock.wait)
    try:
        with pollers.watch(gid):
            await clock.until_waiting(1)  # the first read: the ETag, no event
            del store.applications[key]
            for _ in range(3):  # 404 three times, one event
                await clock.tick(1)
            assert pollers.polls == 4
        assert [(c.key, c.state, c.previous_state) for c in published] == [
            (key, DELETED, "RUNNING")
        ]
    finally:
        await upstreams.aclose()


def apiture_change(key: str, n: int, state: str = "RUNNING") -> Change:
    return Change(
        kind="Application",
        provider=Provider.APITURE,
        key=key,
        state=state,
        previous_state=None,
        cause="test",
        event_id=f"test:{n}",
    )


async def test_a_record_that_changed_hands_is_forgotten_before_its_deletion() -> None:
    async with serving(secured_settings()) as served:
        store = served.sandboxes[Provider.APITURE].store

        def contact_of(key: str) -> str | None:
            people = store.applications[key].data.get("applicants") or []
            return people[0]["contact"]["_links"]["self"]["href"] if people else None

        running = [k for k in store.ids_in_state("running") if contact_of(k)]
        mine = running[0]
        contact = contact_of(mine)
        theirs = next(k for k in running if contact_of(k) != contact)
        twin = store.application(mine)
        twin["_id"] = "0000aaaa-own-second-application"
        second = store.add_application(twin).id
        me = bearer(token("ana", roles=["applicant"], apiture_contact=contact))
        async with connect(served, me) as sub:
            await sub.subscribe(
                "subscription { applicationUpdated { application { id } eventId "
                "deleted } }"
            )
            await settle(served, 1)
            await served.publish(apiture_change(mine, 1))
            shown = await asyncio.wait_for(sub.receive(), 30)
            # The application changes hands: no longer hers.
            record = store.applications[mine]
            other = store.applications[theirs].data["applicants"][0]["contact"]
            record.data["applicants"][0]["contact"] = copy.deepcopy(other)
            record.touch()
            await served.publish(apiture_change(mine, 2))
            await served.publish(apiture_change(mine, 3, state=DELETED))
            await served.publish(apiture_change(second, 4))
            after = await asyncio.wait_for(sub.receive(), 30)
    assert shown["payload"]["data"]["applicationUpdated"]["eventId"] == "test:1"
    # Neither the change after the handover nor the deletion reached her.
    assert after["payload"]["data"]["applicationUpdated"] == {
        "application": {"id": ids.encode("Application", Provider.APITURE, second)},
        "eventId": "test:4",
        "deleted": False,
    }
