"""Mutations retried with the same idempotency key call the provider once."""

from __future__ import annotations

import asyncio
import uuid

from tests.conftest import Gateway
from tests.schema.apiture_helpers import app_id
from tests.schema.multipart import File, pdf, upload

APPROVE = """
mutation Approve($id: ID!, $key: String) {
  approveApplication(id: $id, idempotencyKey: $key) {
    __typename
    ... on Application { state version }
    ... on ValidationFailed { fields { path message } }
  }
}"""


async def test_an_approval_retried_with_its_key_calls_apiture_once(
    gateway: Gateway,
) -> None:
    key = gateway.apiture.store.ids_in_state("running")[0]
    variables = {"id": app_id(key), "key": str(uuid.uuid4())}
    first = await gateway.data(APPROVE, variables)
    again = await gateway.data(APPROVE, variables)
    assert first == again
    assert first["approveApplication"]["state"] == "APPROVED"
    assert gateway.apiture.control.calls("POST") == 1


async def test_concurrent_repeats_wait_for_the_first(gateway: Gateway) -> None:
    gateway.apiture.control.latency = 0.05
    key = gateway.apiture.store.ids_in_state("running")[0]
    variables = {"id": app_id(key), "key": str(uuid.uuid4())}
    results = await asyncio.gather(
        *(gateway.data(APPROVE, variables) for _ in range(5))
    )
    assert all(r == results[0] for r in results)
    assert gateway.apiture.control.calls("POST") == 1


async def test_the_same_key_with_other_input_is_refused(gateway: Gateway) -> None:
    running = gateway.apiture.store.ids_in_state("running")
    idem = str(uuid.uuid4())
    await gateway.data(APPROVE, {"id": app_id(running[0]), "key": idem})
    other = await gateway.data(APPROVE, {"id": app_id(running[1]), "key": idem})
    result = other["approveApplication"]
    assert result["__typename"] == "ValidationFailed"
    assert result["fields"][0]["path"] == ["idempotencyKey"]
    assert gateway.apiture.control.calls("POST") == 1
    assert gateway.apiture.store.application(running[1])["state"] == "running"


async def test_without_a_key_every_call_goes_upstream(gateway: Gateway) -> None:
    key = gateway.apiture.store.ids_in_state("running")[0]
    await gateway.data(APPROVE, {"id": app_id(key)})
    await gateway.data(APPROVE, {"id": app_id(key)})
    assert gateway.apiture.control.calls("POST") == 2


UPLOAD = """
mutation Upload($file: Upload!, $key: String) {
  uploadDocument(
    file: $file
    input: {owner: {kind: MAMBU_CLIENT, id: "cstap_demo0003"}, name: "contract.pdf"}
    idempotencyKey: $key
  ) {
    __typename
    ... on Document { id size }
  }
}"""


async def test_an_upload_retried_with_its_key_uploads_once(gateway: Gateway) -> None:
    files = {"file": File("contract.pdf", "application/pdf", pdf(300_000))}
    variables = {"key": str(uuid.uuid4())}
    first = await upload(gateway.client, UPLOAD, variables, files)
    again = await upload(gateway.client, UPLOAD, variables, files)
    assert first == again
    assert first["uploadDocument"]["size"] == 300_000
    assert gateway.mambu.control.calls("POST") == 1


async def test_a_different_file_under_the_same_key_is_refused(
    gateway: Gateway,
) -> None:
    variables = {"key": str(uuid.uuid4())}
    one = {"file": File("contract.pdf", "application/pdf", pdf(1000))}
    two = {"file": File("contract.pdf", "application/pdf", pdf(2000))}
    await upload(gateway.client, UPLOAD, variables, one)
    refused = await upload(gateway.client, UPLOAD, variables, two)
    assert refused["uploadDocument"]["__typename"] == "ValidationFailed"
    assert gateway.mambu.control.calls("POST") == 1
