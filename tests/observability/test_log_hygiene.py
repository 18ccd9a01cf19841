"""Every log line of a scripted run, at DEBUG, searched for what must never be logged.

The run: every example operation of ``operations/`` (queries and mutations), two
uploads (Mambu, Auco), webhooks from both providers (accepted, duplicated,
refused), refusals (no token, a forged one, an applicant's forbidden action, a
query over the limits), and providers failing (503s and retries, an answer that
does not fit its shape). Each record is formatted as production writes it (JSON)
and as text, exceptions included; then searched for every configured secret, the
bearer tokens, an uploaded file's content, and every sandbox applicant's name and
tax id (read from the sandboxes' seed data, not written here).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from adapters.auco.sandbox.demo import APPLICANTS
from adapters.model import Provider
from adapters.sandbox_kit import Fault
from gateway.observability import JsonFormatter, TextFormatter
from gateway.operations import load_operations
from gateway.upstreams import create_sandboxes
from schema.ids import encode
from tests.conftest import serve
from tests.schema import multipart
from tests.schema.multipart import File
from tests.security.tokens import SECRET, applicant, bearer, secured_settings, token

API_KEY = "configured-apiture-api-key-7f3a9c"
ACCESS_TOKEN = "configured-apiture-access-token-e41b77"
AUCO_WEBHOOK_SECRET = "configured-auco-webhook-secret-93d1c0"
CONNECTFI_WEBHOOK_TOKEN = "configured-connectfi-path-token-5be20f8a"
DOCUMENT_MARKER = b"CONFIDENTIAL-PASSPORT-SCAN-8842"
TEST_CLIENT = "gateway.test"  # tests.conftest.serve's base URL


def seed_people() -> set[str]:
    """Every applicant's full name and tax id in the sandboxes' seed data."""
    found: set[str] = set()
    seen: set[int] = set()

    def walk(value: Any, depth: int = 0) -> None:
        if depth > 12 or id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, dict):
            if isinstance(value.get("taxId"), str):
                found.add(value["taxId"])
            first, last = value.get("firstName"), value.get("lastName")
            if isinstance(first, str) and isinstance(last, str):
                found.add(f"{first} {last}")
            if isinstance(value.get("applicantName"), str):
                found.add(value["applicantName"])
            for item in value.values():
                walk(item, depth + 1)
        elif isinstance(value, list | tuple | set):
            for item in value:
                walk(item, depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name), depth + 1)
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            for item in vars(value).values():
                walk(item, depth + 1)

    for app in create_sandboxes(secured_settings()).values():
        walk(getattr(app, "store", None))
    found.update(name for name, _, _ in APPLICANTS)
    found.update(email for _, email, _ in APPLICANTS)
    return found


class Everything(logging.Handler):
    """Each record as JSON and as text, formatted when it is logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.json, self.text = JsonFormatter(), TextFormatter()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("httpx", "httpcore")) and TEST_CLIENT in str(
            record.args
        ):
            return  # the test's own client, calling the gateway: not its logs
        self.lines.append(self.json.format(record))
        self.lines.append(self.text.format(record))


@contextmanager
def everything_logged() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_no_secret_token_document_or_personal_field_is_ever_logged() -> None:
    people = seed_people()
    assert len(people) > 40 and "Ana García" in people  # the seed was read
    staff_token = token("staff-1", roles=["staff"])
    forged = token("staff-1", roles=["staff"], key="not-the-secret-at-all-0123456789")
    settings = secured_settings(
        apiture_api_key=API_KEY,
        apiture_access_token=ACCESS_TOKEN,
        auco_webhook_secret=AUCO_WEBHOOK_SECRET,
        connectfi_webhook_token=CONNECTFI_WEBHOOK_TOKEN,
        sandbox_webhook_time_factor=0.0001,
        retry_backoff=0.001,
        breaker_threshold=50,
    )
    secrets = [
        SECRET,
        API_KEY,
        ACCESS_TOKEN,
        AUCO_WEBHOOK_SECRET,
        CONNECTFI_WEBHOOK_TOKEN,
        staff_token,
        forged,
        "prk_sandbox",
        "puk_sandbox",
    ]
    with everything_logged() as captured:
        async with serve(settings) as gateway:
            await _scripted_run(gateway, bearer(staff_token), bearer(forged))

    text = "\n".join(captured.lines)
    # Logs were kept: a line per request (JSON and text), the webhooks' own.
    requests = [
        line for line in captured.lines if '"logger":"gateway.requests"' in line
    ]
    assert len(requests) >= 35
    assert '"logger":"gateway.webhooks"' in text
    json_text = json.dumps(text)  # names as JSON escapes them, too
    for value in [*secrets, DOCUMENT_MARKER.decode(), *sorted(people)]:
        assert value not in text, value
        assert json.dumps(value)[1:-1] not in json_text, value


