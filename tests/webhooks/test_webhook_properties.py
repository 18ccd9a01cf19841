"""Property: whatever a caller posts to a webhook, the answer is 400, 401 or 413 with
no event, or a 2xx with exactly one valid change the first time an event is seen
(none for a duplicate or a package event); never a 500."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.model import DocumentStatus, Provider, State
from gateway.app import create_app
from gateway.webhooks.bodies import AUCO_STATES
from gateway.webhooks.dedupe import InMemoryDedupe, LastSeen
from tests.webhooks.helpers import HEADER, SECRET, TOKEN, RecordingBus
from tests.webhooks.helpers import settings as webhook_settings

DOCUMENT_STATES = {s.name for s in DocumentStatus}
APPLICATION_STATES = {s.name for s in State}
AUCO_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


_APP: list[Any] = []


def _app() -> tuple[Any, RecordingBus]:
    """One gateway for every example (building one costs a schema), with a fresh
    bus and fresh de-duplication each time. No lifespan: the receivers need only
    the bus, no upstream."""
    if not _APP:
        _APP.append(create_app(webhook_settings(webhook_max_bytes=2048)))
    app = _APP[0]
    hooks = app.state.webhooks
    hooks.bus = RecordingBus()
    hooks.dedupe = InMemoryDedupe()
    hooks.last_seen = LastSeen()
    return app, hooks.bus


async def _post(app: Any, path: str, content: bytes, headers: dict[str, str]) -> Any:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as client:
        return await client.post(path, content=content, headers=headers)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
codes = st.from_regex(r"[A-Z0-9]{10}", fullmatch=True) | st.text(max_size=12)
auco_statuses = st.sampled_from([*AUCO_STATES, "SIGNED_PACKAGE", "finish", ""])
signers = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=6) | st.integers(),
        "email": st.emails() | st.none(),
        "name": st.text(max_size=6),
    },
)
auco_events = st.fixed_dictionaries(
    {"status": auco_statuses},
    optional={
        "code": codes,
        "name": st.text(max_size=10),
        "signer": signers,
        "url": st.text(max_size=10),
        "message": st.text(max_size=10) | st.integers(),
        "package": st.text(max_size=6),
        "documents": st.lists(st.fixed_dictionaries({"code": codes}), max_size=2),
    },
)
connectfi_envelopes = st.fixed_dictionaries(
    {
        "code": st.sampled_from(["0", "0", "customerNotFound"]),
        "data": st.fixed_dictionaries(
            {
                "applicationId": st.sampled_from(["iapp_1BGgJ", "iapp_2", "a/b", ""]),
                "customerId": st.sampled_from(["cstap_5mBH", "cst:x", "c"]),
                "status": st.sampled_from(
                    ["completed", "waiting_review", "running", "mystery"]
                ),
            },
            optional={"outcome": st.sampled_from(["Approved", "Denied", None, "x"])},
        ),
    },
    optional={"requestId": st.text(max_size=4)},
)
bodies = (
    auco_events.map(lambda v: json.dumps(v).encode())
    | connectfi_envelopes.map(lambda v: json.dumps(v).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=64)
    | st.just(b"x" * 3000)  # over the limit
)
auco_headers = st.sampled_from(
    [{HEADER: SECRET}, {HEADER: SECRET}, {}, {HEADER: "nope"}, {"X-Other": SECRET}]
)
connectfi_paths = st.sampled_from(
    [f"/webhooks/connectfi/{TOKEN}"] * 2
    + ["/webhooks/connectfi/nope", f"/webhooks/connectfi/{TOKEN}x"]
)


@settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    target=st.sampled_from(["auco", "connectfi"]),
    body=bodies,
    headers=auco_headers,
    path=connectfi_paths,
    repeat=st.booleans(),
)
def test_any_delivery_is_refused_or_makes_at_most_one_valid_change(
    target: str, body: bytes, headers: dict[str, str], path: str, repeat: bool
) -> None:
    app, bus = _app()
    if target == "auco":
        path, authorized = "/webhooks/auco", headers.get(HEADER) == SECRET
    else:
        authorized = path.endswith(TOKEN)
    sends = 2 if repeat else 1
    answers = [asyncio.run(_post(app, path, body, headers)) for _ in range(sends)]
    for answer in answers:
        assert answer.status_code in (200, 400, 401, 413), answer.text
    statuses = {a.status_code for a in answers}
    assert len(statuses) == 1  # a repeat is answered like the first
    status = statuses.pop()
    event(f"{target} {status} {answers[0].json().get('status')}")
    if not authorized:
        assert status == 401
    if status != 200:
        assert bus.changes == []
        if len(body) > 2048:
            assert status in (401, 413)
        return
    outcomes = [a.json()["status"] for a in answers]
    if outcomes[0] == "ignored":  # a package event
        assert target == "auco" and "package" in json.loads(body)
        assert bus.changes == []
        return
    assert outcomes == ["published", "duplicate"][:sends]
    (change,) = bus.changes
    sent = json.loads(body)
    if target == "auco":
        assert change.kind == "Document" and change.provider is Provider.AUCO
        assert change.key == sent["code"] and AUCO_CODE.fullmatch(change.key)
        assert change.cause == f"AUCO:{sent['status']}"
        assert change.state in DOCUMENT_STATES
        assert change.event_id.startswith(f"AUCO:{change.key}:{sent['status']}")
    else:
        data = sent["data"]
        assert change.kind == "Application"
        assert change.provider is Provider.CONNECTFI
        assert change.key == f"{data['customerId']}:{data['applicationId']}"
        assert change.cause == "CONNECTFI:webhook"
        assert change.state in APPLICATION_STATES
    assert change.previous_state is None


@settings(max_examples=60, derandomize=True, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["DOCA", "DOCB"]),
            st.sampled_from(list(AUCO_STATES)),
            st.sampled_from(["P1", "P2"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_valid_auco_events_make_one_change_per_distinct_event(
    events: list[tuple[str, str, str]],
) -> None:
    app, bus = _app()
    expected: list[str] = []
    for code, status, signer in events:
        body = {"code": code, "name": "n", "status": status, "signer": {"id": signer}}
        answer = asyncio.run(
            _post(app, "/webhooks/auco", json.dumps(body).encode(), {HEADER: SECRET})
        )
        assert answer.status_code == 200
        per_signer = status in ("NOTIFICATION", "BLOCKED")
        event_id = f"AUCO:{code}:{status}" + (f":{signer}" if per_signer else "")
        if event_id not in expected:
            expected.append(event_id)
    assert [c.event_id for c in bus.changes] == expected
    # previous_state: the state the same document was last seen in.
    last: dict[str, str | None] = {}
    for change in bus.changes:
        assert change.previous_state == last.get(change.key)
        last[change.key] = change.state