async def _scripted_run(
    gateway: Any, staff: dict[str, str], forged: dict[str, str]
) -> None:
    client = gateway.client
    operations = load_operations()
    for operation in operations:
        if operation.kind == "subscription" or operation.uploads:
            continue
        answer = await client.post(
            "/graphql",
            json={"query": operation.text, "variables": operation.variables},
            headers=staff,
        )
        assert answer.status_code == 200, (operation.name, answer.text)
    # Every seeded Apiture application in full: applicants, tax ids upstream.
    detail = next(o for o in operations if o.name == "ApplicationDetail")
    for key in list(gateway.apiture.store.applications)[:8]:
        global_id = encode("Application", Provider.APITURE, key)
        answer = await client.post(
            "/graphql",
            json={"query": detail.text, "variables": {"id": global_id}},
            headers=staff,
        )
        assert answer.json()["data"]["application"]["applicants"] is not None
    # Uploads: Mambu, then Auco (signers by name).
    content = multipart.pdf(4000) + DOCUMENT_MARKER
    for name in ("UploadDocument", "RequestSignature"):
        operation = next(o for o in operations if o.name == name)
        uploaded = await multipart.post(
            client,
            operation.text,
            operation.variables,
            {"file": File("passport.pdf", "application/pdf", content)},
            headers=staff,
        )
        assert uploaded.status_code == 200, uploaded.text
    # Webhooks: Auco's signer notification (a seed applicant), twice, and refused.
    name, email, phone = APPLICANTS[0]
    notification = {
        "code": "DEMOWAIT01",
        "name": "Contrato",
        "signer": {"id": "p1", "name": name, "email": email, "phone": phone},
        "status": "NOTIFICATION",
    }
    for secret in (AUCO_WEBHOOK_SECRET, AUCO_WEBHOOK_SECRET, "wrong"):
        await client.post(
            "/webhooks/auco",
            json=notification,
            headers={"X-Auco-Webhook-Secret": secret},
        )
    await client.post(
        "/webhooks/auco",
        content=b'{"signer": {"name": "' + name.encode() + b'"',
        headers={"X-Auco-Webhook-Secret": AUCO_WEBHOOK_SECRET},
    )
    for path in (CONNECTFI_WEBHOOK_TOKEN, "not-the-token"):
        await client.post(f"/webhooks/connectfi/{path}", content=b"{}")
    # Refusals.
    list_query = {"query": "{ applications(first: 5) { totalCount } }"}
    assert (await client.post("/graphql", json=list_query)).status_code == 401
    assert (
        await client.post("/graphql", json=list_query, headers=forged)
    ).status_code == 401
    approve = next(o for o in operations if o.name == "ApproveApplication")
    await client.post(
        "/graphql",
        json={"query": approve.text, "variables": approve.variables},
        headers=applicant(email=email),
    )
    await client.post("/graphql", json={"query": "{ nope }"}, headers=staff)
    # Providers failing: 503 then retried, then an answer of the wrong shape.
    gateway.apiture.control.inject(r"/applications", Fault(status=503, times=2))
    await client.post("/graphql", json=list_query, headers=staff)
    gateway.mambu.control.inject(
        r"/documents", Fault(status=200, body=b'[{"name": "' + name.encode() + b'"}]')
    )
    mambu_documents = next(o for o in operations if o.name == "ApplicantDocuments")
    await client.post(
        "/graphql",
        json={"query": mambu_documents.text, "variables": mambu_documents.variables},
        headers=staff,
    )
